"""`text_frame`: the bytes the uvicorn protocol writes for a chat frame are exactly the frame the
websockets library would build for it (RFC 6455: unmasked, FIN, opcode 1), at every length
boundary, and a text handed again (the same object, as a fan-out does) is framed once."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest
from websockets.frames import Frame, Opcode
from websockets.protocol import State

from runtime.servers import uvicorn_protocols
from runtime.servers.uvicorn_protocols import FRAMES_HELD, FRAMES_HELD_BYTES, ChatWebSocketProtocol, text_frame


def _reference(text: str) -> bytes:
    return Frame(Opcode.TEXT, text.encode()).serialize(mask=False, extensions=[])


@pytest.mark.parametrize("size", [0, 1, 125, 126, 127, 65535, 65536, 200_000])
def test_the_frame_is_the_libraries_at_every_length_boundary(size):
    text = "a" * size
    assert text_frame(text) == _reference(text)


def test_text_is_encoded_as_utf8_and_its_byte_length_is_the_length():
    text = "Grüße ✓ 🎉 " * 20  # 125 characters are more than 125 bytes
    assert text_frame(text) == _reference(text)


def test_the_same_text_is_framed_once_and_an_equal_text_gives_equal_bytes():
    text = "".join(["hello ", "world"])
    first = text_frame(text)
    assert text_frame(text) is first
    other = "".join(["hello ", "world"])  # equal, another object: framed again, the same bytes
    assert other is not text
    assert text_frame(other) == first


def test_two_texts_alternating_are_both_remembered_and_a_third_does_not_confuse_them():
    shown, hidden, third = "x" * 10, "y" * 20, "z" * 30
    frames = [text_frame(t) for t in (shown, hidden, shown, hidden)]
    assert frames[0] is frames[2] and frames[1] is frames[3]
    assert text_frame(third) == _reference(third)
    assert text_frame(shown) == _reference(shown) and text_frame(hidden) == _reference(hidden)


def test_a_batch_of_texts_is_framed_once_each_and_the_memo_stays_bounded():
    batch = [f"presence {n}" for n in range(10)]
    first = [text_frame(t) for t in batch]
    assert all(text_frame(t) is f for t, f in zip(batch, first, strict=True))  # one socket after another
    for n in range(FRAMES_HELD * 3):
        text_frame(f"other {n}")
    assert len(uvicorn_protocols._frames) <= FRAMES_HELD
    big = "b" * (FRAMES_HELD_BYTES // 3)
    for _ in range(5):
        assert text_frame("".join([big])) == _reference(big)
    assert sum(len(frame) for _t, frame in uvicorn_protocols._frames.values()) <= FRAMES_HELD_BYTES


class _Transport:
    def __init__(self) -> None:
        self.written: list[bytes] = []
        self.closing = False

    def write(self, data: bytes) -> None:
        self.written.append(data)

    def is_closing(self) -> bool:
        return self.closing


def _open_protocol() -> tuple[ChatWebSocketProtocol, _Transport]:
    """The protocol's state once a socket is open, without a server around it."""
    protocol = ChatWebSocketProtocol.__new__(ChatWebSocketProtocol)
    transport = _Transport()
    writable = asyncio.Event()
    writable.set()
    conn = SimpleNamespace(state=State.OPEN, extensions=[], expect_continuation_frame=False)
    protocol.__dict__.update(
        transport=transport,
        writable=writable,
        handshake_complete=True,
        conn=conn,
        disconnected=False,
        close_sent=False,
        initial_response=None,
    )
    return protocol, transport


def test_several_texts_are_one_write_of_their_frames_in_order_or_nothing():
    protocol, transport = _open_protocol()
    texts = ["a" * 10, "Grüße ✓", "b" * 300]
    assert protocol.write_texts_now(texts)
    assert transport.written == [b"".join(_reference(t) for t in texts)]
    protocol.writable.clear()  # the client is not reading
    assert not protocol.write_texts_now(texts) and not protocol.write_text_now(texts[0])
    protocol.writable.set()
    transport.closing = True
    assert not protocol.write_texts_now(texts)
    assert len(transport.written) == 1
