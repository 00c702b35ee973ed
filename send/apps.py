from django.apps import AppConfig


class SendConfig(AppConfig):
    name = "send"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from attachments import references
        from send.attachment_refs import attachment_keys_referenced

        # A message that carries an attachment's URL keeps its file (attachments_cleanup).
        references.install(attachment_keys_referenced)
