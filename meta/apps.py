from django.apps import AppConfig
from django.db.models.signals import post_save


class MetaConfig(AppConfig):
    name = "meta"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from meta.models import User
        from meta.tokens import revoke_refresh_tokens_on_password_change

        post_save.connect(revoke_refresh_tokens_on_password_change, sender=User, dispatch_uid="meta-revoke-refresh")
