"""The normalised key of a username: NFKC, then full case folding, then NFKC again (so the
key is stable under both). `straße`, `STRASSE` and `ＡＬＩＣＥ`/`alice` each share one key."""

from __future__ import annotations

import unicodedata


def username_key(username: str) -> str:
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", username).casefold())
