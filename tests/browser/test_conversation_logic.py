"""The browser client's conversation state (API.md §7.3, §7.4: the chat list's order, badges
and previews, the read throttle, receipts, typing and presence) under Node's own test runner:
conversation_logic.test.mjs."""

from __future__ import annotations

import re
import subprocess

from tests.browser.tools import repo_root, require_node


def test_conversation_logic_passes_its_node_tests() -> None:
    node = require_node()
    completed = subprocess.run(
        [node, "--test", "--test-reporter=spec", "tests/browser/conversation_logic.test.mjs"],
        cwd=repo_root(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output
    counts = {name: int(count) for name, count in re.findall(r"^ℹ (tests|pass|fail) (\d+)$", output, re.MULTILINE)}
    assert counts["fail"] == 0, output
    assert counts["pass"] == counts["tests"] == 16, output
