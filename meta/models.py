"""Users, rooms, memberships, join requests, blocks and invite links."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.db.models.functions import Lower

from meta.usernames import MAX_NORMALISED_LENGTH, username_key, username_skeleton


class CaseInsensitiveUserManager(UserManager):
    def get_by_natural_key(self, username: str) -> User:
        # Compare normalised keys (meta.usernames), as /login does: `ＡＬＩＣＥ` is alice.
        user = self.filter(username_key=username_key(username)).first()
        if user is None:  # an account left without a key by migration 0003 (a collision)
            user = self.filter(username=username).first()
        if user is None:
            raise self.model.DoesNotExist(f"no user {username!r}")
        return user


class User(AbstractUser):
    """A chat user. Usernames are unique after NFKC and case folding (`username_key`), and no
    two look alike (`username_skeleton`, TS #39); see meta.usernames."""

    nickname = models.CharField(max_length=50, blank=True, default="")
    is_banned = models.BooleanField(default=False, db_index=True)
    # Others see how far this user has read (read frames, members lists) only when true (API.md §7.3).
    share_read_receipts = models.BooleanField(default=True)
    # When the user's last socket closed (API.md §7.4); null while never seen.
    last_seen = models.DateTimeField(null=True, blank=True)
    # Derived from `username` on save. Null only for accounts that collided with an older one
    # when the columns were added (migration 0003 reports them).
    username_key = models.CharField(max_length=MAX_NORMALISED_LENGTH, unique=True, null=True, editable=False)  # noqa: DJ001 - NULL is "no key", several allowed
    username_skeleton = models.CharField(max_length=MAX_NORMALISED_LENGTH, unique=True, null=True, editable=False)  # noqa: DJ001
    _loaded_username: str | None = None

    @classmethod
    def from_db(cls, db: str | None, field_names: Any, values: Any) -> User:
        instance = super().from_db(db, field_names, values)
        instance._loaded_username = instance.__dict__.get("username")
        return instance

    def save(self, *args: Any, **kwargs: Any) -> None:
        # The normalised forms follow the username whenever it is set or changed.
        update_fields = kwargs.get("update_fields")
        if self._loaded_username != self.username and (update_fields is None or "username" in update_fields):
            self.username_key = username_key(self.username)
            self.username_skeleton = username_skeleton(self.username)
            if update_fields is not None:
                kwargs["update_fields"] = {*update_fields, "username_key", "username_skeleton"}
        super().save(*args, **kwargs)
        self._loaded_username = self.username

    objects = CaseInsensitiveUserManager()
    # The chat has no use for an email: `createsuperuser --noinput` needs only a username and password.
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        constraints = [models.UniqueConstraint(Lower("username"), name="user_username_ci_unique")]

    def __str__(self) -> str:
        return self.username


class Role(models.IntegerChoices):
    """Lower is more power."""

    OWNER = 0, "owner"
    ADMIN = 1, "admin"
    MEMBER = 2, "member"


class JoinPolicy(models.TextChoices):
    OPEN = "open", "open"
    APPROVAL = "approval", "approval"


class Room(models.Model):
    """A group or a private (1:1) room.

    `last_seq` is the sequence number of the room's newest timeline entry (a message or an
    update): the send service raises it, and `last_activity_at` with it, under a row lock in the
    transaction that stores the entry.
    """

    name = models.CharField(max_length=100)
    is_group = models.BooleanField(default=False)
    creator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="created_rooms"
    )
    join_policy = models.CharField(max_length=16, choices=JoinPolicy.choices, default=JoinPolicy.OPEN)
    # Room settings (API.md §9): only the owner and admins send; every member sees the whole timeline.
    announcement_only = models.BooleanField(default=False)
    history_visible = models.BooleanField(default=False)
    # For private rooms "<smaller user id>:<larger user id>": one private room per pair, race-free.
    private_pair = models.CharField(max_length=64, null=True, blank=True, unique=True, editable=False)
    last_seq = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    last_activity_at = models.DateTimeField(null=True, blank=True)  # null: nothing since its creation

    class Meta:
        indexes = [models.Index(fields=["is_group", "id"], name="room_group_id_idx")]

    def __str__(self) -> str:
        return f"{self.name} (#{self.pk})"


class Membership(models.Model):
    """One user in one room. `joined_seq` is the room's `last_seq` when the member joined: the
    member is owed only messages with a higher seq, and sees history only from there."""

    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.PositiveSmallIntegerField(choices=Role.choices, default=Role.MEMBER)
    nickname = models.CharField(max_length=100, blank=True, default="")
    muted_until = models.DateTimeField(null=True, blank=True)
    joined_at = models.DateTimeField(auto_now_add=True)
    joined_seq = models.BigIntegerField(default=0)
    # How far the member has confirmed the room's messages (cumulative seq). The gateways raise
    # it in batches; everything above max(acked_seq, joined_seq) is owed to the member.
    acked_seq = models.BigIntegerField(default=0)
    # How far the member has read (API.md §7.3): cumulative, never lowered; sending reads too.
    # Starts at the join: what was there before is not unread.
    read_seq = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["room", "user"], name="membership_room_user_unique"),
            models.UniqueConstraint(fields=["room"], condition=models.Q(role=0), name="membership_one_owner"),
        ]
        indexes = [models.Index(fields=["user", "room"], name="membership_user_room_idx")]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.room_id} ({self.get_role_display()})"


class JoinRequestStatus(models.TextChoices):
    PENDING = "pending", "pending"
    APPROVED = "approved", "approved"
    REJECTED = "rejected", "rejected"


class JoinRequest(models.Model):
    """A request to join an approval group. It keeps its outcome once answered."""

    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="join_requests")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="join_requests")
    message = models.CharField(max_length=500, blank=True, default="")
    status = models.CharField(max_length=16, choices=JoinRequestStatus.choices, default=JoinRequestStatus.PENDING)
    created_at = models.DateTimeField(auto_now_add=True)
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    handled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["room", "user"], condition=models.Q(status="pending"), name="joinrequest_one_pending"
            )
        ]
        indexes = [models.Index(fields=["room", "status", "id"], name="joinrequest_room_status_idx")]

    def __str__(self) -> str:
        return f"request #{self.pk}: {self.user_id} → {self.room_id} ({self.status})"


class Block(models.Model):
    """`blocker` blocks `blocked`: while either of two users blocks the other, their private
    room is frozen (API.md §9). Group rooms are unaffected."""

    blocker = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="blocks_made")
    blocked = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["blocker", "blocked"], name="block_pair_unique"),
            models.CheckConstraint(condition=~models.Q(blocker=models.F("blocked")), name="block_not_self"),
        ]
        indexes = [models.Index(fields=["blocked", "blocker"], name="block_blocked_idx")]

    def __str__(self) -> str:
        return f"{self.blocker_id} blocks {self.blocked_id}"


class Invite(models.Model):
    """An invite link of a group: anyone with `code` joins (approval groups too) until it
    expires, is used `max_uses` times (None: unlimited) or is revoked."""

    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="invites")
    code = models.CharField(max_length=32, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    max_uses = models.PositiveIntegerField(null=True, blank=True)
    uses = models.PositiveIntegerField(default=0)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["room", "expires_at"], name="invite_room_expires_idx")]

    def __str__(self) -> str:
        return f"invite to room {self.room_id} ({self.uses} uses)"
