"""The benchmark's options: sizes and durations, the full defaults (the issue's sizes, a few
minutes on a 2-core machine) and `--quick` (tiny sizes: proves every phase works, for CI)."""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

RESULTS_DIR = Path(__file__).resolve().parent / "results"
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/chat_bench"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/9"
BENCH_REDIS_DB = 9


@dataclass
class Options:
    quick: bool = False
    rooms: list[int] = field(default_factory=lambda: [10, 100, 1000])  # fan-out room sizes (all online)
    fanout_seconds: float = 8.0
    concurrency: int = 8  # send_message requests in flight while driving fan-out
    latency_rate: int = 2000  # deliveries per second
    latency_room: int = 100
    latency_seconds: float = 20.0
    send_rooms: list[int] = field(default_factory=lambda: [10, 1000])
    send_rate: float = 25.0  # messages per second (capped by what the gateways can fan out)
    send_seconds: float = 10.0
    connections: int = 5000  # idle sockets on one gateway (memory)
    storm: int = 5000  # clients connecting at once
    stalled: int = 20  # sockets that stop reading (the fault phases)
    stalled_messages: int = 400  # 4 KB messages into their room
    failover_clients: int = 200  # clients of the failover phase
    reconnect_clients: int = 5000  # the reconnect storm: clients on two gateways, one killed; 0: skip
    chat_list_rooms: int = 1000  # rooms of the chat list's user (GET /api/joined_rooms); 0: no chat list phase
    reads: bool = True  # fan-out into the largest room once more, every member sending read frames
    workers: int = 4
    servers: list[str] | None = None  # None: every server `manage.py serve --server` offers
    baselines: bool = True
    acks: bool = False
    profile: bool = False
    profile_seconds: float = 10.0
    drain_timeout: float = 60.0
    database_name: str = "chat_bench"
    results_dir: Path = RESULTS_DIR
    update_readme: bool = False
    keep_logs: bool = False
    only: frozenset[str] | None = None  # None: every phase; else just these (PHASES), for working on one

    def wants(self, phase: str) -> bool:
        return self.only is None or phase in self.only

    @property
    def fan_users(self) -> int:
        return max([*self.rooms, *self.send_rooms, self.latency_room])


QUICK = {
    "rooms": [10, 50],
    "fanout_seconds": 2.0,
    "concurrency": 4,
    "latency_rate": 500,
    "latency_room": 50,
    "latency_seconds": 3.0,
    "send_rooms": [10, 50],
    "send_rate": 20.0,
    "send_seconds": 3.0,
    "connections": 200,
    "storm": 200,
    "stalled": 3,
    "stalled_messages": 400,
    "failover_clients": 20,
    "reconnect_clients": 200,
    "chat_list_rooms": 100,
    "workers": 2,
    "profile_seconds": 3.0,
    "drain_timeout": 30.0,
    "database_name": "chat_bench_quick",
}


# The phases `--only` can pick. The fan-out phases (fanout, reads, latency, sending, timeline,
# chatlist, profile) share the room members' sockets; `--only` still builds the whole population.
PHASES = (
    "memory",
    "storm",
    "fanout",
    "reads",
    "latency",
    "sending",
    "timeline",
    "chatlist",
    "profile",
    "faults",
    "reconnect",
    "baselines",
)
FAN_PHASES = frozenset({"fanout", "reads", "latency", "sending", "timeline", "chatlist", "profile"})


def _phases(text: str) -> frozenset[str]:
    names = frozenset(_names(text))
    unknown = sorted(names - set(PHASES))
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"unknown phases {unknown}; choose from {', '.join(PHASES)}")
    return names


def _sizes(text: str) -> list[int]:
    try:
        sizes = sorted({int(part) for part in text.split(",") if part.strip()})
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated room sizes, got {text!r}") from None
    if not sizes or sizes[0] < 1:
        raise argparse.ArgumentTypeError("room sizes must be positive")
    return sizes


