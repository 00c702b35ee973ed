"""The database breaker (chatproject.postgres.breaker) in process: what opens it, what it
answers while open, how it probes and heals; and the 503 the API makes of its refusal."""

from __future__ import annotations

import threading
import time

import psycopg
import psycopg_pool
import pytest
from django.db import DEFAULT_DB_ALIAS, OperationalError, connection, connections

from chatproject.exception_handler import exception_to_reply
from chatproject.postgres.base import database_breaker
from chatproject.postgres.breaker import ConnectionBreaker, DatabaseUnavailable, is_outage

REFUSED = psycopg.OperationalError('connection failed: connection to server at "127.0.0.1", port 1 failed: refused')


class FakeDatabase:
    """The probe's view of the server: down until `up` is set; counts what the breaker did."""

    def __init__(self, *, up: bool = False) -> None:
        self.up = up
        self.probes = 0
        self.opened = 0
        self.healed = threading.Event()

    def probe(self) -> None:
        self.probes += 1
        if not self.up:
            raise REFUSED

    def on_open(self) -> None:
        self.opened += 1

    def on_healthy(self) -> None:
        self.healed.set()


@pytest.fixture
def database():
    return FakeDatabase()


@pytest.fixture
def breaker(database):
    breaker = ConnectionBreaker(
        name="test",
        probe=database.probe,
        probe_seconds=0.05,
        on_open=database.on_open,
        on_healthy=database.on_healthy,
    )
    yield breaker
    breaker.stop()


def test_an_unreachable_server_is_an_outage_a_refusing_or_busy_one_is_not():
    assert is_outage(REFUSED)
    assert is_outage(psycopg.OperationalError("connection timeout expired"))
    assert is_outage(psycopg.errors.CannotConnectNow("the database system is starting up"))
    assert is_outage(psycopg.errors.AdminShutdown("terminating connection due to administrator command"))
    # A server that answers and refuses: its error reaches the caller, every time.
    assert not is_outage(psycopg.errors.InvalidPassword("password authentication failed"))
    assert not is_outage(psycopg.errors.TooManyConnections("sorry, too many clients already"))
    # A busy pool is waited for (DB_POOL_TIMEOUT_SECONDS), not an outage.
    assert not is_outage(psycopg_pool.PoolTimeout("couldn't get a connection after 10.00 sec"))
    assert not is_outage(psycopg_pool.TooManyRequests("too many requests waiting"))
    assert not is_outage(ValueError("no"))


def test_an_outage_opens_it_and_every_check_fails_at_once(breaker, database, caplog):
    breaker.check()  # closed: returns
    breaker.connect_failed(REFUSED)
    assert breaker.is_open
    started = time.monotonic()
    for _ in range(100):
        with pytest.raises(DatabaseUnavailable, match="the database is unreachable"):
            breaker.check()
    assert time.monotonic() - started < 0.1
    assert "the database is unreachable (connection failed" in caplog.text
    time.sleep(0.3)
    # The pool was dropped once; the server is tried every probe_seconds meanwhile.
    assert database.opened == 1
    assert 3 <= database.probes <= 10


def test_it_closes_at_the_first_probe_that_connects(breaker, database, caplog):
    breaker.connect_failed(REFUSED)
    time.sleep(0.2)
    database.up = True
    back = time.monotonic()
    assert database.healed.wait(timeout=2)
    assert time.monotonic() - back < 0.2  # within one probe period
    assert not breaker.is_open
    breaker.check()
    assert "the database answers again after" in caplog.text


def test_a_refusing_or_busy_database_does_not_open_it(breaker, database):
    breaker.connect_failed(psycopg.errors.TooManyConnections("sorry, too many clients already"))
    breaker.connect_failed(psycopg_pool.PoolTimeout("couldn't get a connection after 10.00 sec"))
    assert not breaker.is_open
    assert database.probes == 0


def test_a_lost_connection_probes_at_once(breaker, database):
    database.up = True
    breaker.connection_lost()
    # The server answers: never opened, and the pool is told to replace its broken connections.
    assert database.healed.wait(timeout=2)
    assert (database.probes, database.opened, breaker.is_open) == (1, 0, False)

    database.up = False
    database.healed.clear()
    breaker.connection_lost()
    deadline = time.monotonic() + 2
    while not breaker.is_open and time.monotonic() < deadline:
        time.sleep(0.01)
    assert breaker.is_open  # the probe failed: an outage
    database.up = True
    assert database.healed.wait(timeout=2)
    assert not breaker.is_open and database.opened == 1


def test_a_lost_connection_on_a_refusing_server_does_not_open_it(breaker, database):
    def refusing() -> None:
        database.probes += 1
        raise psycopg.errors.TooManyConnections("sorry, too many clients already")

    breaker._probe = refusing
    breaker.connection_lost()
    time.sleep(0.2)
    assert (database.probes, breaker.is_open) == (1, False)


def test_an_outage_while_it_heals_is_not_lost(breaker, database):
    """Opening again as the prober ends starts a new prober: the breaker never stays open unwatched."""
    database.up = True
    for _ in range(20):
        breaker.connection_lost()
        breaker.connect_failed(REFUSED)
    assert database.healed.wait(timeout=2)
    deadline = time.monotonic() + 2
    while breaker.is_open and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not breaker.is_open


def test_its_refusal_is_a_503_in_the_envelope_with_retry_after():
    try:
        try:
            raise DatabaseUnavailable("the database is unreachable (refused); not waiting for a connection")
        except DatabaseUnavailable as cause:
            raise OperationalError(str(cause)) from cause
    except OperationalError as error:
        status, body, headers = exception_to_reply(error)
    assert status == 503
    assert body["msg"].startswith("the database is unavailable, try again later (error id ")
    assert set(body) == {"code", "msg"} and "refused" not in body["msg"]
    assert headers == {"Retry-After": "1"}


# --- The backend (PostgreSQL only) -----------------------------------------------------------

postgresql_only = pytest.mark.skipif(
    "connection.vendor != 'postgresql'", reason="the breaker is in the PostgreSQL backend (DATABASE_URL)"
)


@postgresql_only
def test_the_pool_makes_its_connections_through_the_breaker():
    assert connection.settings_dict["ENGINE"] == "chatproject.postgres"
    assert connection.breaker is database_breaker(DEFAULT_DB_ALIAS)
    assert connection.pool.connection_class.__name__ == "WatchedConnection"
    assert connection.settings_dict["OPTIONS"]["connect_timeout"] == 2


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_with_the_breaker_open_a_request_is_a_503_at_once(make_user, client_for, monkeypatch):
    api = client_for(make_user())
    assert api.get("/api/joined_rooms").status_code == 200

    def refused() -> None:
        raise REFUSED

    down = ConnectionBreaker(name="down", probe=refused, probe_seconds=60)
    try:
        down.connect_failed(REFUSED)
        connection.close()
        monkeypatch.setattr(connections[DEFAULT_DB_ALIAS], "breaker", down)  # this thread's wrapper
        started = time.monotonic()
        response = api.get("/api/joined_rooms")
        assert time.monotonic() - started < 0.5
        assert response.status_code == 503
        assert response["Retry-After"] == "1"
        assert response.json()["msg"].startswith("the database is unavailable, try again later (error id ")
    finally:
        monkeypatch.undo()
        down.stop()
    assert api.get("/api/joined_rooms").status_code == 200
