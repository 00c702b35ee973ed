"""The schema fuzzer: schemathesis, every check (but `positive_data_acceptance`), against a
real server on loopback with a user's token and the internal token. Any 5xx, or any reply that
differs from the OpenAPI schema (a status, a body, a header it does not document), fails.
Bounded: a few examples per operation, a fixed seed, about a minute on two cores."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.cluster.conftest import authed, register_and_login
from tests.conftest import INTERNAL_TOKEN
from tests.support.servers import running_server

pytestmark = [pytest.mark.crossprocess, pytest.mark.django_db(transaction=True), pytest.mark.timeout(600)]

MAX_EXAMPLES = int(os.environ.get("FUZZ_MAX_EXAMPLES", "15"))


def test_the_schema_fuzzer_finds_no_5xx_and_no_schema_violation(tmp_path: Path) -> None:
    env = {
        "CHAT_SERVER": "uvicorn",
        "REGISTRY_DEAD_AFTER_SECONDS": "3600",
        # The fuzzer logs in and registers far more than a person: no rate limits in its way.
        "LOGIN_RATE": "100000/min",
        "REGISTER_RATE": "100000/min",
        "LOGIN_FAILURES_PER_ADDRESS": "100000",
        "LOGIN_FAILURES_PER_ACCOUNT": "100000",
        "DJANGO_PASSWORD_HASHERS": "django.contrib.auth.hashers.MD5PasswordHasher",
        "LOG_LEVEL": "WARNING",
        "MEDIA_ROOT": str(tmp_path / "media"),  # what the fuzzer uploads
    }
    with running_server(name="fuzz", roles="all", env=env) as server:
        user_id, token = register_and_login(server, "fuzzer")
        # Something to find: a room with a message.
        status, body = authed(
            server, token, "/api/chat/group/create", {"name": "f", "is_group": True, "member_ids": []}
        )
        assert status == 200, body
        room_id = body["data"]["room_id"]
        assert (
            authed(
                server, token, "/api/chat/send_message", {"room_id": room_id, "content": {"type": "text", "text": "x"}}
            )[0]
            == 200
        )
        started = time.monotonic()
        result = subprocess.run(
            [
                str(Path(sys.executable).with_name("st")),
                "run",
                f"{server.base_url}/api/schema/?format=json",
                "--checks",
                "all",
                # Business rules stricter than a schema can say (TS #39 usernames, private rooms,
                # a 64 KiB frame in a 1 MiB body) refuse some schema-valid requests with a 4xx.
                "--exclude-checks",
                "positive_data_acceptance",
                "--max-examples",
                str(MAX_EXAMPLES),
                "--seed",
                "11",
                "--workers",
                "1",
                "--header",
                f"Authorization: Bearer {token}",
                "--header",
                f"X-Internal-Token: {INTERNAL_TOKEN}",
                "--request-timeout",
                "10",
                "--no-color",
            ],
            capture_output=True,
            text=True,
            timeout=540,
            cwd=tmp_path,
        )
        seconds = time.monotonic() - started
        output = result.stdout + result.stderr
        print(f"\nschemathesis: {seconds:.0f} s, exit {result.returncode}\n{output[-3000:]}")
        assert result.returncode == 0, failures_first(output)
        assert user_id


def failures_first(output: str) -> str:
    """Schemathesis's report with its FAILURES section (which check failed, on which request,
    and how to reproduce it) first: a CI log shows only the end of a long assertion message."""
    start = output.find("FAILURES")
    end = output.find("WARNINGS", start) if start >= 0 else -1
    failures = output[start : end if end > start else start + 20000] if start >= 0 else ""
    report_end = output[-3000:]
    return f"{failures[:20000]}\n--- the report's end ---\n{report_end}\n--- the failures again ---\n{failures[:3000]}"
