"""Service discovery (gateway and send instances) and user routes (which gateway holds which
user's sockets).

Liveness is not stored: an instance is alive iff its `last_heartbeat` is at most
`REGISTRY_DEAD_AFTER_SECONDS` old at query time (see `registry.selectors.live_cutoff`), so a
dead instance drops out of every answer without anyone deleting it, and the routes through a
dead gateway drop out with it.
"""

from __future__ import annotations

from django.db import models

from registry.lookups import AnyOf


class Instance(models.Model):
    """What every registered process has: where it is and when it last said it is alive."""

    address = models.CharField(max_length=253)
    port = models.PositiveIntegerField()
    registered_at = models.DateTimeField()
    last_heartbeat = models.DateTimeField(db_index=True)

    class Meta:
        abstract = True


class GatewayInstance(Instance):
    """A WebSocket gateway process. `load` is the gateway's own figure (0..1), stored as
    reported; `connected_users` is the socket count of its last heartbeat."""

    gateway_id = models.CharField(max_length=64, primary_key=True)
    ws_url = models.CharField(max_length=512)
    capacity = models.PositiveIntegerField()
    load = models.FloatField(default=0.0)
    connected_users = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["gateway_id"]

    def __str__(self) -> str:
        return f"{self.gateway_id} ({self.address}:{self.port})"


class SendInstance(Instance):
    """A process serving the send API."""

    instance_id = models.CharField(max_length=64, primary_key=True)
    url = models.CharField(max_length=512)

    class Meta:
        ordering = ["instance_id"]

    def __str__(self) -> str:
        return f"{self.instance_id} ({self.url})"


class UserConnection(models.Model):
    """One open socket of a user on a gateway. A user may hold several (devices), on one or
    more gateways. `user_id` is a plain integer, not a foreign key: the registry is its own
    service and routes must be writable on the hot path without touching the users table."""

    user_id = models.BigIntegerField()
    gateway = models.ForeignKey(GatewayInstance, on_delete=models.CASCADE, related_name="connections")
    connection_id = models.CharField(max_length=128, blank=True, default="")
    connected_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["gateway", "user_id", "connection_id"], name="userconnection_gateway_user_conn_unique"
            )
        ]
        indexes = [models.Index(fields=["user_id", "gateway"], name="userconnection_user_gw_idx")]

    def __str__(self) -> str:
        return f"user {self.user_id} on {self.gateway_id} [{self.connection_id}]"


class UserLease(models.Model):
    """The gateway of a user's most recently opened connection that has ended: for
    `REGISTRY_RECONNECT_LEASE_SECONDS` after `disconnected_at` a reconnecting user is sent back
    there (if it is still alive). `connected_at` is that connection's start, so that a late
    disconnect of an older connection never overwrites the lease of a newer one."""

    user_id = models.BigIntegerField(primary_key=True)
    gateway_id = models.CharField(max_length=64)
    connection_id = models.CharField(max_length=128, blank=True, default="")
    connected_at = models.DateTimeField()
    disconnected_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"user {self.user_id} last on {self.gateway_id}"


UserConnection._meta.get_field("user_id").register_lookup(AnyOf)
