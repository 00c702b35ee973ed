"""The benchmark's users and rooms, written once before any server starts (bench/fixtures.py):
who connects in each phase and which rooms they talk in."""

from __future__ import annotations

from dataclasses import dataclass

from bench import fixtures
from bench.fixtures import BenchUser, ChatList
from bench.options import Options

WARM_SOCKETS = 20  # sockets opened before a memory measurement, so start-up allocations are not counted
RECONNECT_ROOM_SIZE = 50  # members of each room of the reconnect storm


@dataclass
class Population:
    fan: list[BenchUser]  # members of every measured room, online during fan-out
    mem: list[BenchUser]  # idle sockets of the memory phase
    storm: list[BenchUser]  # the connect storm
    rooms: dict[int, int]  # size → room id (members: the first `size` fan users)
    stalled: list[BenchUser]  # the fault phases: sockets that stop reading (the first sends)
    stalled_room: int
    failover: list[BenchUser]  # clients of the failover phase (the first sends)
    failover_room: int
    chat_list: ChatList | None  # a user in many rooms, for GET /api/joined_rooms (never connects)
    reconnect: dict[int, list[BenchUser]]  # the reconnect storm: room id → its members (the first sends)


def population_create(options: Options) -> Population:
    fan = fixtures.users_create(prefix="fan", count=options.fan_users)
    mem = fixtures.users_create(prefix="mem", count=options.connections + WARM_SOCKETS)
    storm = fixtures.users_create(prefix="storm", count=options.storm)
    sizes = sorted({*options.rooms, *options.send_rooms, options.latency_room})
    rooms = {size: fixtures.room_create(name=f"bench-{size}", member_ids=[u.id for u in fan[:size]]) for size in sizes}
    fixtures.rooms_idle_create(name="idle-mem", member_ids=[u.id for u in mem])
    fixtures.rooms_idle_create(name="idle-storm", member_ids=[u.id for u in storm])
    stalled = fixtures.users_create(prefix="stall", count=options.stalled + 1)
    failover = fixtures.users_create(prefix="failover", count=options.failover_clients + 1)
    roamers = fixtures.users_create(prefix="roam", count=options.reconnect_clients if options.wants("reconnect") else 0)
    reconnect = {}
    for start in range(0, len(roamers), RECONNECT_ROOM_SIZE):
        members = roamers[start : start + RECONNECT_ROOM_SIZE]
        reconnect[fixtures.room_create(name=f"bench-roam-{start}", member_ids=[u.id for u in members])] = members
    return Population(
        fan=fan,
        mem=mem,
        storm=storm,
        rooms=rooms,
        stalled=stalled,
        stalled_room=fixtures.room_create(name="bench-stalled", member_ids=[u.id for u in stalled]),
        failover=failover,
        failover_room=fixtures.room_create(name="bench-failover", member_ids=[u.id for u in failover]),
        chat_list=fixtures.chat_list_create(rooms=options.chat_list_rooms) if options.chat_list_rooms else None,
        reconnect=reconnect,
    )
