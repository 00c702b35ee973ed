"""py-spy on a server process while a measurement runs: where its CPU goes (`--profile`)."""

from __future__ import annotations

import asyncio
import collections
import re
import shutil
from collections.abc import Awaitable
from pathlib import Path
from typing import Any, TypeVar

from bench.procs import PYTHON, ServerProcess
from bench.stats import collapsed_summary

T = TypeVar("T")


async def profiled(
    *, process: ServerProcess, label: str, seconds: float, work: Awaitable[T], out_dir: Path
) -> tuple[dict[str, Any], T]:
    """py-spy on `process` for `seconds` while `work` runs: where its CPU goes, and what `work`
    returned. Writes the collapsed stacks and one thread dump next to the results (*.tmp)."""
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
        error = f"py-spy record failed: {err.decode(errors='replace')[-500:]}"
        return {"process": process.name, "error": error}, outcome
    summary = collapsed_summary(raw_path.read_text(errors="replace"))
    summary.update({"process": process.name, "during": label, "raw": raw_path.name, "dump": dump_path.name})
    if isinstance(outcome, dict) and "frames_per_cpu_s" in outcome:
        summary["frames_per_cpu_s"] = outcome["frames_per_cpu_s"]
    return summary, outcome


def details(profiles: list[dict[str, Any]], *, top: int = 8) -> list[str]:
    """A line per profile for the report: the functions on top of the stack and the project's
    own functions (inclusive), each with its own and inclusive share of the samples."""
    out = []
    for profile in profiles:
        if profile.get("samples"):
            both = profile.get("own_and_inclusive", {})
            on_top = "; ".join(_shares(both, name, share) for name, share in profile["own"][:top])
            mine = "; ".join(_shares(both, name, share) for name, share in profile["project"][:top]) or "none"
            out.append(
                f"- where {profile['process']}'s CPU goes (py-spy, {profile['samples']:,} samples during "
                f"{profile['during']}; own % / inclusive %): on top of the stack {on_top}; the project's own "
                f"functions, by inclusive share, {mine}."
            )
        elif profile.get("error"):
            out.append(f"- profile of {profile.get('process')}: {profile['error']}")
    return out


def _shares(both: dict[str, list[float]], name: str, share: float) -> str:
    if name not in both:  # a profile summarised before both shares were kept
        return f"`{name}` {share}%"
    own, inclusive = both[name]
    return f"`{name}` {own}% / {inclusive}%"


def py_spy_top(raw: Path, limit: int = 25) -> str:
    """The heaviest functions of py-spy's collapsed stacks: own samples and inclusive samples."""
    own: collections.Counter[str] = collections.Counter()
    inside: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [re.sub(r":\d+\)$", ")", f) for f in stack.split(";")]
        frames = [f for f in frames if not f.startswith("process ") and not f.startswith("thread ")]
        if not frames:
            continue
        total += count
        own[frames[-1]] += count
        for frame in set(frames):
            inside[frame] += count
    if not total:
        return "(no samples)"
    lines = [f"{total} samples", "own time:"]
    lines += [f"  {n / total:6.1%}  {f}" for f, n in own.most_common(limit)]
    lines.append("time inside (project code, Django, DRF, psycopg, channels):")
    keep = (
        "chatproject",
        "meta/",
        "send/",
        "registry/",
        "gateway/",
        "rest_framework",
        "django/",
        "psycopg",
        "channels",
    )
    picked = [(f, n) for f, n in inside.most_common() if any(k in f for k in keep)]
    lines += [f"  {n / total:6.1%}  {f}" for f, n in picked[:limit]]
    return "\n".join(lines)
