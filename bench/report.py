"""The benchmark's output: the targets met or missed, the markdown table (printed, written next
to the JSON, and optionally into the README's Performance section) and the JSON results; the
latency plot is `bench/plot.py`."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

from bench import profiling, reconnect, timeline_phase

README_BEGIN = "<!-- bench:begin -->"
README_END = "<!-- bench:end -->"

FANOUT_PER_CPU_TARGET = 15_000
VS_STOCK_TARGET = 5.0
VS_BARE_TARGET = 0.6
LATENCY_P50_TARGET_MS = 10.0
LATENCY_P99_TARGET_MS = 20.0
SEND_PER_CPU_TARGET = 500
SEND_GROWTH_TARGET = 1.2
SEND_VS_BARE_DJANGO_TARGET = 0.5  # send_message ÷ the bare Django send, calls per CPU-second (issue 15)
KB_PER_CONNECTION_TARGET = 24.0
STORM_SECONDS_TARGET = 10.0
FAILOVER_P50_TARGET_S = 10.0
WITH_READS_TARGET = 0.7  # fan-out per gateway CPU-second with every member reading ÷ without
CHAT_LIST_TARGET_MS = 500.0  # GET /api/joined_rooms for a user in 1,000 rooms, p95: "well under a second" (issue 13)


def _num(value: float | None, digits: int = 0) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:,.{digits}f}"


def _ratio(a: float | None, b: float | None) -> float | None:
    if not a or not b:
        return None
    return a / b


def fanout_row(results: dict[str, Any], kind: str, server: str, size: int) -> dict[str, Any] | None:
    for row in results.get("fanout", []):
        if row["target"] == kind and row["server"] == server and row["room_size"] == size:
            return row
    return None


def evaluate(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Every figure the issue sets a target for, on the primary server: value, target, met."""
    checks: list[dict[str, Any]] = []
    primary = results.get("primary_server")
    rooms = results.get("options", {}).get("rooms", [])
    largest = max(rooms) if rooms else None

    def check(figure: str, value: Any, shown: str, target: str, met: bool | None) -> None:
        checks.append({"figure": figure, "value": value, "shown": shown, "target": target, "met": met})

    ours = fanout_row(results, "ours", primary, largest) if primary and largest else None
    per_cpu = ours["frames_per_cpu_s"] if ours else None
    check(
        f"fan-out, room of {largest}: frames per gateway CPU-second ({primary})",
        per_cpu,
        _num(per_cpu),
        f"≥ {FANOUT_PER_CPU_TARGET:,}",
        None if per_cpu is None else per_cpu >= FANOUT_PER_CPU_TARGET,
    )
    for kind, label, goal in (
        ("stock", "stock Channels", VS_STOCK_TARGET),
        ("bare", "the bare ASGI ceiling", VS_BARE_TARGET),
    ):
        base = fanout_row(results, kind, primary, largest) if primary and largest else None
        ratio = _ratio(per_cpu, base["frames_per_cpu_s"] if base else None)
        check(
            f"… the same per CPU-second vs {label} ({primary})",
            ratio,
            f"{ratio:.2f}×" if ratio is not None else "n/a",
            f"≥ {goal:g}×",
            None if ratio is None else ratio >= goal,
        )
    reads = fanout_row(results, "ours-reads", primary, largest) if primary and largest else None
    ratio = _ratio(reads["frames_per_cpu_s"] if reads else None, per_cpu)
    check(
        f"fan-out, room of {largest}, every member reading every message (read frames paced as the browser "
        f"client sends them): per gateway CPU-second with reads ÷ without ({primary})",
        ratio,
        f"{ratio:.2f}× ({_num(reads['frames_per_cpu_s'] if reads else None)} vs {_num(per_cpu)})"
        if ratio is not None
        else "n/a",
        f"≥ {WITH_READS_TARGET:g}×",
        None if ratio is None else ratio >= WITH_READS_TARGET,
    )
    latency = results.get("latency")
    if latency:
        rate = latency["target_deliveries_per_s"]
        for q, goal in (("p50", LATENCY_P50_TARGET_MS), ("p95", None), ("p99", LATENCY_P99_TARGET_MS)):
            value = latency[f"{q}_ms"]
            check(
                f"latency {q} at {rate:,} deliveries/s (room of {latency['room_size']})",
                value,
                f"{_num(value, 1)} ms",
                f"≤ {goal:g} ms" if goal else "",
                None if goal is None or value is None or math.isnan(value) else value <= goal,
            )
    else:
        check("latency p50 / p99", None, "n/a", f"≤ {LATENCY_P50_TARGET_MS:g} / {LATENCY_P99_TARGET_MS:g} ms", None)
    sending = results.get("sending", [])
    for row in sending:
        value = row["calls_per_cpu_s"]
        check(
            f"send_message per send CPU-second, room of {row['room_size']} (at {row['rate']:g}/s)",
            value,
            _num(value),
            f"≥ {SEND_PER_CPU_TARGET}",
            value >= SEND_PER_CPU_TARGET if value else False,
        )
    if len(sending) >= 2:
        small, large = sending[0], sending[-1]
        growth = _ratio(small["calls_per_cpu_s"], large["calls_per_cpu_s"])
        check(
            f"send_message cost, room of {large['room_size']} vs {small['room_size']}",
            growth,
            f"{growth:.2f}×" if growth is not None else "n/a",
            f"≤ {SEND_GROWTH_TARGET:g}×",
            None if growth is None else growth <= SEND_GROWTH_TARGET,
        )
    bare = results.get("sending_bare")
    if bare:
        value = bare["calls_per_cpu_s"]
        check(
            f"bare Django send per CPU-second, room of {bare['room_size']} (at {bare['rate']:g}/s)",
            value,
            _num(value),
            "",
            None,
        )
        ours = next((row for row in sending if row["room_size"] == bare["room_size"]), None)
        ratio = _ratio(ours["calls_per_cpu_s"] if ours else None, value)
        check(
            f"send_message ÷ the bare Django send, per CPU-second (room of {bare['room_size']})",
            ratio,
            f"{ratio:.2f}×" if ratio is not None else "n/a",
            f"≥ {SEND_VS_BARE_DJANGO_TARGET:g}×",
            None if ratio is None else ratio >= SEND_VS_BARE_DJANGO_TARGET,
        )
    memory = results.get("memory")
    value = memory.get("kb_per_connection") if memory else None
    check(
        f"gateway RSS per idle connection ({memory['connections']:,} on one gateway)"
        if memory
        else "RSS per connection",
        value,
        f"{_num(value, 1)} KB",
        f"≤ {KB_PER_CONNECTION_TARGET:g} KB",
        None if value is None else value <= KB_PER_CONNECTION_TARGET,
    )
    failover = results.get("failover")
    if failover:
        value = failover["reconnect_p50_s"]
        check(
            f"failover: the {failover['on_killed_gateway']} clients of a SIGKILLed gateway welcomed elsewhere (median)",
            value,
            f"{_num(value, 2)} s (max {_num(failover['reconnect_max_s'], 2)} s), "
            f"{failover['clients_missing_messages']} missing messages",
            f"≤ {FAILOVER_P50_TARGET_S:g} s, 0 missing",
            value is not None
            and value <= FAILOVER_P50_TARGET_S
            and failover["clients_missing_messages"] == 0
            and failover["reconnected"] == failover["on_killed_gateway"],
        )
    stalled = results.get("stalled")
    if stalled:
        value = stalled["kb_per_stalled_socket"]
        budget_kb = stalled["budget_bytes"] / 1024
        check(
            f"stalled reader: gateway RSS per socket that stopped reading ({stalled['stalled_sockets']} sockets, "
            f"{stalled['bytes_sent_to_each'] / 2**20:.1f} MiB sent to each)",
            value,
            f"{_num(value)} KB, {stalled['cut_off']} cut off (4008)",
            f"≤ {budget_kb * 1.5:,.0f} KB (budget {budget_kb:,.0f} KB)",
            value is not None and value <= budget_kb * 1.5,
        )
    chat_list = results.get("chat_list")
    if chat_list:
        p95 = chat_list["p95_ms"]
        complete = chat_list["returned"] == chat_list["rooms"] and not chat_list["errors"]
        check(
            f"chat list: GET /api/joined_rooms for a user in {chat_list['rooms']:,} rooms "
            f"(p95 of {chat_list['requests']} requests)",
            p95,
            f"{_num(p95, 1)} ms (p50 {_num(chat_list['p50_ms'], 1)} ms), {chat_list['returned']:,} rooms listed",
            f"≤ {CHAT_LIST_TARGET_MS:g} ms, every room",
            None if p95 is None else p95 <= CHAT_LIST_TARGET_MS and complete,
        )
    else:
        check("chat list: GET /api/joined_rooms", None, "n/a", f"≤ {CHAT_LIST_TARGET_MS:g} ms, every room", None)
    storm = results.get("storm")
    if storm:
        seconds = storm["seconds"]
        check(
            f"connect storm: {storm['clients']:,} clients connected, authenticated, welcomed",
            seconds,
            f"{_num(seconds, 1)} s, {storm['failed']} failed",
            f"≤ {STORM_SECONDS_TARGET:g} s, 0 failed",
            seconds is not None and seconds <= STORM_SECONDS_TARGET and storm["failed"] == 0,
        )
    else:
        check("connect storm", None, "n/a", f"≤ {STORM_SECONDS_TARGET:g} s, 0 failed", None)
    checks.append(reconnect.target(results))
    return checks


