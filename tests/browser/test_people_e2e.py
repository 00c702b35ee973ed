"""People, safety and attachments in the browser (issue 14), end to end: a real server
process and headless Chromium driven by people_e2e.mjs. Two new users find each other by
name, exchange a photo and a PDF, one reports a message, the other blocks the first, and a
moderator acts on the report in the Django admin."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import uuid
from pathlib import Path

import pytest

from meta.models import User
from tests.browser.tools import chromium_path, repo_root, require_browser
from tests.support.servers import running_server

pytestmark = [pytest.mark.crossprocess, pytest.mark.django_db(transaction=True)]

SCRIPT_TIMEOUT_SECONDS = 120


def run_script(node: str, base_url: str, shots: Path, staff_password: str) -> tuple[int, str]:
    env = {
        **os.environ,
        "CHROMIUM_PATH": str(chromium_path()),
        "CHAT_E2E_SUFFIX": "e2e",
        "CHAT_STAFF_USERNAME": "moderator",
        "CHAT_STAFF_PASSWORD": staff_password,
    }
    process = subprocess.Popen(
        [node, "tests/browser/people_e2e.mjs", base_url, str(shots)],
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


def test_two_people_find_each_other_share_files_block_and_report_and_staff_act(tmp_path: Path) -> None:
    node = require_browser()
    password = uuid.uuid4().hex
    User.objects.create_superuser(username="moderator", password=password)
    env = {
        "CHANNEL_LAYER_PREFIX": f"t{uuid.uuid4().hex[:8]}",
        "DJANGO_PASSWORD_HASHERS": "django.contrib.auth.hashers.MD5PasswordHasher",
        "MEDIA_ROOT": str(tmp_path / "media"),
    }
    with running_server(name="web", roles="all", env=env) as server:
        returncode, output = run_script(node, server.base_url, tmp_path / "shots", password)
    print(output)
    assert returncode == 0, output
    [line] = [line for line in output.splitlines() if line.startswith("RESULT ")]
    seen = json.loads(line.removeprefix("RESULT "))
    assert seen == {
        "alice_found": ["Bob"],
        "alice_photo": {"width": 40, "height": 30, "sameOrigin": True},
        "bob_photo": {"width": 40, "height": 30, "sameOrigin": True},
        "alice_pdf": {
            "status": 200,
            "type": "application/pdf",
            "nosniff": "nosniff",
            "disposition": "attachment",
            "starts": "%PDF-1.4",
        },
        "bob_blocks": ["Alice"],
        "alice_refused": "Not sent: private room N is frozen: one of you has blocked the other",
        "admin_open_reports": 1,
        "admin_queue_row": ["open", "abuse", "[file] minutes.pdf", seen["admin_queue_row"][3], "bob_e2e"],
        "admin_message": "Report #N: muted bob_e2e in “alice_e2e & bob_e2e” for 24 hours.",
        "admin_log": ["moderator", "muted the sender in the room", "bob_e2e"],
        "console_errors": [],
    }, output
