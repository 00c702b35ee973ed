"""py-spy on a server process while a measurement runs: where its CPU goes (`--profile`)."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Awaitable
from pathlib import Path
from typing import Any

from bench.procs import PYTHON, ServerProcess
from bench.stats import collapsed_summary


async def profiled(
    *, process: ServerProcess, label: str, seconds: float, work: Awaitable[Any], out_dir: Path
) -> dict[str, Any]:
    """py-spy on `process` while `work` runs (an extra, unreported measurement): where its
    CPU goes. Writes the collapsed stacks and one thread dump next to the results (*.tmp)."""
    py_spy = shutil.which("py-spy") or str(Path(PYTHON).parent / "py-spy")
    raw_path = out_dir / f"profile-{label}.collapsed.tmp"
    dump_path = out_dir / f"profile-{label}.dump.tmp"
    record = await asyncio.create_subprocess_exec(
        py_spy,
        "record",
        "--pid",
        str(process.pid),
        "--duration",
        str(max(1, int(seconds))),
        "--rate",
        "250",
        "--format",
        "raw",
        "--nonblocking",
        "--output",
        str(raw_path),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )

    async def dump_later() -> None:
        await asyncio.sleep(min(2.0, seconds / 2))
        dump = await asyncio.create_subprocess_exec(
            py_spy,
            "dump",
            "--pid",
            str(process.pid),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        out, _ = await dump.communicate()
        dump_path.write_bytes(out)

    dumping = asyncio.ensure_future(dump_later())
    outcome = await work
    _out, err = await record.communicate()
    await dumping
    if record.returncode != 0 or not raw_path.exists():
        return {"process": process.name, "error": f"py-spy record failed: {err.decode(errors='replace')[-500:]}"}
    summary = collapsed_summary(raw_path.read_text(errors="replace"))
    summary.update({"process": process.name, "during": label, "raw": raw_path.name, "dump": dump_path.name})
    if isinstance(outcome, dict) and "frames_per_cpu_s" in outcome:
        summary["frames_per_cpu_s"] = outcome["frames_per_cpu_s"]
    return summary
