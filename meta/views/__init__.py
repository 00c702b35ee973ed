"""HTTP views of the meta service (API.md §2, §9): validate, call one service or selector, reply.

One module per sub-domain, as in `meta.services`: `users` (register, login, token refresh),
`rooms`, `members`, `join_requests`, `room_settings` (settings and invite links) and `people`
(the caller's own account, finding and blocking users). `meta.urls` routes to them.
"""
