"""The event bus: how a change reaches the gateways that hold the sockets of the users it is for.

Each gateway process receives on one channel-layer channel (`gateway_channel`). An event names
its users and carries its frame already encoded, so a gateway hands it to its own sockets with
no query and no per-socket encoding. Publishers (`meta`, `send`, later features) go through
`publish`, which routes the users to their gateways through the registry's directory and sends
each gateway one event; the gateway's delivery engine consumes them. Services publish after
commit (`publish_on_commit`), so no event announces data a rollback took back.

The database is the source of truth: a lost push (Redis down, channel full, a gateway crash)
leaves a message owed, and the gateways' sweep or the user's next connection delivers it. So
publishing never raises into its caller: every failure is logged and counted here, once.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from typing import Any, Literal, NotRequired, TypedDict

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from chatproject import metrics
from chatproject.directory import directory
from chatproject.frames import encode, notice_frame
from chatproject.layer_batches import batches_supported, send_batch
from chatproject.offloop import off_loop

logger = logging.getLogger(__name__)

_SAFE = re.compile(r"[^A-Za-z0-9._-]")


def gateway_channel(gateway_id: str) -> str:
    """The channel-layer channel a gateway process receives on (ids are already [A-Za-z0-9._-])."""
    return f"gateway.{_SAFE.sub('_', gateway_id)}"[:99]


# --- the events ------------------------------------------------------------------------------


class DeliverEvent(TypedDict):
    """A stored timeline entry for `users`: a message's `chat` frame, or (`update`) an update
    frame about message `msg_id`; both take the room's `seq`. `ack` (the sender's ack frame)
    goes to the sender's sockets. `sent_at_ms` (Unix ms) is when it was stored, or a resend
    asked for: the gateway's delivery latency is measured from it. `hidden_users` (a subset of
    `users`) get `hidden_frame` instead of `frame`, with the same seq and msg_id: the update
    frame of a message they may not see, without it (API.md §7.1)."""

    type: Literal["deliver"]
    users: list[int]
    room_id: int
    seq: int
    msg_id: int
    sender_id: int
    frame: str
    ack: str | None
    resend: bool
    sent_at_ms: int
    update: NotRequired[bool]
    hidden_users: NotRequired[list[int]]
    hidden_frame: NotRequired[str]


class NoticeEvent(TypedDict):
    """A room event for the online `users`; not stored, not re-sent."""

    type: Literal["notice"]
    users: list[int]
    frame: str


class SyncEvent(TypedDict):
    """Look in the database for anything owed to `users` and deliver it."""

    type: Literal["sync"]
    users: list[int]


class ForwardEvent(TypedDict):
    """An arbitrary frame for `users` (`/center/forward`, pushback of a non-message frame)."""

    type: Literal["forward"]
    users: list[int]
    frame: str


class FramesEvent(TypedDict):
    """Live frames that are not stored (read receipts, typing, presence): each item is a frame
    for some `users`, not written to the socket `skip` (the one that caused it), if given."""

    type: Literal["frames"]
    items: list[tuple[str, list[int], str | None]]


class CloseEvent(TypedDict):
    """Close every socket of `users` with `code` (a banned user: 4403)."""

    type: Literal["close"]
    users: list[int]
    code: int


GatewayEvent = DeliverEvent | NoticeEvent | SyncEvent | ForwardEvent | FramesEvent | CloseEvent
EVENT_TYPES = ("deliver", "notice", "forward", "sync", "frames", "close")
# Builds the event of one gateway from the ids of its users.
EventFor = Callable[[list[int]], GatewayEvent]


# --- publishing ------------------------------------------------------------------------------


def publish(*, user_ids: Iterable[int], event_for: EventFor) -> None:
    """Send each live gateway holding some of `user_ids` one event, `event_for(its users)`.
    Users who are offline are skipped (what they are owed waits in the database). Never raises."""
    _publish(lambda: _routes(user_ids), event_for)


def room_publish(*, room_id: int, before_seq: int, event_for: EventFor) -> None:
    """`publish` to the room's members who joined before `before_seq` (who may see its entry of
    that seq), found with their gateways in one query (`Directory.gateways_for_room`): a room's
    members are read where they are, not sent to the database and back. Never raises."""
    _publish(lambda: directory().gateways_for_room(room_id=room_id, before_seq=before_seq), event_for)


def _publish(routes: Callable[[], dict[str, list[int]]], event_for: EventFor) -> None:
    try:
        events = {gateway_id: event_for(users) for gateway_id, users in routes().items()}
        if events:
            async_to_sync(_send_all)(events)
    except Exception:
        metrics.CHANNEL_LAYER_SEND_ERRORS.inc()
        logger.warning("a push failed; the gateways' sweep will deliver what is owed", exc_info=True)


def publish_on_commit(*, user_ids: Iterable[int], event_for: EventFor) -> None:
    """`publish` once the current transaction commits (at once outside a transaction)."""
    users = sorted(set(user_ids))
    if users:
        transaction.on_commit(lambda: publish(user_ids=users, event_for=event_for))


async def publish_async(*, user_ids: Iterable[int], event_for: EventFor) -> None:
    """`publish` from the event loop (a gateway's own live frames): the route lookup runs off
    the loop. Never raises."""
    try:
        routes = await off_loop(_routes)(list(user_ids))
        events = {gateway_id: event_for(users) for gateway_id, users in routes.items()}
        if events:
            await _send_all(events)
    except Exception:
        metrics.CHANNEL_LAYER_SEND_ERRORS.inc()
        logger.warning("a push of live frames failed; they are live only and are dropped", exc_info=True)


def frames_event_for(items: list[tuple[str, list[int], str | None]]) -> EventFor:
    """The `frames` event of one gateway: each item cut down to that gateway's users."""

    def event_for(users: list[int]) -> GatewayEvent:
        here = set(users)
        mine = [(text, [u for u in targets if u in here], skip) for text, targets, skip in items]
        return FramesEvent(type="frames", items=[item for item in mine if item[1]])

    return event_for


def _routes(user_ids: Iterable[int]) -> dict[str, list[int]]:
    return directory().gateways_for_users(user_ids=user_ids)


async def _send_all(events: dict[str, GatewayEvent]) -> None:
    layer = get_channel_layer()
    if batches_supported(layer):  # Redis: every gateway's event in one round trip
        channels = {gateway_channel(gateway_id): gateway_id for gateway_id in events}
        try:
            full = await send_batch(layer, {gateway_channel(g): event for g, event in events.items()})
        except Exception:
            metrics.CHANNEL_LAYER_SEND_ERRORS.inc(len(events))
            logger.warning("push to gateways %s failed; the sweep will deliver", sorted(events), exc_info=True)
            return
        for channel in full:
            metrics.CHANNEL_LAYER_SEND_ERRORS.inc()
            logger.warning("push to gateway %s failed: its channel is full; the sweep will deliver", channels[channel])
        return
    for gateway_id, event in events.items():
        try:
            await layer.send(gateway_channel(gateway_id), event)
        except Exception:
            metrics.CHANNEL_LAYER_SEND_ERRORS.inc()
            logger.warning("push to gateway %s failed; the sweep will deliver", gateway_id, exc_info=True)


# --- the events every layer sends --------------------------------------------------------------


def notice_publish_on_commit(*, room_id: int, user_ids: Iterable[int], payload: dict[str, Any]) -> None:
    """After commit, a `notice` frame to those of `user_ids` who are online."""
    text = encode(notice_frame(room_id=room_id, payload=payload))
    publish_on_commit(user_ids=user_ids, event_for=lambda users: NoticeEvent(type="notice", users=users, frame=text))


def sync_publish(*, user_ids: Iterable[int]) -> None:
    """Ask the gateways of `user_ids` to deliver whatever the database says those users are owed."""
    publish(user_ids=user_ids, event_for=lambda users: SyncEvent(type="sync", users=users))


def frame_publish(*, user_ids: Iterable[int], frame: dict[str, Any]) -> None:
    """An arbitrary frame to wherever `user_ids` are connected."""
    text = encode(frame)
    publish(user_ids=user_ids, event_for=lambda users: ForwardEvent(type="forward", users=users, frame=text))


def sockets_close_publish_on_commit(*, user_ids: Iterable[int], code: int) -> None:
    """After commit, close every socket of `user_ids` with `code` (a ban: 4403)."""
    publish_on_commit(user_ids=user_ids, event_for=lambda users: CloseEvent(type="close", users=users, code=code))
