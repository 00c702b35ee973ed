"""Usernames as API.md §9 wants them compared (Unicode TS #39, data of `ts39_data`):

- `username_key`: NFKC, then full case folding, then NFKC again. Uniqueness and login compare
  keys: `straße`/`STRASSE` and `ＡＬＩＣＥ`/`alice` each share one.
- `highly_restrictive`: TS #39 §5.2's "highly restrictive" level: the resolved script set of
  the name is not empty (one script), or the name is covered by Latin with Han and Hiragana
  and Katakana, Han and Bopomofo, or Han and Hangul. `pаypal` (Cyrillic а) is neither.
- `username_skeleton`: TS #39 §4's skeleton of the NFKC form (NFD, each character replaced by
  its confusable prototype, NFD again): two names with one skeleton look alike.
"""

from __future__ import annotations

import bisect
import unicodedata
from functools import lru_cache

from meta.usernames import ts39_data

# Longest key or skeleton stored (a few characters expand to up to 18 under NFKC).
MAX_NORMALISED_LENGTH = 200

_STARTS = ts39_data.SCRIPT_RANGES[0::3]
_ENDS = ts39_data.SCRIPT_RANGES[1::3]
_SETS = ts39_data.SCRIPT_RANGES[2::3]
_SCRIPT_SETS = tuple(frozenset(names.split()) for names in ts39_data.SCRIPT_SETS)
_CONFUSABLES = {
    chr(code): "".join(chr(int(h, 16)) for h in target.split()) for code, target in ts39_data.CONFUSABLES_HEX.items()
}
# TS #39 §5.1: Han goes with the CJK writing systems that use it.
_AUGMENT = {"Hani": {"Hanb", "Jpan", "Kore"}, "Hira": {"Jpan"}, "Kana": {"Jpan"}, "Hang": {"Kore"}, "Bopo": {"Hanb"}}
_HIGHLY_RESTRICTIVE_COVERS = (
    frozenset({"Latn", "Hani", "Hira", "Kana", "Jpan", "Hanb"}),
    frozenset({"Latn", "Hani", "Bopo", "Hanb"}),
    frozenset({"Latn", "Hani", "Hang", "Kore", "Hanb"}),
)
_UNKNOWN = frozenset({"Zzzz"})


def username_key(username: str) -> str:
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", username).casefold())


@lru_cache(maxsize=4096)
def _augmented_scripts(char: str) -> frozenset[str] | None:
    """The character's augmented script set; None for Common and Inherited (any script)."""
    code = ord(char)
    at = bisect.bisect_right(_STARTS, code) - 1
    if at >= 0 and _STARTS[at] <= code <= _ENDS[at]:
        scripts = set(_SCRIPT_SETS[_SETS[at]])
        for script in list(scripts):
            scripts |= _AUGMENT.get(script, set())
        return frozenset(scripts)
    if unicodedata.category(char) == "Cn":
        return _UNKNOWN  # unassigned: no script
    return None


def highly_restrictive(username: str) -> bool:
    """TS #39's "highly restrictive" restriction level (§5.2)."""
    sets = [scripts for char in username if (scripts := _augmented_scripts(char)) is not None]
    if any(scripts == _UNKNOWN for scripts in sets):
        return False
    resolved: set[str] | None = None
    for scripts in sets:
        resolved = set(scripts) if resolved is None else resolved & scripts
    if resolved is None or resolved:
        return True  # no script-specific character, or a single script
    return any(all(scripts & cover for scripts in sets) for cover in _HIGHLY_RESTRICTIVE_COVERS)


def username_skeleton(username: str) -> str:
    """The TS #39 confusable skeleton of the name in NFKC, case kept: `I0I` looks like `l0l`
    (case variants are one name already, by `username_key`)."""
    decomposed = unicodedata.normalize("NFD", unicodedata.normalize("NFKC", username))
    return unicodedata.normalize("NFD", "".join(_CONFUSABLES.get(char, char) for char in decomposed))
