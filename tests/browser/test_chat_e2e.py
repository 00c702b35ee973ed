"""The browser client end to end: a real server process (`manage.py serve`, every role) and
headless Chromium driven by chat_e2e.mjs through playwright-core. Two people in two browser
contexts register and log in through the page, chat live, one closes the tab and comes back to
exactly what it missed, then asks to join an approval group and is let in; a reloaded page
keeps its session and pages through older history on scrolling up.

CHAT_SCREENSHOT_DIR=docs keeps the screenshots (docs/chat-view.png, chat-view-mobile.png).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import uuid
from pathlib import Path

import pytest

from tests.browser.tools import chromium_path, repo_root, require_browser
from tests.support.servers import running_server

pytestmark = [pytest.mark.crossprocess, pytest.mark.django_db(transaction=True)]

SCRIPT_TIMEOUT_SECONDS = 90
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def run_script(node: str, base_url: str, shots: Path, script: str = "tests/browser/chat_e2e.mjs") -> tuple[int, str]:
    """Run the script in its own process group, so that a timeout also ends its Chromium."""
    env = {**os.environ, "CHROMIUM_PATH": str(chromium_path()), "CHAT_E2E_SUFFIX": "e2e"}
    process = subprocess.Popen(
        [node, script, base_url, str(shots)],
        cwd=repo_root(),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        output, _ = process.communicate(timeout=SCRIPT_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate()
        raise AssertionError(f"the browser script ran over {SCRIPT_TIMEOUT_SECONDS} s:\n{output}") from None
    return process.returncode, output


def test_two_people_chat_in_two_browsers_and_a_returning_tab_sees_what_it_missed(tmp_path: Path) -> None:
    node = require_browser()
    shots = Path(os.environ.get("CHAT_SCREENSHOT_DIR") or tmp_path).resolve()
    env = {
        "CHANNEL_LAYER_PREFIX": f"t{uuid.uuid4().hex[:8]}",
        # Confirmations reach the database quickly, so what the closed tab had is not owed again.
        "DELIVERY_CONFIRM_FLUSH_SECONDS": "0.2",
        "DJANGO_PASSWORD_HASHERS": "django.contrib.auth.hashers.MD5PasswordHasher",
    }
    with running_server(name="web", roles="all", env=env) as server:
        returncode, output = run_script(node, server.base_url, shots)
    print(output)  # the steps with their times, shown by `pytest -s` and on failure
    assert returncode == 0, output
    result_lines = [line for line in output.splitlines() if line.startswith("RESULT ")]
    assert len(result_lines) == 1, output
    seen = json.loads(result_lines[0].removeprefix("RESULT "))

    conversation = [
        "Hi Bob! Hiking on Saturday?",
        "Yes! I'll bring crêpes for everyone.",
        "Meet at the station at 9.",
        "Bring a raincoat, <b>just in case</b>.",
        "The trail is 12 km long.",
    ]
    assert seen == {
        # The three came over the socket while the room was closed: a badge before opening it.
        "bob_unread_label": ", 3 unread",
        # The new tab shows everything once, in order, the missed three included.
        "bob_after_return": conversation,
        # User text is text: the tags stay visible characters, not markup.
        "bob_bold_elements": 0,
        "alice_transcript": [*conversation, "Back! Got all three."],
        "alice_sees_bob_online": True,
        "alice_request_text": "Bob (@bob_e2e)“I read a lot!”Approve Reject",
        # Most recently active first (API.md §7.3): the club was created after the last message.
        "bob_rooms": ["Book club e2e", "Weekend plans"],
        # After a reload: the newest 50, then the older 10 on scrolling up, once each, in order.
        "alice_history_first_page": 50,
        "alice_history_in_order": True,
        "console_errors": [],
    }, output
    for name in ("chat-view.png", "chat-view-mobile.png"):
        assert (shots / name).read_bytes()[:8] == PNG_SIGNATURE
