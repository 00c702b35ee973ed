"""Sending one event to each of several channels of the Redis channel layer in one round trip.

channels-redis's `send` makes four round trips per channel (drop expired messages, count,
add, set the expiry); a message for a room whose members sit on two gateways made eight. This
does the same four steps for every channel of one Redis host in one Lua script, with the same
keys, serialization, capacity and expiry as `RedisChannelLayer.send`, so a gateway's `receive`
cannot tell the difference. A channel at capacity is skipped and reported, as `send` would
raise `ChannelFull` for it. Only plain channel names (no process-local `!` part): the gateway
channels of `chatproject.bus`.
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
