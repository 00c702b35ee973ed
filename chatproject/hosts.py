"""Host names and addresses as they appear in URLs and `host:port` strings."""

from __future__ import annotations


def bracketed(host: str) -> str:
    """An IPv6 address in brackets (`[::1]`), anything else as it is."""
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def host_port(host: str, port: int) -> str:
    """`host:port`, with an IPv6 address in brackets."""
    return f"{bracketed(host)}:{port}"
