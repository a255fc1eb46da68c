"""``paused_gc``: Python's cyclic garbage collector paused while a listing's rows are built.

    >>> import gc
    >>> with paused_gc():
    ...     gc.isenabled()
    False
    >>> gc.isenabled()
    True

Decoding 20,000 rows allocates ~100,000 containers, and every 700 of them start a collection
that walks the young objects, and every few thousand one that walks all of them: ~25% of
building a listing's rows and frame. The rows hold no reference cycles, so nothing is
collected later than it would be. Nested and concurrent uses (``tasks_df`` lists schemas on
several threads) share one count: the collector runs again when the last one ends, and
stays off if it was off before the first.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_depth = 0
_was_enabled = False


@contextmanager
def paused_gc() -> Iterator[None]:
    """The cyclic GC off inside the block (reference counting frees objects as ever)."""
    global _depth, _was_enabled
    with _lock:
        if _depth == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _was_enabled:
                gc.enable()
