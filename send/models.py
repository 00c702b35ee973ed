"""Stored messages: the source of truth for delivery."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from meta.models import Room


class Message(models.Model):
    """One message of a room, with its room sequence number (1, 2, 3, ... without gaps)."""

    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="messages")
    sender = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    seq = models.BigIntegerField()
    client_msg_id = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001 (NULL = none given)
    content = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["room", "seq"], name="message_room_seq_unique"),
            models.UniqueConstraint(
                fields=["sender", "client_msg_id"],
                condition=models.Q(client_msg_id__isnull=False),
                name="message_sender_client_msg_id_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"message #{self.pk} (room {self.room_id}, seq {self.seq})"


class Device(models.Model):
    """One of a user's devices, named by its client (`?device_id=` on the socket, API.md §7.2).
    Each device keeps its own confirmed position per room (`DevicePosition`), so every device
    gets everything, whatever the user's other devices read."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="devices")
    device_id = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    last_seen = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "device_id"], name="device_user_device_id_unique")]
        indexes = [models.Index(fields=["last_seen"], name="device_last_seen_idx")]

    def __str__(self) -> str:
        return f"device {self.device_id!r} of user {self.user_id}"


class DevicePosition(models.Model):
    """How far a device has confirmed a room (cumulative seq). A device that has no row for a
    room confirmed nothing there: it is owed everything from the member's join."""

    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="positions")
    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="+")
    acked_seq = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["device", "room"], name="deviceposition_device_room_unique")]

    def __str__(self) -> str:
        return f"device {self.device_id} in room {self.room_id} up to {self.acked_seq}"
