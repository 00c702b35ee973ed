"""Which attachments messages refer to: a port the message store above fills in.

The attachments app sits below `send` and never imports it; `send` installs a finder when
Django starts (`send.apps`), as the registry installs the directory. Without one installed,
`attachments_cleanup` deletes nothing: it cannot tell an orphan from a file in use.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import datetime

# finder(keys=..., since=...) -> the keys among `keys` that a message stored since `since`
# refers to (a message cannot refer to a file uploaded after it).
Finder = Callable[..., set[str]]

_finder: Finder | None = None


class NoFinder(RuntimeError):
    pass


def install(finder: Finder) -> None:
    global _finder
    _finder = finder


def referenced_keys(*, keys: Collection[str], since: datetime) -> set[str]:
    """The keys among `keys` that some message refers to. Raises NoFinder when no message
    store installed its finder."""
    if _finder is None:
        raise NoFinder("no message store installed a finder of attachment references")
    return _finder(keys=keys, since=since) & set(keys)
