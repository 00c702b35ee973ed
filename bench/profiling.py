"""py-spy on a server process while a measurement runs: where its CPU goes (`--profile`)."""

from __future__ import annotations

import asyncio
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
    """The heaviest functions of py-spy's collapsed stacks (`bench.stats.collapsed_summary`), as
    text: by own samples, by inclusive samples, and the project's own functions."""
    summary = collapsed_summary(raw.read_text(errors="replace"), top=limit)
    if not summary["samples"]:
        return "(no samples)"
    lines = [f"{summary['samples']} samples"]
    for title, key in (("own time:", "own"), ("time inside:", "inclusive"), ("the project's own, inside:", "project")):
        lines.append(title)
        lines += [f"  {share:5.1f}%  {name}" for name, share in summary[key]]
    return "\n".join(lines)
