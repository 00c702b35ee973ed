"""The Django admin for moderating users, rooms, memberships and join requests.

Every write goes through a service (`meta.services` with `actor=None`, or
`meta.services.moderation`), so staff are bound by the rules the API enforces: one owner per
room, the owner is never removed, answered join requests stay answered. A rule refusing a
change shows as an error message on the page, never as a server error. Users cannot be
deleted here (ban them, or clear "active"): deleting one would leave their groups without an
owner.

One module per model page: `users`, `rooms`, `memberships`, `join_requests`; `base` holds
`ModerationAdmin`, which `send.admin` and `reports.admin` build on too, and `login` the admin's
login form. Importing this package (Django's admin autodiscovery does) registers them all.
"""

from django.contrib import admin

from meta.admin import join_requests, memberships, rooms, users  # noqa: F401  (registers their ModelAdmins)
from meta.admin.base import ModerationAdmin
from meta.admin.login import LockoutAdminAuthenticationForm

# Failed logins lock the address and the account out, as on /login.
admin.site.login_form = LockoutAdminAuthenticationForm

__all__ = ["ModerationAdmin"]