def _met(value: bool | None) -> str:
    return {True: "yes", False: "**no**", None: ""}[value]


def markdown(results: dict[str, Any], *, plot_link: str | None = None) -> str:
    machine = results.get("machine", {})
    packages = machine.get("packages", {})
    mode = (
        "quick (`--quick`: tiny sizes, proves the harness; figures not comparable)" if results.get("quick") else "full"
    )
    code = results.get("code", {})
    modified = code.get("modified") or []
    version = f"commit {code.get('commit', '?')}" + (f" with {len(modified)} modified files" if modified else "")
    lines = [
        f"Run of {results.get('started_at', '?')} ({version}), {mode}, {results.get('duration_s', 0):.0f} s. "
        f"Machine: {machine.get('nproc', '?')} × {machine.get('cpu_model', '?')}, "
        f"{machine.get('memory_gib', '?')} GiB, "
        f"Linux {machine.get('kernel', '?')}; Python {machine.get('python', '?')}, Redis {machine.get('redis', '?')}, "
        f"PostgreSQL {machine.get('postgresql', '?')}; "
        + ", ".join(f"{name} {version}" for name, version in packages.items())
        + ".",
        "",
        "| figure | value | target | met |",
        "|---|---|---|---|",
    ]
    for item in results.get("targets", []):
        lines.append(f"| {item['figure']} | {item['shown']} | {item['target']} | {_met(item['met'])} |")
    lines += ["", _fanout_table(results)]
    reads = _reads_table(results)
    if reads:
        lines += ["", reads]
    lines += ["", _details(results)]
    if results.get("timeline"):
        lines += ["", timeline_phase.table(results["timeline"])]
    if plot_link:
        lines += ["", f"![latency distribution]({plot_link})"]
    notes = results.get("notes", [])
    if notes:
        lines += ["", "Notes (requests the servers failed under load; part of the result):", ""]
        lines += [f"- {n}" for n in notes]
    problems = results.get("problems", [])
    if problems:
        lines += ["", "Problems (the benchmark could not measure something it should have):", ""]
        lines += [f"- {p}" for p in problems]
    return "\n".join(lines).rstrip() + "\n"


