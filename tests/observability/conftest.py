"""Helpers for the observability tests: reading this process's metrics and its log output."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest
from prometheus_client.parser import text_string_to_metric_families

from chatproject.logging import RedactSecretsFilter
from chatproject.metrics import REGISTRY

# The WebSocket fixtures of the gateway tests (`connect`, `gateway`, and their settings).
from tests.gateway.conftest import _gateway_settings, connect, gateway  # noqa: F401


def sample(name: str, **labels: str) -> float:
    """The current value of one sample of this process's registry (0 when not there yet)."""
    return REGISTRY.get_sample_value(name, labels) or 0.0


def scrape_samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a `/metrics` reply: {(name, sorted labels): value}."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def console_handler() -> logging.Handler:
    """The handler settings.LOGGING puts on the root logger (the one with the redaction filter)."""
    for handler in logging.getLogger().handlers:
        if any(isinstance(f, RedactSecretsFilter) for f in handler.filters):
            return handler
    raise AssertionError("settings.LOGGING installed no redacting handler on the root logger")


@pytest.fixture
def console() -> Iterator[io.StringIO]:
    """What the configured console handler writes during the test (formatter and filters as set up)."""
    handler = console_handler()
    assert isinstance(handler, logging.StreamHandler)
    stream = io.StringIO()
    previous = handler.setStream(stream)
    try:
        yield stream
    finally:
        handler.setStream(previous)
