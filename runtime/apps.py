from django.apps import AppConfig


class RuntimeConfig(AppConfig):
    """The process runtime: what this process is (roles, identity), its life in the registry
    (`lifecycle`), and the commands that serve it (`serve`, `cluster`). The top layer: it may
    use every app, and no app uses it."""

    name = "runtime"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from runtime import lifecycle
        from runtime.servers import daphne_compat, daphne_limits

        # Under daphne: the protocol's own close codes, and bodies, request heads and frames
        # bounded inside its request (before twisted stores or parses them). No-ops elsewhere.
        daphne_compat.install()
        daphne_limits.install()
        lifecycle.configure_gateway()
