from django.apps import AppConfig


class RegistryConfig(AppConfig):
    name = "registry"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from chatproject import directory
        from registry import selectors

        # The registry's routes answer the lower layers' "where is this user" (meta's online
        # flags, the bus's routing).
        directory.install(selectors)
