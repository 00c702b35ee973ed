"""The life of a message in the browser client, end to end: a real server process and headless
Chromium driven by timeline_e2e.mjs. Two people reply (quoted, with a picked mention), edit,
delete (their own, and the owner someone else's), react, pin and search (jumping far back
into the history); a third person offline throughout comes back to every message and update in
seq order, each message as it is now."""

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


def test_reply_edit_delete_react_pin_search_and_an_offline_member_catching_up(tmp_path: Path) -> None:
    node = require_browser()
    shots = Path(os.environ.get("CHAT_SCREENSHOT_DIR") or tmp_path).resolve()
    env = {
        "CHANNEL_LAYER_PREFIX": f"t{uuid.uuid4().hex[:8]}",
        "DELIVERY_CONFIRM_FLUSH_SECONDS": "0.2",
        "DJANGO_PASSWORD_HASHERS": "django.contrib.auth.hashers.MD5PasswordHasher",
    }
    with running_server(name="web", roles="all", env=env) as server:
        returncode, output = run_script(node, server.base_url, shots, script="tests/browser/timeline_e2e.mjs")
    print(output)
    assert returncode == 0, output
    result_lines = [line for line in output.splitlines() if line.startswith("RESULT ")]
    assert len(result_lines) == 1, output
    seen = json.loads(result_lines[0].removeprefix("RESULT "))
    reply = "Yes! @alice_e2e where?"
    assert seen == {
        "picker_options": ["Alice (@alice_e2e)"],
        "composed": "Yes! @alice_e2e where?",
        # Alice sees her own question quoted as "You" (before she edited it).
        "alice_reply_quote": "YouLunch at noon?",
        "alice_mentioned": True,
        "alice_mention_span": "@alice_e2e",
        "alice_pressed": "true",
        "bob_pins": [f"You: {reply}"],
        "bob_lunch_loaded_before_search": 0,
        "search_summary": "1 message found.",
        # The lunch question was not loaded; the search result opened it, in view and focused.
        "bob_jumped_focus": True,
        "carol_seqs_in_order": True,
        "carol_update_events": ["edit", "reaction", "reaction", "reaction", "pin", "delete", "delete"],
        "carol_first_frame": "batch",
        "carol_view": [
            {
                "seq": 1,
                "text": "Lunch at 12:30?",
                "quote": None,
                "reactions": ["👍1"],
                "edited": True,
                "pinned": False,
                "deleted": False,
            },
            {
                "seq": 2,
                "text": reply,
                "quote": "AliceLunch at 12:30?",
                "reactions": [],
                "edited": False,
                "pinned": True,
                "deleted": False,
            },
            {
                "seq": 8,
                "text": "This message was deleted.",
                "quote": None,
                "reactions": [],
                "edited": False,
                "pinned": False,
                "deleted": True,
            },
            {
                "seq": 10,
                "text": "This message was deleted.",
                "quote": None,
                "reactions": [],
                "edited": False,
                "pinned": False,
                "deleted": True,
            },
        ],
        "carol_pins": [f"Bob: {reply}"],
        "ids": {"alice": True, "lunch": True},
        "console_errors": [],
    }, output
