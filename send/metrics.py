"""Metrics of the send path, registered in the process's registry (`chatproject.metrics`)."""

from __future__ import annotations

from prometheus_client import Counter

from chatproject.metrics import REGISTRY

MESSAGES_SENT = Counter(
    "chat_messages_sent",
    "Messages stored by this process's send path (counted after commit; idempotent repeats not counted).",
    registry=REGISTRY,
)
