"""A user's own account (profile, password) and blocking other users (API.md §9)."""

from __future__ import annotations

from django.db import IntegrityError, transaction

from chatproject.exceptions import InvalidInput, NotFound
from meta.models import Block, User
from meta.services._common import has_control_characters
from meta.services.login_guard import login_attempt_check, login_failure_record
from meta.usernames import username_key

USER_NICKNAME_MAX = User._meta.get_field("nickname").max_length
WRONG_OLD_PASSWORD = "the old password is wrong"


def user_nickname_change(*, user: User, nickname: str) -> User:
    """Set the user's own nickname (the rules of /register: at most 50 characters, may be
    empty, no control characters). Raises InvalidInput."""
    if len(nickname) > USER_NICKNAME_MAX:
        raise InvalidInput(f"a nickname has at most {USER_NICKNAME_MAX} characters")
    if has_control_characters(nickname):
        raise InvalidInput("a nickname must not contain control characters")
    if nickname != user.nickname:
        user.nickname = nickname
        user.save(update_fields=["nickname"])
    return user


def user_password_change(*, user: User, old_password: str, new_password: str, address: str) -> User:
    """Replace the user's password once `old_password` is proved. Saving a new password
    revokes every refresh token issued before (`meta.tokens`): other devices must log in again
    once their access token expires; the caller issues this device a new pair.

    A wrong `old_password` counts as a failed login of the account and of `address` (the
    lockouts of `meta.services.login_guard`), so a stolen access token cannot be used to guess
    the password. Raises RateLimited while locked out, InvalidInput (`errors.old_password`).
    """
    key = username_key(user.username)
    login_attempt_check(address=address, username_key=key)
    if not user.check_password(old_password):
        login_failure_record(address=address, username_key=key)
        raise InvalidInput(WRONG_OLD_PASSWORD, errors={"old_password": [WRONG_OLD_PASSWORD]})
    user.set_password(new_password)
    user.save(update_fields=["password"])
    return user


def user_block_set(*, actor: User, user_id: int, blocked: bool = True) -> bool:
    """Block (or, with `blocked` false, unblock) a user; doing it twice changes nothing.
    Nobody is told: the blocked user learns nothing from any reply or frame.

    While either of two users blocks the other their private room is frozen (see
    `meta.selectors.room_sending_check`) and the blocked one cannot create it (`room_create`).
    Returns whether `actor` now blocks `user_id`. Raises InvalidInput (yourself), NotFound.
    """
    if user_id == actor.pk:
        raise InvalidInput("you cannot block yourself")
    if not User.objects.filter(pk=user_id).exists():
        raise NotFound(f"user {user_id} does not exist")
    if not blocked:
        Block.objects.filter(blocker=actor, blocked_id=user_id).delete()
        return False
    try:
        with transaction.atomic():
            Block.objects.get_or_create(blocker=actor, blocked_id=user_id)
    except IntegrityError:  # a concurrent request blocked first: the pair is unique
        pass
    return True
