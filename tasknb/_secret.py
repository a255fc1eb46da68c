"""A string that never shows itself: ``Secret``.

    >>> s = Secret("pat-123")
    >>> s, str(s), s.reveal()
    (Secret('***'), '***', 'pat-123')

Used for tokens, passwords and passphrases everywhere they are stored, so that a repr, a
log line or an f-string cannot leak them by accident. ``reveal()`` is the only way out.
"""

from __future__ import annotations

__all__ = ["MASK", "Secret", "reveal"]

MASK = "***"


class Secret:
    """Holds a secret string; repr/str/format print ``***``."""

    __slots__ = ("_value",)

    def __init__(self, value: str | Secret) -> None:
        if isinstance(value, Secret):
            value = value.reveal()
        if not isinstance(value, str):
            raise TypeError(f"a secret must be a string, got {type(value).__name__}")
        object.__setattr__(self, "_value", value)

    def reveal(self) -> str:
        """The secret text itself: only for putting it on the wire."""
        return self._value

    def __repr__(self) -> str:
        return f"Secret({MASK!r})"

    def __str__(self) -> str:
        return MASK

    def __format__(self, spec: str) -> str:
        return MASK

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Secret):
            return self._value == other._value
        return NotImplemented

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Secret is immutable")

    def __reduce__(self) -> tuple[type[Secret], tuple[str]]:
        return (Secret, (self._value,))


def reveal(value: str | Secret | None) -> str | None:
    """The text of a secret or plain string (``None`` stays ``None``)."""
    if value is None:
        return None
    return value.reveal() if isinstance(value, Secret) else value
