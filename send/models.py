"""Stored messages and the room timeline: the source of truth for delivery.

A room's timeline is one sequence of `seq` numbers (1, 2, 3, ... without gaps, API.md §7.1),
each taken by a message (`Message`) or by an update of one (`MessageUpdate`: edit, delete,
reaction, pin). Reactions and mentions are rows of their own (`Reaction`, `Mention`), so that a
page of messages is summarised in a fixed number of queries and unread mentions are counted
per user in one.

Every table here also points at the room (with CASCADE) and at the message with DO_NOTHING:
deleting a room deletes all of them with one statement per table, without loading a row (the
foreign keys are checked at commit, when the room's messages are gone too). Messages are never
deleted one by one: a delete for everyone erases the content and keeps the row (section 8.3).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.postgres.search import SearchVectorField
from django.db import models

from meta.models import Room


class SearchVectorColumn(SearchVectorField):
    """A `tsvector` on PostgreSQL (kept by the send service, GIN-indexed by migration 0002); on
    other databases an unused text column, where search falls back to a plain match."""

    def db_type(self, connection: Any) -> str:
        return "tsvector" if connection.vendor == "postgresql" else "text"


class MessageManager(models.Manager):
    """Never reads the search vector (only the search query uses it, in SQL)."""

    def get_queryset(self) -> models.QuerySet:
        return super().get_queryset().defer("search_vector")


class Message(models.Model):
    """One message of a room, with its room sequence number.

    `content` is None once deleted for everyone (`deleted_at` set); `pinned_seq` is the seq of
    the update that pinned it (None: not pinned), so pins sort by when they were pinned.
    """

    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="messages")
    sender = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    seq = models.BigIntegerField()
    client_msg_id = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001 (NULL = none given)
    content = models.JSONField(null=True)
    created_at = models.DateTimeField(auto_now_add=True)
    reply_to = models.ForeignKey(
        "self", on_delete=models.DO_NOTHING, null=True, blank=True, related_name="+", db_index=False
    )
    mention_all = models.BooleanField(default=False)
    edited_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    pinned_seq = models.BigIntegerField(null=True, blank=True)
    search_vector = SearchVectorColumn(null=True, editable=False)

    objects = MessageManager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["room", "seq"], name="message_room_seq_unique"),
            models.UniqueConstraint(
                fields=["sender", "client_msg_id"],
                condition=models.Q(client_msg_id__isnull=False),
                name="message_sender_client_msg_id_unique",
            ),
        ]
        indexes = [
            models.Index(
                fields=["room", "pinned_seq"],
                name="message_room_pins_idx",
                condition=models.Q(pinned_seq__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"message #{self.pk} (room {self.room_id}, seq {self.seq})"

    @property
    def deleted(self) -> bool:
        return self.deleted_at is not None


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


class UpdateEvent(models.TextChoices):
    EDIT = "edit", "edit"
    DELETE = "delete", "delete"
    REACTION = "reaction", "reaction"
    PIN = "pin", "pin"


class MessageUpdate(models.Model):
    """One update of a message, an entry of the room's timeline with a seq of its own.

    `actor` did it (a staff moderator: `by_staff`, shown as 0 on the wire); `payload` holds
    the event's own fields of the update frame (`by`, `key`/`user_id`/`on`, `pinned`);
    `previous_content` (edits only) the content the edit replaced, for the admin's history,
    erased when the message is deleted.
    """

    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="+")
    seq = models.BigIntegerField()
    message = models.ForeignKey(Message, on_delete=models.DO_NOTHING, related_name="updates")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    by_staff = models.BooleanField(default=False)
    event = models.CharField(max_length=16, choices=UpdateEvent.choices)
    payload = models.JSONField(default=dict)
    previous_content = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["room", "seq"], name="messageupdate_room_seq_unique")]
        indexes = [models.Index(fields=["message", "seq"], name="messageupdate_message_idx")]

    def __str__(self) -> str:
        return f"{self.event} of message #{self.message_id} (room {self.room_id}, seq {self.seq})"


class Reaction(models.Model):
    """One user's reaction `key` (an emoji or a short token) to a message."""

    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="+")
    message = models.ForeignKey(Message, on_delete=models.DO_NOTHING, related_name="reactions")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=32)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["message", "user", "key"], name="reaction_message_user_key_unique")
        ]

    def __str__(self) -> str:
        return f"{self.key} by {self.user_id} on message #{self.message_id}"


class Mention(models.Model):
    """`user` is mentioned by message `message` (room and seq copied, so that unread mentions
    are counted per user and room from one index: `(user, room, seq)`). A message mentioning
    everyone has `Message.mention_all` instead of a row per member."""

    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="+")
    message = models.ForeignKey(Message, on_delete=models.DO_NOTHING, related_name="mention_rows")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    seq = models.BigIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["message", "user"], name="mention_message_user_unique")]
        indexes = [models.Index(fields=["user", "room", "seq"], name="mention_user_room_seq_idx")]

    def __str__(self) -> str:
        return f"user {self.user_id} in message #{self.message_id}"
