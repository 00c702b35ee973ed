"""The cluster's checks of its backing services, in process: what they accept, the one line
they refuse with, and the PostgreSQL database they create when the server lacks it."""

from __future__ import annotations

import uuid

import psycopg
import pytest
from django.core.management.base import CommandError
from django.db import connection

from runtime.backing import database_check, redis_check
from tests.cluster.conftest import free_port


def refusal(check, **kwargs) -> str:
    with pytest.raises(CommandError) as caught:
        check(**kwargs)
    assert caught.value.returncode == 2
    return str(caught.value)


def test_urls_the_cluster_cannot_use_are_refused_with_the_reason(tmp_path):
    assert refusal(database_check, url="mysql://root@127.0.0.1/chat") == (
        "DATABASE_URL names django.db.backends.mysql; a cluster runs on PostgreSQL (or SQLite to try it out)"
    )
    assert refusal(database_check, url="nonsense").startswith("DATABASE_URL is not a database URL: Scheme '://'")
    assert refusal(database_check, url="sqlite://:memory:") == (
        "DATABASE_URL names an in-memory SQLite database; the processes need one file to share"
    )
    missing = tmp_path / "missing"
    assert refusal(database_check, url=f"sqlite:///{missing}/db.sqlite3") == (
        f"cannot open SQLite database {missing}/db.sqlite3 (DATABASE_URL): directory {missing} is missing"
    )
    assert refusal(redis_check, url="http://127.0.0.1:6379/0") == (
        "REDIS_URL is not a Redis URL: Redis URL must specify one of the following schemes (redis://, rediss://, unix://)"
    )
    port = free_port()
    assert refusal(redis_check, url=f"redis://127.0.0.1:{port}/0", timeout=1) == (
        f"cannot reach Redis at 127.0.0.1:{port} (REDIS_URL): connection refused"
    )


def test_a_sqlite_file_is_accepted_to_try_the_cluster_out(tmp_path):
    assert database_check(url=f"sqlite:///{tmp_path}/db.sqlite3") == (
        f"SQLite database {tmp_path}/db.sqlite3 (to try the cluster out; five processes share one file: use PostgreSQL)"
    )


@pytest.mark.django_db
def test_a_missing_postgresql_database_is_created(settings):
    if connection.vendor != "postgresql":
        pytest.skip("needs the PostgreSQL server of DATABASE_URL")
    db = connection.settings_dict
    name = f"cluster_check_{uuid.uuid4().hex[:8]}"
    user = db.get("USER") or ""
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    host, port = db.get("HOST") or "127.0.0.1", db.get("PORT") or "5432"
    url = f"postgres://{user}{password}@{host}:{port}/{name}"
    try:
        assert database_check(url=url) == f'PostgreSQL database "{name}" at {host}:{port} (created now)'
        assert database_check(url=url) == f'PostgreSQL database "{name}" at {host}:{port}'
    finally:
        with psycopg.connect(
            host=host,
            port=port,
            user=user or None,
            password=db.get("PASSWORD") or None,
            dbname="postgres",
            autocommit=True,
        ) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
    assert refusal(database_check, url=f"postgres://no_such_role_{name}@{host}:{port}/{name}") == (
        f'PostgreSQL at {host}:{port} refused the login (DATABASE_URL): role "no_such_role_{name}" does not exist'
    )
