"""The browser client's issue-14 helpers (uploads, invite links, who may write) under Node's
own test runner: people_logic.test.mjs."""

from __future__ import annotations

import re
import subprocess

from tests.browser.tools import repo_root, require_node


def test_people_helpers_pass_their_node_tests() -> None:
    node = require_node()
    completed = subprocess.run(
        [node, "--test", "--test-reporter=spec", "tests/browser/people_logic.test.mjs"],
        cwd=repo_root(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output
    counts = {name: int(count) for name, count in re.findall(r"^ℹ (tests|pass|fail) (\d+)$", output, re.MULTILINE)}
    assert counts["fail"] == 0, output
    assert counts["pass"] == counts["tests"] == 4, output
