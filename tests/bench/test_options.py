"""The benchmark's options and where it keeps its data."""

from __future__ import annotations

import pytest

from bench.options import bench_database_url, bench_redis_url, parse


def test_defaults_are_the_issue_sizes():
    options = parse([])
    assert options.rooms == [10, 100, 1000]
    assert options.latency_rate == 2000
    assert options.send_rooms == [10, 1000]
    assert (options.connections, options.storm) == (5000, 5000)
    assert options.database_name == "chat_bench"
    assert options.fan_users == 1000
    assert (options.chat_list_rooms, options.reads) == (1000, True)
    assert options.reconnect_clients == 5000


def test_quick_uses_tiny_sizes_and_its_own_database_and_explicit_options_win():
    options = parse(["--quick", "--rooms", "20,5,5", "--workers", "3"])
    assert options.quick
    assert options.rooms == [5, 20]
    assert options.workers == 3
    assert options.connections == 200
    assert options.database_name == "chat_bench_quick"
    assert options.reconnect_clients == 200
    assert (options.chat_list_rooms, options.reads) == (100, True)


def test_the_chat_list_and_the_reads_run_can_be_sized_or_skipped():
    options = parse(["--quick", "--chat-list-rooms", "0", "--no-reads"])
    assert (options.chat_list_rooms, options.reads) == (0, False)


@pytest.mark.parametrize(
    "argv",
    [
        ["--rooms", "ten"],
        ["--rooms", "0,10"],
        ["--workers", "0"],
        ["--storm", "0"],
        ["--chat-list-rooms", "-1"],
        ["--reconnect-clients", "-1"],
    ],
)
def test_bad_options_are_refused(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        parse(argv)
    assert exit_info.value.code == 2
    assert "error" in capsys.readouterr().err


def test_the_database_is_always_its_own_on_the_configured_server(monkeypatch):
    monkeypatch.delenv("BENCH_DATABASE_URL", raising=False)
    monkeypatch.setenv("DATABASE_URL", "postgres://ci:pw@db.example:5433/test?sslmode=disable")
    assert bench_database_url("chat_bench") == "postgres://ci:pw@db.example:5433/chat_bench?sslmode=disable"
    monkeypatch.setenv("DATABASE_URL", "sqlite:///db.sqlite3")
    assert bench_database_url("chat_bench") == "postgres://postgres@127.0.0.1:5432/chat_bench"
    monkeypatch.setenv("BENCH_DATABASE_URL", "postgres://other@10.0.0.1/mine")
    assert bench_database_url("chat_bench") == "postgres://other@10.0.0.1/mine"


def test_redis_uses_db_9_of_the_configured_server(monkeypatch):
    monkeypatch.delenv("BENCH_REDIS_URL", raising=False)
    monkeypatch.setenv("REDIS_URL", "redis://cache.example:6380/0")
    assert bench_redis_url() == "redis://cache.example:6380/9"
    monkeypatch.delenv("REDIS_URL")
    assert bench_redis_url() == "redis://127.0.0.1:6379/9"
    monkeypatch.setenv("BENCH_REDIS_URL", "redis://elsewhere:1/3")
    assert bench_redis_url() == "redis://elsewhere:1/3"


def test_only_picks_phases_and_every_phase_runs_without_it():
    assert parse([]).only is None
    assert all(parse([]).wants(phase) for phase in ("storm", "faults", "baselines"))
    assert parse(["--only", "reconnect"]).only == {"reconnect"}
    options = parse(["--only", "storm, sending"])
    assert options.only == {"storm", "sending"}
    assert options.wants("storm") and options.wants("sending")
    assert not options.wants("fanout") and not options.wants("faults")


@pytest.mark.parametrize("argv", [["--only", "stom"], ["--only", ","]])
def test_unknown_or_no_phases_are_refused(argv, capsys):
    with pytest.raises(SystemExit):
        parse(argv)
    assert "phases" in capsys.readouterr().err
