"""The gateway's delivery engine: `engine` (the process-wide receiver, timers, confirmations and
sweep), `connection` (one socket's ordering, acks and redelivery), `store` (what they read and
write in the database, off the event loop). One engine per process, reached through
`delivery_engine()` and passed in where it is used."""

from __future__ import annotations

from gateway.delivery.connection import Connection, RoomCursor
from gateway.delivery.engine import DeliveryEngine
from gateway.delivery.store import DatabaseStore, DeliveryStore
from gateway.hub import Hub

__all__ = ["Connection", "DatabaseStore", "DeliveryEngine", "DeliveryStore", "RoomCursor", "delivery_engine"]

_engine: DeliveryEngine | None = None


def delivery_engine() -> DeliveryEngine:
    """This process's engine, created on first use."""
    global _engine
    if _engine is None:
        _engine = DeliveryEngine(hub=Hub(), store=DatabaseStore())
    return _engine
