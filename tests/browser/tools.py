"""What the browser tests need on the machine: Node.js 20+, `node_modules/` from
package-lock.json (playwright-core) and Chromium. `make browser-deps` provides them.

Missing tools skip the tests with the reason, except under CI (`CI` set to true), where
they fail: there, a skipped browser test would pass the run without testing anything.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from django.conf import settings

NODE_MAJOR_MIN = 20
HOW_TO = "run `make browser-deps` (see README, Browser client)"


def repo_root() -> Path:
    return Path(settings.BASE_DIR)


def chromium_path() -> Path:
    return Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes", "on"}


def _unavailable(reason: str) -> None:
    message = f"{reason}; {HOW_TO}"
    if _in_ci():
        pytest.fail(f"CI must run the browser tests, but {message}", pytrace=False)
    pytest.skip(message)


def require_node() -> str:
    """The path of a Node.js 20+ binary, or skip (fail under CI)."""
    node = shutil.which("node")
    if node is None:
        _unavailable("Node.js is not installed (no `node` on PATH)")
    version = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30).stdout.strip()
    try:
        major = int(version.lstrip("v").split(".")[0])
    except ValueError:
        major = 0
    if major < NODE_MAJOR_MIN:
        _unavailable(f"Node.js {NODE_MAJOR_MIN}+ is needed, found {version or 'an unknown version'}")
    return node


def require_browser() -> str:
    """Node.js, the locked playwright-core in node_modules and Chromium, or skip (fail under CI)."""
    node = require_node()
    root = repo_root()
    lock = json.loads((root / "package-lock.json").read_text())
    wanted = lock["packages"]["node_modules/playwright-core"]["version"]
    installed_file = root / "node_modules" / "playwright-core" / "package.json"
    if not installed_file.exists():
        _unavailable("node_modules/playwright-core is missing")
    installed = json.loads(installed_file.read_text()).get("version")
    if installed != wanted:
        _unavailable(f"node_modules has playwright-core {installed}, package-lock.json wants {wanted}")
    if not os.access(chromium_path(), os.X_OK):
        _unavailable(f"Chromium is not installed at {chromium_path()} (set CHROMIUM_PATH to use another)")
    return node
