"""Join requests of approval groups: filing one and answering it."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from chatproject.exceptions import Conflict, NotFound
from meta import notices
from meta.models import JoinRequest, JoinRequestStatus, Role, User
from meta.selectors import membership_find, membership_require_role
from meta.services._common import group_lock, membership_get_or_create, room_lock


def join_request_create(*, actor: User, room_id: int, message: str = "") -> JoinRequest:
    """File the actor's request to join a group; while one is pending it is returned as is
    (its message unchanged).

    Raises NotFound (room), InvalidInput (private room), Conflict (already a member).
    """
    with transaction.atomic():
        room = group_lock(room_id=room_id, refusal="it takes no join requests", actor=actor, outsider_not_found=True)
        if membership_find(room_id=room.pk, user_id=actor.pk) is not None:
            raise Conflict(f"you are already a member of room {room_id}")
        pending = JoinRequest.objects.filter(room=room, user=actor, status=JoinRequestStatus.PENDING).first()
        if pending is not None:
            return pending
        request = JoinRequest.objects.create(room=room, user=actor, message=message)
        notices.join_request_filed(request=request)
    return request


def join_request_respond(*, actor: User | None, request_id: int, approve: bool) -> JoinRequest:
    """Approve or reject a pending join request; approval makes the applicant a member (no
    second membership if they became one meanwhile). The request keeps its outcome, who
    answered (None for staff) and when.

    Raises NotFound (request), Forbidden (actor neither owner nor admin of its room),
    Conflict (answered already).
    """
    room_id = JoinRequest.objects.filter(pk=request_id).values_list("room_id", flat=True).first()
    if room_id is None:
        raise NotFound(f"join request {request_id} does not exist")
    with transaction.atomic():
        room = room_lock(room_id=room_id)
        membership_require_role(room=room, actor=actor, min_role=Role.ADMIN, action="answer its join requests")
        # Read again under the room lock: every change of a request happens under it.
        request = JoinRequest.objects.filter(pk=request_id).first()
        if request is None:
            raise NotFound(f"join request {request_id} does not exist")
        if request.status != JoinRequestStatus.PENDING:
            raise Conflict(f"join request {request_id} was already {request.status}")
        request.status = JoinRequestStatus.APPROVED if approve else JoinRequestStatus.REJECTED
        request.handled_by = actor
        request.handled_at = timezone.now()
        request.save(update_fields=["status", "handled_by", "handled_at"])
        notices.join_request_answered(request=request)
        if approve:
            _membership, created = membership_get_or_create(room=room, user_id=request.user_id)
            if created:
                notices.members_added(room_id=room.pk, user_ids=[request.user_id], actor=actor)
    return request
