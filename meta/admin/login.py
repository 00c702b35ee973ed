"""The Django admin's login form, with the lockouts of `/login` (`meta.services.login_guard`):
staff can ban users and delete rooms, so their password is guarded at least as well."""

from __future__ import annotations

import math
from typing import Any

from django.contrib.admin.forms import AdminAuthenticationForm
from django.core.exceptions import ValidationError

from meta.services.login_guard import login_failure_record, login_lockout_remaining, login_success_record
from meta.throttles import client_address
from meta.usernames import username_key


class LockoutAdminAuthenticationForm(AdminAuthenticationForm):
    """Refuses, before checking any password, while the address or the account is locked
    out; counts every failed login (a wrong password, or an account that is not staff)."""

    def clean(self) -> dict[str, Any]:
        username = self.cleaned_data.get("username") or ""
        address = client_address(self.request.META) if self.request is not None else "unknown"
        key = username_key(username)
        wait = login_lockout_remaining(address=address, username_key=key)
        if wait:
            raise ValidationError(
                "Too many failed logins from this address or for this account. Try again in %(minutes)d minutes.",
                code="locked",
                params={"minutes": math.ceil(wait / 60)},
            )
        try:
            cleaned = super().clean()
        except ValidationError:
            if username and self.cleaned_data.get("password"):
                login_failure_record(address=address, username_key=key)
            raise
        login_success_record(username_key=key)
        return cleaned
