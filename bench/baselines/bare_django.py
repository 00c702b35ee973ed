"""The cheapest honest Django send: what `POST /api/chat/send_message` is measured against.

One plain `async def` Django view, `POST /api/bench/bare_send`, served by the same process as
ours (`manage.py serve`, settings `bench.baselines.bare_django_settings`: the project's
settings, this URLconf in front of the project's), so the same ASGI server, Django's ASGI
handler, middleware stack, database pool and JWT settings. What it does, in one hop off the
event loop (Django's database access is synchronous), in one transaction:

- verifies the `Authorization: Bearer` access token with simplejwt and loads its user (one
  query), as ours does (`meta.tokens.user_for_access_token`: banned or inactive users refused);
- takes the room's next seq with one `UPDATE … RETURNING` (no such room: 404);
- inserts the message row (the same columns as ours, the search vector included) and commits;

and answers `{"code": 0, "msg", "data": {"msgID", "seq"}}`. What it leaves out is what the comparison is about: DRF (its
request, parsers, authentication classes, permissions, serializer validation, renderer), the
content rules, the membership, mute and sending-rule checks, the sender's read position, the
idempotency look-up, the canonical message object and the publish to the gateways.
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.http import HttpRequest, JsonResponse
from django.urls import include, path
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from bench.baselines import BARE_SEND_PATH
from chatproject.exceptions import NotAuthenticated
from chatproject.offloop import off_loop
from meta.authentication import bearer_token
from meta.models import Room
from meta.tokens import user_for_access_token
from send.models import Message

_SEQ_SQL = f"UPDATE {Room._meta.db_table} SET last_seq = last_seq + 1 WHERE id = %s RETURNING last_seq"  # noqa: S608
_INSERTED = [
    Message._meta.get_field(name)
    for name in ("room", "sender", "seq", "client_msg_id", "content", "created_at", "mention_all")
]
_INSERT_SQL = (
    f"INSERT INTO {Message._meta.db_table} "  # noqa: S608
    f"({', '.join(field.column for field in _INSERTED)}, search_vector) "
    f"VALUES ({', '.join('%s' for _ in _INSERTED)}, {{vector}}) RETURNING id"
)


def _store(raw_token: str, room_id: int, content: dict[str, Any], client_msg_id: str | None) -> tuple[int, int] | None:
    """(message id, seq), or None when there is no such room. Raises NotAuthenticated."""
    user = user_for_access_token(raw_token)
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(_SEQ_SQL, [room_id])
            row = cursor.fetchone()
            if row is None:
                return None
            seq = row[0]
            values = [room_id, user.pk, seq, client_msg_id, content, timezone.now(), False]
            prepared = [
                field.get_db_prep_save(value, connection) for field, value in zip(_INSERTED, values, strict=True)
            ]
            if connection.vendor == "postgresql" and content.get("type") == "text":
                sql = _INSERT_SQL.format(vector="to_tsvector(%s::regconfig, %s)")
                prepared += [settings.MESSAGE_SEARCH_CONFIG, content.get("text", "")]
            else:
                sql = _INSERT_SQL.format(vector="NULL")
            cursor.execute(sql, prepared)
            return cursor.fetchone()[0], seq


_store_off_loop = off_loop(_store)


@csrf_exempt
@require_POST
async def bare_send(request: HttpRequest) -> JsonResponse:
    raw = bearer_token(request.headers.get("Authorization", ""))
    if raw is None:
        return JsonResponse({"msg": "authentication required"}, status=401)
    try:
        body = json.loads(request.body)
        room_id, content = int(body["room_id"]), body["content"]
        client_msg_id = body.get("client_msg_id")
    except (ValueError, KeyError, TypeError):
        return JsonResponse({"msg": "send {room_id, content, client_msg_id?}"}, status=400)
    if not isinstance(content, dict):
        return JsonResponse({"msg": "content must be an object"}, status=400)
    try:
        stored = await _store_off_loop(raw, room_id, content, client_msg_id)
    except NotAuthenticated as error:
        return JsonResponse({"msg": error.msg}, status=401)
    if stored is None:
        return JsonResponse({"msg": f"room {room_id} does not exist"}, status=404)
    return JsonResponse({"code": 0, "msg": "message sent", "data": {"msgID": stored[0], "seq": stored[1]}})


urlpatterns = [
    path(BARE_SEND_PATH, bare_send),
    path("", include("chatproject.urls")),
]

# Errors outside the view in the project's envelope, as under the project's URLconf.
handler400 = "chatproject.views.bad_request"
handler403 = "chatproject.views.permission_denied"
handler404 = "chatproject.views.not_found"
handler500 = "chatproject.views.server_error"
