"""Accounts: registration and password login."""

from __future__ import annotations

from django.db import IntegrityError, transaction

from chatproject.exceptions import Conflict, Forbidden, NotAuthenticated
from meta.models import User
from meta.services.login_guard import login_attempt_check, login_failure_record, login_success_record
from meta.usernames import username_key, username_skeleton

WRONG_CREDENTIALS = "wrong username or password"


def _user_by_username(*, username: str) -> User | None:
    """The user whose normalised key (meta.usernames) is `username`'s: `ＡＬＩＣＥ` finds alice.
    An account that migration 0003 left without a key (a collision) is found by its exact name."""
    return (
        User.objects.filter(username_key=username_key(username)).first()
        or User.objects.filter(username_key__isnull=True, username=username).first()
    )


def user_register(*, username: str, password: str, nickname: str = "") -> User:
    """Create a user with a hashed password; `username` keeps the form it was given in.

    Expects the format checked by `meta.serializers.RegisterInput` (characters, length, TS #39
    script restriction). Raises Conflict when the username equals an existing one after NFKC
    and case folding, or looks like one (the same TS #39 skeleton), also when two registrations
    race (the database's unique keys decide).
    """
    duplicate = Conflict(f"the username {username!r} is already taken")
    lookalike = Conflict(f"the username {username!r} is too like an existing one")
    if _user_by_username(username=username) is not None:
        raise duplicate
    if User.objects.filter(username_skeleton=username_skeleton(username)).exists():
        raise lookalike
    try:
        with transaction.atomic():
            return User.objects.create_user(username=username, password=password, nickname=nickname)
    except IntegrityError:
        raise duplicate from None


def user_authenticate(*, username: str, password: str, address: str) -> User:
    """The user these credentials belong to; the caller then issues tokens.

    Raises RateLimited while `address` (the client's) or the account is locked out after
    failed logins (`meta.services.login_guard`), before any password is checked. Raises
    NotAuthenticated with one message for an unknown user, a wrong password or an inactive
    account, spending one password hash in every case so the reply time does not tell which,
    and counts the failure. Raises Forbidden for a banned user, only once the password is right.
    """
    key = username_key(username)
    login_attempt_check(address=address, username_key=key)
    user = _user_by_username(username=username)
    if user is None or not user.has_usable_password():
        # Hash anyway (as Django's ModelBackend does) so a missing user costs the same time.
        User().set_password(password)
        login_failure_record(address=address, username_key=key)
        raise NotAuthenticated(WRONG_CREDENTIALS)
    if not user.check_password(password) or not user.is_active:
        login_failure_record(address=address, username_key=key)
        raise NotAuthenticated(WRONG_CREDENTIALS)
    login_success_record(username_key=key)
    if user.is_banned:
        raise Forbidden("this user is banned")
    return user
