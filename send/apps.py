from django.apps import AppConfig


class SendConfig(AppConfig):
    name = "send"
    default_auto_field = "django.db.models.BigAutoField"
