"""What every ModelAdmin of the moderation pages shares (here, in `send.admin` and
`reports.admin`): a service's refusal shown as an error message, actions run item by item."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from django.contrib import admin, messages
from django.contrib.admin.utils import quote
from django.db import models, transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from chatproject.exceptions import ApplicationError

M = TypeVar("M", bound=models.Model)


class ModerationAdmin(admin.ModelAdmin):
    """Shows a service's refusal as an error message, and runs actions item by item."""

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        # The admin runs a POST of this view in one transaction: a refusal rolls all of it back.
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ApplicationError as error:
            self.message_user(request, f"Nothing was saved: {error.msg}", messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def delete_view(
        self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        try:
            return super().delete_view(request, object_id, extra_context)
        except ApplicationError as error:
            self.message_user(request, f"Nothing was deleted: {error.msg}", messages.ERROR)
            opts = self.opts
            return HttpResponseRedirect(
                reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[quote(object_id)])
            )

    def label(self, obj: Any) -> str:
        return str(obj)

    def apply_each(self, request: HttpRequest, items: Iterable[M], *, what: str, act: Callable[[M], str]) -> None:
        """Run `act` on each item in a transaction of its own and report each outcome: `act`
        returns the success message; an ApplicationError undoes that item only and is shown as
        "Could not <what> <item>: <reason>"."""
        for item in items:
            try:
                with transaction.atomic():
                    done = act(item)
            except ApplicationError as error:
                self.message_user(request, f"Could not {what} {self.label(item)}: {error.msg}", messages.ERROR)
            else:
                self.message_user(request, done, messages.SUCCESS)


def room_label(room_id: int, name: str) -> str:
    return f"“{name}” (#{room_id})"
