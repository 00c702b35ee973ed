"""The hub: the sockets this process holds, by user (`gateway.hub`)."""

from __future__ import annotations

from dataclasses import dataclass

from gateway.hub import Hub


@dataclass(eq=False)
class Sock:
    user_id: int
    connection_id: str


def test_sockets_are_kept_per_user_in_the_order_they_came_and_counted():
    hub = Hub()
    phone, laptop, other = Sock(1, "a"), Sock(1, "b"), Sock(2, "c")
    assert [hub.add(phone), hub.add(laptop), hub.add(other)] == [1, 2, 1]
    assert hub.sockets_of(1) == (phone, laptop)
    assert hub.sockets_of(3) == ()
    assert (hub.connection_count(), hub.user_count()) == (3, 2)
    assert hub.add(phone) == 2 and hub.add(Sock(1, "a")) == 2  # a connection id is there once
    assert hub.connection_count() == 3
    assert sorted(s.connection_id for s in hub.all_sockets()) == ["a", "b", "c"]


def test_only_the_very_socket_is_removed_and_a_user_without_sockets_is_gone():
    hub = Hub()
    phone, laptop = Sock(1, "a"), Sock(1, "b")
    hub.add(phone)
    hub.add(laptop)
    assert hub.remove(Sock(1, "a")) == 2  # another object with the same id: not this hub's socket
    assert hub.remove(phone) == 1 and hub.sockets_of(1) == (laptop,)
    assert hub.remove(phone) == 1  # twice: nothing more
    assert hub.remove(laptop) == 0
    assert not hub.has_user(1) and hub.sockets_of(1) == ()
    assert (hub.connection_count(), hub.user_count()) == (0, 0)
    assert hub.remove(Sock(9, "z")) == 0
