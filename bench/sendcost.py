"""`python -m bench.sendcost`: what one `POST /api/chat/send_message` costs the server's CPU,
into a room of 10 and a room of 1,000 members.

Standalone (it shares no code with `bench.run`):

- drops and re-creates its own PostgreSQL database (`chat_sendcost` on the server of
  `DATABASE_URL`, or `SENDCOST_DATABASE_URL`, a full URL) and migrates it;
- writes the users and the two rooms straight into it with the ORM. Every member is online:
  each holds a route (`UserConnection`) on one of two gateway records that the script keeps
  alive, so each message is routed and published to two gateway channels on Redis, as in a
  cluster. Nobody reads those channels; a prefix of the run's own keeps them apart, and the
  channel layer's expiry removes them;
- starts one process, `manage.py serve --server uvicorn` (production-like: DJANGO_DEBUG=0,
  PostgreSQL, the Redis channel layer, background tasks on), logs the sender in over HTTP,
  warms up, then sends `--messages` messages into each room from `--clients` threads, each
  with its own keep-alive connection;
- starts a second, identical process serving the bare Django send too (settings
  `bench.baselines.bare_django_settings`, `bench/baselines/bare_django.py`: a plain async view
  that authenticates the same JWT, takes the seq, inserts the row and commits; no DRF, no
  publish) and sends as many into the room of 10 there;
- reports calls per CPU-second of each server (user + system of the process and its children,
  read with psutil before and after each batch; `--rounds` batches per run, taking turns), the
  cost ratio of the two rooms, and ours ÷ bare Django.

`--profile DIR` then runs py-spy on the server during one more pass per room (not part of
the figures): the raw stacks go to DIR, and the heaviest functions (own time, and time
inside, in percent of samples) are printed.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import secrets
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from bench.baselines import BARE_SEND_PATH
from bench.procs import PYTHON, REPO, ServerProcess, database_recreate, start_server
from bench.profiling import py_spy_top

PASSWORD = "sendcost-password-123"
GATEWAYS = ("sendcost-gw-a", "sendcost-gw-b")


def database_url() -> str:
    explicit = os.environ.get("SENDCOST_DATABASE_URL")
    if explicit:
        return explicit
    base = os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/postgres"
    parts = urlsplit(base)
    return urlunsplit((parts.scheme, parts.netloc, "/chat_sendcost", parts.query, ""))


def server_env(*, db_url: str, redis_url: str, prefix: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST_", "CHAT_", "GATEWAY_"))}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "chatproject.settings",
            "DJANGO_DEBUG": "0",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(48),
            "INTERNAL_API_TOKEN": secrets.token_urlsafe(24),
            "DATABASE_URL": db_url,
            "REDIS_URL": redis_url,
            "CHANNEL_LAYER_PREFIX": prefix,
            "CACHE_KEY_PREFIX": f"{prefix}-cache",
            "CHAT_BACKGROUND_TASKS": "1",
            "PYTHONUNBUFFERED": "1",
            "PYTHONPATH": str(REPO),
        }
    )
    return env


def fixtures_create(*, room_sizes: list[int]) -> dict[int, int]:
    """The sender (a plain member of every room) and the other members; every member online on
    one of the two gateway records. Returns room size → room id."""
    from django.contrib.auth.hashers import make_password
    from django.db import transaction
    from django.utils import timezone

    from meta.models import Membership, Role, Room, User
    from registry.models import GatewayInstance, UserConnection

    now = timezone.now()
    with transaction.atomic():
        sender = User.objects.create_user(username="sendcost-sender", password=PASSWORD)
        owner_count = max(room_sizes) - 1
        hashed = make_password(PASSWORD)
        others = User.objects.bulk_create(
            [User(username=f"sendcost-{n}", password=hashed) for n in range(owner_count)], batch_size=2000
        )
        for gateway_id in GATEWAYS:
            GatewayInstance.objects.create(
                gateway_id=gateway_id,
                address="127.0.0.1",
                port=9,
                registered_at=now,
                last_heartbeat=now,
                ws_url="ws://127.0.0.1:9/api/ws",
                capacity=100_000,
            )
        everyone = [sender.pk] + [u.pk for u in others]
        UserConnection.objects.bulk_create(
            [
                UserConnection(user_id=uid, gateway_id=GATEWAYS[n % 2], connection_id=f"c{uid}", connected_at=now)
                for n, uid in enumerate(everyone)
            ],
            batch_size=2000,
        )
        rooms = {}
        for size in room_sizes:
            room = Room.objects.create(name=f"sendcost {size}", is_group=True, creator_id=others[0].pk)
            members = [Membership(room=room, user_id=others[0].pk, role=Role.OWNER)]
            members += [Membership(room=room, user_id=u.pk, role=Role.MEMBER) for u in others[1 : size - 1]]
            members.append(Membership(room=room, user_id=sender.pk, role=Role.MEMBER))
            Membership.objects.bulk_create(members, batch_size=2000)
            rooms[size] = room.pk
    return rooms


def gateways_keep_alive(stop: threading.Event) -> None:
    from django.db import close_old_connections
    from django.utils import timezone

    from registry.models import GatewayInstance

    while not stop.wait(5.0):
        GatewayInstance.objects.filter(pk__in=GATEWAYS).update(last_heartbeat=timezone.now())
    close_old_connections()


def call(conn: http.client.HTTPConnection, path: str, body: dict, token: str | None = None) -> dict:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    conn.request("POST", path, body=json.dumps(body), headers=headers)
    reply = conn.getresponse()
    data = json.loads(reply.read() or b"null")
    if reply.status != 200:
        raise RuntimeError(f"{path}: {reply.status} {data}")
    return data


SEND_PATH = "/api/chat/send_message"
BARE_PATH = "/" + BARE_SEND_PATH


def send_many(
    *, port: int, token: str, room_id: int, count: int, clients: int, tag: str, path: str = SEND_PATH
) -> float:
    """`count` sends to `path` (send_message, or the bare Django baseline's) from `clients`
    threads (keep-alive); the wall time they took."""
    errors: list[BaseException] = []
    share = [count // clients + (1 if n < count % clients else 0) for n in range(clients)]

    def worker(n: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            for i in range(share[n]):
                body = {
                    "room_id": room_id,
                    "content": {"type": "text", "text": f"message {i} of client {n}: the quick brown fox"},
                    "client_msg_id": f"{tag}-{n}-{i}",
                }
                call(conn, path, body, token)
        except BaseException as error:
            errors.append(error)
        finally:
            conn.close()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(clients)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise SystemExit(f"send_message failed: {errors[0]!r}")
    return time.monotonic() - started


SERVE_ARGV = [PYTHON, "manage.py", "serve", "--port", "0", "--server", "uvicorn"]


def login(port: int) -> str:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        return call(conn, "/login", {"username": "sendcost-sender", "password": PASSWORD})["data"]["token"]
    finally:
        conn.close()


def measure(server: ServerProcess, *, path: str, count: int, **send: Any) -> tuple[float, float, float]:
    """`count` sends to `path` on `server`: the server's CPU seconds they cost, of it system
    time, and the wall time they took."""
    user0, system0 = server.cpu_split()
    wall = send_many(port=server.port, path=path, count=count, **send)
    user1, system1 = server.cpu_split()
    return user1 - user0 + system1 - system0, system1 - system0, wall


def figures(count: int, cpu: float, system: float, wall: float) -> dict[str, float]:
    return {
        "messages": count,
        "cpu_s": round(cpu, 3),
        "wall_s": round(wall, 3),
        "calls_per_cpu_s": round(count / cpu, 1),
        "cpu_ms_per_call": round(cpu / count * 1000, 3),
        "system_share": round(system / cpu, 3),
        "calls_per_s": round(count / wall, 1),
    }


def profiled(server: ServerProcess, raw: Path, **send: Any) -> str | None:
    """py-spy on `server` (samples of the thread running Python) while `send_many(**send)`
    runs; the heaviest functions, or None when py-spy wrote nothing."""
    py_spy = Path(PYTHON).parent / "py-spy"
    spy_argv = [str(py_spy), "record", "--pid", str(server.pid), "--rate", "250", "--gil"]
    spy_argv += ["--nonblocking", "--format", "raw", "--output", str(raw)]
    spy = subprocess.Popen(spy_argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    time.sleep(1.5)
    send_many(port=server.port, **send)
    spy.send_signal(signal.SIGINT)
    _, err = spy.communicate(timeout=60)
    if not raw.exists():
        print(f"py-spy wrote nothing: {err.decode(errors='replace')[-500:]}", flush=True)
        return None
    return py_spy_top(raw)


def report(results: dict[str, dict[str, float]], *, sizes: list[int], messages: int, clients: int) -> None:
    """Print the figures, and add the ratios to `results`."""
    print()
    print(f"send_message and the bare Django send, {messages} each, {clients} client threads, uvicorn processes")
    print(f"{'':>12} {'calls/CPU-s':>12} {'CPU ms/call':>12} {'of it system':>13} {'calls/s':>9}")
    for label in [str(size) for size in sizes] + ["bare"]:
        r = results[label]
        name = f"room {label}" if label.isdigit() else "bare Django"
        print(
            f"{name:>12} {r['calls_per_cpu_s']:>12,.1f} {r['cpu_ms_per_call']:>12.3f}"
            f" {r['system_share']:>13.0%} {r['calls_per_s']:>9,.1f}"
        )
    ratios: dict[str, float] = {}
    if len(sizes) >= 2:
        ratio = results[str(sizes[-1])]["cpu_s"] / results[str(sizes[0])]["cpu_s"]
        ratios["cost_largest_vs_smallest"] = round(ratio, 3)
        print(f"cost, room of {sizes[-1]} vs room of {sizes[0]}: {ratio:.2f}x")
    ours_vs_bare = results[str(sizes[0])]["calls_per_cpu_s"] / results["bare"]["calls_per_cpu_s"]
    ratios["ours_vs_bare"] = round(ours_vs_bare, 3)
    print(f"ours (room of {sizes[0]}) ÷ bare Django, calls per CPU-second: {ours_vs_bare:.2f}x")
    results["ratio"] = ratios


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.sendcost", description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=1500, help="measured sends per room (default 1500)")
    parser.add_argument("--warmup", type=int, default=150, help="unmeasured sends per room first (default 150)")
    parser.add_argument(
        "--rounds", type=int, default=3, help="measure in this many turns of every run, summed (default 3)"
    )
    parser.add_argument("--clients", type=int, default=4, help="concurrent client threads (default 4)")
    parser.add_argument("--rooms", default="10,1000", help="room sizes (default 10,1000)")
    parser.add_argument("--profile", metavar="DIR", help="then profile the server with py-spy, stacks into DIR")
    parser.add_argument("--profile-messages", type=int, default=1500, help="sends per room under py-spy")
    parser.add_argument("--json", metavar="FILE", help="also write the figures to FILE")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.rooms.split(",")]

    db_url = database_url()
    redis_url = os.environ.get("SENDCOST_REDIS_URL") or os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/9"
    prefix = f"sendcost{int(time.time())}{secrets.token_hex(2)}"
    env = server_env(db_url=db_url, redis_url=redis_url, prefix=prefix)
    log_dir = Path(tempfile.mkdtemp(prefix="sendcost-"))

    print(f"database {db_url}: re-creating and migrating", flush=True)
    database_recreate(db_url)
    migrate_env = {**env, "CHAT_BACKGROUND_TASKS": "0"}
    done = subprocess.run(
        [PYTHON, "manage.py", "migrate", "--noinput"], cwd=REPO, env=migrate_env, capture_output=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"migrate failed:\n{done.stdout.decode()[-2000:]}{done.stderr.decode()[-2000:]}")

    # This process writes the fixtures with the server's own models (no channel layer, no tasks).
    os.environ.update({k: v for k, v in migrate_env.items() if k != "REDIS_URL"})
    os.environ.pop("REDIS_URL", None)
    import django

    django.setup()
    rooms = fixtures_create(room_sizes=sizes)
    stop_beats = threading.Event()
    beats = threading.Thread(target=gateways_keep_alive, args=(stop_beats,), daemon=True)
    beats.start()

    ours = start_server(name="server", argv=SERVE_ARGV, env=env, log_dir=log_dir)
    bare_env = {**env, "DJANGO_SETTINGS_MODULE": "bench.baselines.bare_django_settings"}
    try:
        bare = start_server(name="bare-django", argv=SERVE_ARGV, env=bare_env, log_dir=log_dir)
    except BaseException:
        ours.stop()
        raise
    results: dict[str, dict[str, float]] = {}
    profiles: dict[str, str] = {}
    try:
        token = login(ours.port)
        print(f"server pid {ours.pid} on port {ours.port}; log {ours.log_path}", flush=True)
        print(f"bare Django pid {bare.pid} on port {bare.port}; log {bare.log_path}", flush=True)
        # The bare baseline does the same work whatever the room's size: one room is enough.
        runs = [(str(size), ours, SEND_PATH, rooms[size]) for size in sizes]
        runs.append(("bare", bare, BARE_PATH, rooms[sizes[0]]))
        for label, server, path, room_id in runs:
            send_many(
                port=server.port,
                token=token,
                room_id=room_id,
                count=args.warmup,
                clients=args.clients,
                tag=f"w{label}",
                path=path,
            )
        time.sleep(1.0)
        # Rounds take turns, so a change in how busy the machine is shows in every figure alike.
        sums = {label: [0.0, 0.0, 0.0] for label, *_ in runs}
        for n in range(args.rounds):
            count = args.messages // args.rounds + (1 if n < args.messages % args.rounds else 0)
            for label, server, path, room_id in runs:
                spent = measure(
                    server,
                    path=path,
                    token=token,
                    room_id=room_id,
                    count=count,
                    clients=args.clients,
                    tag=f"m{n}-{label}",
                )
                sums[label] = [a + b for a, b in zip(sums[label], spent, strict=True)]
        for label, (cpu, system, wall) in sums.items():
            results[label] = figures(args.messages, cpu, system, wall)
        if args.profile:
            out_dir = Path(args.profile)
            out_dir.mkdir(parents=True, exist_ok=True)
            for label, server, path, room_id in runs:
                raw = out_dir / f"sendcost-{'room' if label.isdigit() else ''}{label}.txt"
                text = profiled(
                    server,
                    raw,
                    path=path,
                    token=token,
                    room_id=room_id,
                    count=args.profile_messages,
                    clients=args.clients,
                    tag=f"p{label}",
                )
                if text is not None:
                    profiles[label] = text
    finally:
        ours.stop()
        bare.stop()
        stop_beats.set()

    report(results, sizes=sizes, messages=args.messages, clients=args.clients)
    for label, text in profiles.items():
        name = f"room of {label}" if label.isdigit() else "the bare Django baseline"
        print(f"\nprofile, {name}:\n{text}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
