"""HTTP endpoints of the send service (API.md §3, §7, §8): validate, call one service or selector,
reply.

`messages` (send, resend, history), `timeline` (edits, deletes, reactions, pins, events, search),
`reading` (read positions and the chat list), `devices` (the caller's devices) and `internal`
(the gateways' pushback and notify-online). `send.urls` routes to them.
"""
