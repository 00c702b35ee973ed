"""The gateway channels of the Redis channel layer, a batch per round trip each way.

Sending: channels-redis's `send` makes four round trips per channel (drop expired messages,
count, add, set the expiry); a message for a room whose members sit on two gateways made eight.
`send_batch` does the same four steps for every channel of one Redis host in one Lua script,
with the same keys, serialization, capacity and expiry as `RedisChannelLayer.send`. A channel at
capacity is skipped and reported, as `send` would raise `ChannelFull` for it.

Receiving: channels-redis's `receive` makes four round trips per message (a clean-up script,
the blocking pop, copying the message to a backup set, deleting the backup), one of them after
the message has arrived and before it is handed over, and takes one message at a time.
`receive_batch` pops every message waiting (up to a limit) in one round trip, and blocks for the
next one only when none waits: a gateway under load takes its events in batches, and an idle
one gets each event on the blocking pop's answer. It keeps no backup of the messages in
flight: an event lost with a gateway that dies while handling it is what the database and the
gateways' sweep already make up for (`chatproject.bus`), and the backup would only re-deliver
it to a gateway that no longer holds the sockets.

Only plain channel names (no process-local `!` part): the gateway channels of `chatproject.bus`,
which nothing reads through channels-redis's `receive`.
"""

from __future__ import annotations

import hashlib
import time
from collections import defaultdict
from typing import Any

from channels_redis.core import RedisChannelLayer
from redis.exceptions import NoScriptError

# KEYS: the channels' keys; ARGV: their messages, their capacities, then the time now and the
# expiry. Returns the positions (1-based) of the channels that were full.
_SEND_LUA = """
local n = #KEYS
local now = tonumber(ARGV[2 * n + 1])
local expiry = tonumber(ARGV[2 * n + 2])
local full = {}
for i = 1, n do
    redis.call('ZREMRANGEBYSCORE', KEYS[i], 0, math.floor(now) - expiry)
    if redis.call('ZCOUNT', KEYS[i], '-inf', '+inf') >= tonumber(ARGV[n + i]) then
        full[#full + 1] = i
    else
        redis.call('ZADD', KEYS[i], ARGV[2 * n + 1], ARGV[i])
        redis.call('EXPIRE', KEYS[i], expiry)
    end
end
return full
"""
# Redis names a script by its SHA-1 digest (EVALSHA), nothing to do with security.
_SEND_SHA = hashlib.sha1(_SEND_LUA.encode(), usedforsecurity=False).hexdigest()


def batches_supported(layer: Any) -> bool:
    return isinstance(layer, RedisChannelLayer)


async def send_batch(layer: RedisChannelLayer, messages: dict[str, dict[str, Any]]) -> list[str]:
    """Send `messages[channel]` to each channel; the channels that were full (nothing was sent
    to those). Raises what the Redis client raises (then nothing is known to have been sent)."""
    by_host: dict[int, list[str]] = defaultdict(list)
    for channel in messages:
        if "!" in channel or not layer.require_valid_channel_name(channel):
            raise ValueError(f"not a plain channel name: {channel!r}")
        by_host[layer.consistent_hash(channel)].append(channel)
    full: list[str] = []
    for index, channels in by_host.items():
        keys = [layer.prefix + channel for channel in channels]
        args: list[Any] = [layer.serialize(messages[channel]) for channel in channels]
        args += [layer.get_capacity(channel) for channel in channels]
        args += [repr(time.time()), int(layer.expiry)]
        connection = layer.connection(index)
        try:  # the script by its digest; sent whole only when the server does not hold it yet
            positions = await connection.evalsha(_SEND_SHA, len(keys), *keys, *args)
        except NoScriptError:
            positions = await connection.eval(_SEND_LUA, len(keys), *keys, *args)
        full += [channels[int(position) - 1] for position in positions or []]
    return full


async def receive_batch(
    layer: RedisChannelLayer, channel: str, *, most: int, wait_seconds: float
) -> list[dict[str, Any]]:
    """The messages waiting on `channel`, oldest first, at most `most`; when none waits, the
    first to arrive within `wait_seconds` (an empty list after that). Raises what the Redis
    client raises (messages it popped are then lost, as above)."""
    if "!" in channel or not layer.require_valid_channel_name(channel):
        raise ValueError(f"not a plain channel name: {channel!r}")
    key = layer.prefix + channel
    connection = layer.connection(layer.consistent_hash(channel))  # where `send_batch` writes it
    popped = await connection.zpopmin(key, most)
    if not popped:
        one = await connection.bzpopmin(key, timeout=wait_seconds)
        if one is None:
            return []
        popped = [(one[1], one[2])]
    return [layer.deserialize(member) for member, _score in popped]