def _fanout_table(results: dict[str, Any]) -> str:
    rows = results.get("fanout", [])
    servers = list(dict.fromkeys(r["server"] for r in rows))
    sizes = sorted({r["room_size"] for r in rows})
    out = [
        "Fan-out side by side (frames per CPU-second of the process that writes to the sockets: each gateway, "
        "the bare ASGI app, the stock Channels server; frames/s is the whole cluster's, load generators on the "
        "same 2 cores):",
        "",
        "| server | room | ours: frames/s | ours: per gateway CPU-s | bare ASGI: per CPU-s | stock Channels: per CPU-s "
        "| ours ÷ bare | ours ÷ stock | bare ÷ stock |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for server in servers:
        for size in sizes:
            ours = fanout_row(results, "ours", server, size)
            bare = fanout_row(results, "bare", server, size)
            stock = fanout_row(results, "stock", server, size)
            if not (ours or bare or stock):
                continue
            o = ours["frames_per_cpu_s"] if ours else None
            b = bare["frames_per_cpu_s"] if bare else None
            s = stock["frames_per_cpu_s"] if stock else None

            def r(x: float | None, y: float | None) -> str:
                value = _ratio(x, y)
                return f"{value:.2f}×" if value is not None else "n/a"

            out.append(
                f"| {server} | {size:,} | {_num(ours['frames_per_s'] if ours else None)} | {_num(o)} | {_num(b)} "
                f"| {_num(s)} | {r(o, b)} | {r(o, s)} | {r(b, s)} |"
            )
    return "\n".join(out)


def _reads_table(results: dict[str, Any]) -> str:
    """Fan-out with every member sending a `read` frame per message next to the same without."""
    rows = [r for r in results.get("fanout", []) if r["target"] in ("ours-reads", "ours-reads-each")]
    if not rows:
        return ""
    out = [
        "Read receipts (API.md §7.3): the same fan-out with every member reading every message it receives, "
        "paced as the browser client does (at most one `read` frame a second per room, with the latest seq), "
        "and, the worst case, a `read` frame per message (the gateways keep reads in memory and write them in "
        "batches; receipts are broadcast only in rooms of at most READ_RECEIPTS_MAX_MEMBERS members):",
        "",
        "| server | room | reads | without reads: frames/s | without: per gateway CPU-s | with reads: frames/s "
        "| with: per gateway CPU-s | with ÷ without | read frames sent | receipts broadcast |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for row in rows:
        plain = fanout_row(results, "ours", row["server"], row["room_size"])
        without = plain["frames_per_cpu_s"] if plain else None
        ratio = _ratio(row["frames_per_cpu_s"], without)
        out.append(
            f"| {row['server']} | {row['room_size']:,} "
            f"| {'per message' if row['target'] == 'ours-reads-each' else 'paced, 1/s per room'} "
            f"| {_num(plain['frames_per_s'] if plain else None)} "
            f"| {_num(without)} | {_num(row['frames_per_s'])} | {_num(row['frames_per_cpu_s'])} "
            f"| {f'{ratio:.2f}×' if ratio is not None else 'n/a'} | {_num(row.get('reads_sent'))} "
            f"| {'yes' if row.get('receipts_broadcast') else 'no'} |"
        )
    return "\n".join(out)


def _details(results: dict[str, Any]) -> str:
    out = ["Details:", ""]
    latency = results.get("latency")
    if latency:
        util = ", ".join(f"{k} {v:.0%}" for k, v in latency.get("gateway_utilization", {}).items())
        out.append(
            f"- latency: {latency['messages']:,} messages at {latency['messages_per_s']:g}/s into a room of "
            f"{latency['room_size']:,} online members, {latency['samples']:,} deliveries timed (of "
            f"{latency['expected_samples']:,}); mean {_num(latency['mean_ms'], 1)} ms, "
            f"max {_num(latency['max_ms'], 1)} ms; "
            f"the send_message request itself p50 {_num(latency['send_request_p50_ms'], 1)} ms, p99 "
            f"{_num(latency['send_request_p99_ms'], 1)} ms; gateway CPU use {util}."
        )
    for row in results.get("sending", []):
        out.append(
            f"- sending, room of {row['room_size']:,}: {row['calls']:,} calls at {row['rate']:g}/s, "
            f"{_num(row['cpu_ms_per_call'], 2)} ms of send-process CPU per call, request p50 "
            f"{_num(row['request_p50_ms'], 1)} ms / p99 {_num(row['request_p99_ms'], 1)} ms."
        )
    if bare := results.get("sending_bare"):
        out.append(
            f"- sending, the bare Django send (`bench/baselines/bare_django.py`: a plain async Django view in a "
            f"process of its own, same server, settings and database; JWT, seq UPDATE, insert, commit; no DRF, "
            f"no publish), room of {bare['room_size']:,}: {bare['calls']:,} calls at {bare['rate']:g}/s, "
            f"{_num(bare['cpu_ms_per_call'], 2)} ms of CPU per call, request p50 "
            f"{_num(bare['request_p50_ms'], 1)} ms / p99 {_num(bare['request_p99_ms'], 1)} ms."
        )
    for row in results.get("fanout", []):
        if row["target"] in ("ours", "ours-reads", "ours-reads-each") and row.get("send_calls_per_cpu_s"):
            reads = {
                "ours-reads": ", every member reading, paced as the browser client",
                "ours-reads-each": ", every member sending a read frame per message",
            }.get(row["target"], "")
            out.append(
                f"- fan-out, room of {row['room_size']:,} ({row['server']}{reads}): {row['triggers']:,} messages, "
                f"{row['frames']:,} frames in {row['seconds']:.1f} s; send process "
                f"{_num(row['send_calls_per_cpu_s'])} send_message per CPU-second at "
                f"{row['triggers'] / row['seconds']:.0f}/s; gateways busy "
                + ", ".join(f"{v['utilization']:.0%}" for v in row["per_process"].values())
                + f"; load generators {row['loadgen_cpu_s']:.1f} CPU-s; machine busy {row['machine_busy']:.2f} cores."
            )
    chat_list = results.get("chat_list")
    if chat_list:
        out.append(
            f"- chat list: a user in {chat_list['rooms']:,} rooms of {chat_list['messages_per_room']} messages each "
            f"({chat_list['expected_unread']:,} unread, {chat_list['expected_mentions']:,} mentioning them), "
            f"{chat_list['requests']} requests one after another after {chat_list['warmup']} warm-up: "
            f"p50 {_num(chat_list['p50_ms'], 1)} ms, p95 {_num(chat_list['p95_ms'], 1)} ms, "
            f"max {_num(chat_list['max_ms'], 1)} ms; the reply listed {chat_list['returned']:,} rooms "
            f"({chat_list['reply_kb']:,} KB), {chat_list['unread']:,} unread, {chat_list['mentions']:,} mentions."
        )
    memory_rows = []
    memory = results.get("memory")
    if memory:
        memory_rows.append(
            f"ours ({results.get('primary_server')}) {_num(memory['kb_per_connection'], 1)} KB at "
            f"{memory['connections']:,}"
        )
    for row in results.get("connection_memory", []):
        memory_rows.append(
            f"{row['target']} ({row['server']}) {_num(row['kb_per_connection'], 1)} KB at {row['connections']:,}"
        )
    if memory_rows:
        out.append("- RSS per connection (KB = 1024 bytes): " + "; ".join(memory_rows) + ".")
    storm = results.get("storm")
    if storm:
        spread = ", ".join(f"{k}: {v:,}" for k, v in storm["by_gateway"].items())
        errors = "; ".join(f"{k} ×{v}" for k, v in storm["errors"].items())
        out.append(
            f"- connect storm: each client p50 {_num(storm['connect_p50_s'], 2)} s, "
            f"p99 {_num(storm['connect_p99_s'], 2)} s; "
            f"spread {spread}"
            + (f"; failures: {errors}" if errors else "")
            + (
                "; CPU-seconds used meanwhile: " + ", ".join(f"{k} {v:g}" for k, v in storm["cpu_s"].items())
                if storm.get("cpu_s")
                else ""
            )
            + ("; its first seconds under py-spy (`--profile`)" if storm.get("profiled") else "")
            + "."
        )
    out += reconnect.details(results)
    out += profiling.details(results.get("profile", []))
    return "\n".join(out)


def readme_update(readme: Path, table: str) -> bool:
    """Replace what lies between the README's bench markers with `table`; False if no markers."""
    text = readme.read_text()
    pattern = re.compile(re.escape(README_BEGIN) + r".*?" + re.escape(README_END), re.S)
    if not pattern.search(text):
        return False
    readme.write_text(pattern.sub(lambda _m: f"{README_BEGIN}\n{table}{README_END}", text, count=1))
    return True
