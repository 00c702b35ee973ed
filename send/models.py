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
