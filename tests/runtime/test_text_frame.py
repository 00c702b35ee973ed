"""`text_frame`: the bytes the uvicorn protocol writes for a chat frame are exactly the frame the
websockets library would build for it (RFC 6455: unmasked, FIN, opcode 1), at every length
boundary, and a text handed again (the same object, as a fan-out does) is framed once."""

from __future__ import annotations

import pytest
from websockets.frames import Frame, Opcode

from runtime.servers.uvicorn_protocols import text_frame


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