def _names(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def parse(argv: list[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(
        prog="python -m bench.run",
        description="Benchmark delivery of the chat backend: fan-out, latency, sending, memory, connect storm, "
        "side by side with a bare ASGI app and the stock Channels pattern.",
    )
    parser.add_argument("--quick", action="store_true", help="tiny sizes: prove every phase works (CI)")
    parser.add_argument("--rooms", type=_sizes, help="fan-out room sizes (default 10,100,1000)")
    parser.add_argument("--seconds", type=float, dest="fanout_seconds", help="sending time per fan-out measurement")
    parser.add_argument("--concurrency", type=int, help="send_message requests in flight during fan-out")
    parser.add_argument("--latency-rate", type=int, help="deliveries per second of the latency phase (2000)")
    parser.add_argument("--latency-room", type=int, help="room size of the latency phase (100)")
    parser.add_argument("--latency-seconds", type=float, help="length of the latency phase")
    parser.add_argument("--send-rooms", type=_sizes, help="room sizes of the sending phase (10,1000)")
    parser.add_argument("--send-rate", type=float, help="messages per second of the sending phase (25)")
    parser.add_argument("--send-seconds", type=float, help="length of each sending measurement")
    parser.add_argument("--connections", type=int, help="idle sockets on one gateway for the memory figure (5000)")
    parser.add_argument("--storm", type=int, help="clients of the connect storm (5000)")
    parser.add_argument("--stalled", type=int, help="sockets that stop reading in the fault phases (20)")
    parser.add_argument("--failover-clients", type=int, help="clients of the failover phase (200)")
    parser.add_argument(
        "--reconnect-clients",
        type=int,
        help="clients of the reconnect storm, about half on the killed gateway (5000; 0: skip)",
    )
    parser.add_argument("--chat-list-rooms", type=int, help="rooms of the chat list's user (1000; 0: skip)")
    parser.add_argument(
        "--no-reads", dest="reads", action="store_false", default=None, help="skip the fan-out with read frames"
    )
    parser.add_argument("--workers", type=int, help="load-generator processes (4)")
    parser.add_argument("--servers", type=_names, help="ASGI servers to run the gateways on, first = all phases")
    parser.add_argument("--no-baselines", dest="baselines", action="store_false", default=None)
    parser.add_argument("--acks", action="store_true", default=None, help="clients confirm with ack frames (1/s)")
    parser.add_argument("--profile", action="store_true", default=None, help="py-spy a gateway during fan-out")
    parser.add_argument("--database-name", help="PostgreSQL database the run drops and creates (chat_bench)")
    parser.add_argument("--results-dir", type=Path)
    parser.add_argument("--update-readme", action="store_true", default=None, help="write the table into README.md")
    parser.add_argument(
        "--only",
        type=_phases,
        help=f"run just these phases, comma-separated ({', '.join(PHASES)}); the rest are left out of the table",
    )
    parser.add_argument("--keep-logs", action="store_true", default=None, help="keep the servers' logs")
    args = parser.parse_args(argv)
    options = Options(quick=args.quick)
    if args.quick:
        for name, value in QUICK.items():
            setattr(options, name, value)
    for name, value in vars(args).items():
        if name != "quick" and value is not None:
            setattr(options, name, value)
    if options.workers < 1 or options.concurrency < 1:
        parser.error("--workers and --concurrency must be at least 1")
    if min(options.connections, options.storm) < 1:
        parser.error("--connections and --storm must be at least 1")
    if options.chat_list_rooms < 0:
        parser.error("--chat-list-rooms must be at least 0")
    if options.reconnect_clients < 0:
        parser.error("--reconnect-clients must be at least 0")
    return options


def bench_database_url(database_name: str) -> str:
    """BENCH_DATABASE_URL as given; otherwise the server and credentials of DATABASE_URL (when it
    is PostgreSQL) or of the default, with the database name replaced by `database_name`: the
    harness drops and re-creates that database, so it never takes a name it was not given."""
    explicit = os.environ.get("BENCH_DATABASE_URL", "").strip()
    if explicit:
        return explicit
    base = os.environ.get("DATABASE_URL", "").strip()
    if not base.startswith(("postgres://", "postgresql://")):
        base = DEFAULT_DATABASE_URL
    parts = urlsplit(base)
    return urlunsplit((parts.scheme, parts.netloc, f"/{database_name}", parts.query, ""))


def bench_redis_url() -> str:
    """BENCH_REDIS_URL as given; otherwise REDIS_URL's server (or the default) on db 9."""
    explicit = os.environ.get("BENCH_REDIS_URL", "").strip()
    if explicit:
        return explicit
    base = os.environ.get("REDIS_URL", "").strip() or DEFAULT_REDIS_URL
    parts = urlsplit(base)
    return urlunsplit((parts.scheme, parts.netloc, f"/{BENCH_REDIS_DB}", "", ""))
