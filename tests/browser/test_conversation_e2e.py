"""The conversation's state in the browser client (API.md §7.3, §7.4), end to end: a real server
process and headless Chromium driven by conversation_e2e.mjs. Alice writes to Bob while he reads
another room; his room list (and his second tab) shows the badge and the preview and moves the
room to the top; he opens it at the "New messages" divider, the badges go on both his tabs and
Alice sees her message seen; he types and she sees it; she sees him online, then offline with
"last seen" once his tabs are closed and the (shortened) grace period is over."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

import pytest

from tests.browser.test_chat_e2e import run_script
from tests.browser.tools import require_browser
from tests.support.servers import running_server

pytestmark = [pytest.mark.crossprocess, pytest.mark.django_db(transaction=True)]


def test_unread_badges_read_receipts_typing_and_presence_between_two_people(tmp_path: Path) -> None:
    node = require_browser()
    shots = Path(os.environ.get("CHAT_SCREENSHOT_DIR") or tmp_path).resolve()
    env = {
        "CHANNEL_LAYER_PREFIX": f"t{uuid.uuid4().hex[:8]}",
        "DELIVERY_CONFIRM_FLUSH_SECONDS": "0.2",
        "DJANGO_PASSWORD_HASHERS": "django.contrib.auth.hashers.MD5PasswordHasher",
        # Offline one second after the last tab closed, rather than ten.
        "PRESENCE_OFFLINE_GRACE_SECONDS": "1",
    }
    with running_server(name="web", roles="all", env=env) as server:
        returncode, output = run_script(node, server.base_url, shots, script="tests/browser/conversation_e2e.mjs")
    print(output)
    assert returncode == 0, output
    result_lines = [line for line in output.splitlines() if line.startswith("RESULT ")]
    assert len(result_lines) == 1, output
    seen = json.loads(result_lines[0].removeprefix("RESULT "))
    assert seen == {
        "bob_order_before": ["Notes", "Trip"],
        "alice_receipt_before": "sent",
        # The new message moved Trip up, with its badge and preview, from the frame alone.
        "bob_order_after": ["Trip", "Notes"],
        "bob_trip_entry": {"badges": ["1"], "label": ", 1 unread", "preview": "Alice: Hi Bob, ready for the trip?"},
        "bob_list_reads_for_it": 0,
        "bob_tab2_order": ["Trip", "Notes"],
        "bob_divider": {"text": "New messages", "before": "Hi Bob, ready for the trip?"},
        "bob_badges_after_open": 0,
        # The other tab's badge went with the `read` frame of Bob's own read.
        "bob_tab2_badges_after": 0,
        "alice_receipt_after": {"ticks": "✓✓", "spoken": ", seen"},
        "alice_seen_by": "Seen by Bob",
        "alice_typing": "Bob is typing…",
        "alice_typing_after_message": "",
        # One read (Trip, up to Alice's message) and one typing frame: throttled, nothing repeated.
        "bob_frames": [{"type": "read", "room_id": "trip", "seq": 1}, {"type": "typing", "room_id": "trip"}],
        "alice_sees_bob": "online",
        "alice_sees_bob_after": "last seen just now",
        "alice_setting": {"share_read_receipts": False},
        "console_errors": [],
    }, output
