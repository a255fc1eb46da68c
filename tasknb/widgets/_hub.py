"""One source of truth per root: the panel states of one task graph refresh together.

    >>> root_key("http://127.0.0.1:8765", "DB", "SC", "nightly")
    ('http://127.0.0.1:8765', 'DB', 'SC', 'NIGHTLY')

Every :class:`tasknb.widgets._state.TaskPanelState` joins the group of its root graph (the
server, database, schema and root task) once it has loaded. After any action from any widget
of the group (taken or refused by the server) and after a followed run ends, the widget that
acted calls :func:`changed`, and every other member fetches again: a ``TaskPanel``, a
``RunExplorer`` and the drawing inside the panel show the same graph state. Members are held
weakly, so a closed or forgotten panel drops out by itself.
"""

from __future__ import annotations

import threading
import weakref
from typing import Any, Protocol

from tasknb.identifiers import name_key

RootKey = tuple[str, str, str, str]


class Member(Protocol):
    def changed_elsewhere(self) -> Any: ...


_lock = threading.Lock()
_groups: dict[RootKey, weakref.WeakSet[Any]] = {}
_keys: weakref.WeakKeyDictionary[Any, RootKey] = weakref.WeakKeyDictionary()


def root_key(base_url: str, database: str, schema: str, root: str) -> RootKey:
    """What identifies one task graph across widgets and clients."""
    return (str(base_url).rstrip("/"), name_key(database), name_key(schema), name_key(root))


def join(member: Member, key: RootKey) -> None:
    """Put ``member`` in the group of ``key`` (leaving the group it was in, if another)."""
    with _lock:
        old = _keys.get(member)
        if old == key:
            return
        if old is not None and old in _groups:
            _groups[old].discard(member)
        _groups.setdefault(key, weakref.WeakSet()).add(member)
        _keys[member] = key


def leave(member: Member) -> None:
    """Take ``member`` out of its group (a closed widget)."""
    with _lock:
        key = _keys.pop(member, None)
        if key is not None and key in _groups:
            _groups[key].discard(member)


def members(key: RootKey) -> list[Any]:
    with _lock:
        return list(_groups.get(key, ()))


def changed(source: Member) -> int:
    """``source`` acted on its graph: every other member of its group refreshes; how many."""
    with _lock:
        key = _keys.get(source)
        others = [m for m in _groups.get(key, ()) if m is not source] if key else []
    for other in others:
        other.changed_elsewhere()
    return len(others)
