from django.apps import AppConfig


class RuntimeConfig(AppConfig):
    """The process runtime: what this process is (roles, identity), its life in the registry
    (`lifecycle`), and the commands that serve it (`serve`, `cluster`). The top layer: it may
    use every app, and no app uses it."""

    name = "runtime"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from runtime import daphne_compat, lifecycle

        daphne_compat.install()
        lifecycle.configure_gateway()
