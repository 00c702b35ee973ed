from django.apps import AppConfig


class GatewayConfig(AppConfig):
    name = "gateway"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from gateway import metrics
        from gateway.delivery import delivery_engine

        engine = delivery_engine()
        metrics.register_collector(lambda: (engine.gateway_id, engine.hub.connection_count(), engine.hub.user_count()))
