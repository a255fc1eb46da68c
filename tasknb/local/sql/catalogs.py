"""The files of the engine's databases: safe names, start-up scan, migration, orphans.

    >>> database_file("SALES")
    'SALES-hf6075f134e6971c426788f06.duckdb'
    >>> len(database_file("X" * 255)) < 100
    True

Every Snowflake database is one DuckDB file. Its name is a readable prefix of the database
name and a hash of the whole name (Snowflake names run to 255 characters, more than a file
name may hold); ``<file>.name`` next to it keeps the exact name. Files of the earlier
scheme (the name hex-encoded, too long for long names) are renamed at start-up. Nothing here
deletes a file the server does not know: such files move to ``<data dir>/orphaned/``.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
from pathlib import Path

log = logging.getLogger("tasknb.local.sql")

#: Characters of the database name kept readable in its file name.
PREFIX_CHARS = 40
#: Hex digits of the name's SHA-256 in its file name.
HASH_DIGITS = 24
#: Where files of databases the server does not know are kept (inside the data directory).
ORPHANED_DIR = "orphaned"
NAME_SUFFIX = ".name"
_SIDE_FILES = (".wal", NAME_SUFFIX)
_LEGACY = re.compile(r".*-([0-9a-f]+)\.duckdb")


def _prefix(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", name)[:PREFIX_CHARS]


def database_file(name: str) -> str:
    """The file name of database ``name`` (ASCII, at most 72 bytes)."""
    digest = hashlib.sha256(name.encode("utf-8")).hexdigest()[:HASH_DIGITS]
    return f"{_prefix(name)}-h{digest}.duckdb"


def _legacy_name(file_name: str) -> str | None:
    """The database name of a file of the earlier scheme (``<prefix>-<hex of name>.duckdb``)."""
    match = _LEGACY.fullmatch(file_name)
    if not match:
        return None
    try:
        name = bytes.fromhex(match.group(1)).decode("utf-8")
    except ValueError:
        return None
    return name if file_name == f"{_prefix(name)}-{name.encode('utf-8').hex()}.duckdb" else None


def write_name(path: Path, name: str) -> None:
    """Record the exact database name next to its file (before the file is created)."""
    side = path.with_name(path.name + NAME_SUFFIX)
    side.write_text(name, encoding="utf-8")


def make_private(path: Path) -> None:
    """A database file and its name file readable by their owner only (0600), like the state."""
    for each in (path, path.with_name(path.name + NAME_SUFFIX)):
        with contextlib.suppress(FileNotFoundError):
            if each.stat().st_mode & 0o077:
                each.chmod(0o600)


def _recorded_name(path: Path) -> str | None:
    try:
        name = path.with_name(path.name + NAME_SUFFIX).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    return name if database_file(name) == path.name else None


def _move(path: Path, target: Path) -> None:
    """Move a database file and its side files (write-ahead log, name)."""
    os.replace(path, target)
    for suffix in _SIDE_FILES:
        side = path.with_name(path.name + suffix)
        if side.exists():
            os.replace(side, target.with_name(target.name + suffix))


def remove_database_file(path: Path) -> None:
    """Delete a dropped database's file and its side files (no error if absent)."""
    for suffix in ("", *_SIDE_FILES):
        try:
            os.remove(path.with_name(path.name + suffix))
        except FileNotFoundError:
            pass


def orphan(path: Path, name: str | None, orphaned: Path) -> Path:
    """Move a file the server does not know into ``orphaned`` (never over another file)."""
    orphaned.mkdir(mode=0o700, exist_ok=True)
    target = orphaned / path.name
    counter = 1
    while target.exists():
        target = orphaned / f"{path.stem}.{counter}{path.suffix}"
        counter += 1
    _move(path, target)
    log.warning(
        "the data directory held a file of database %s, which the server does not know; "
        "it was moved to %s (the server never deletes such files)",
        name if name is not None else "(unknown name)", target)
    return target


def scan(directory: Path, known: set[str] | None, orphaned: Path) -> dict[str, Path]:
    """The databases whose files are in ``directory`` (name -> file), after renaming files of
    the earlier scheme and moving the files of databases not in ``known`` (None: keep all)."""
    by_hash = {database_file(name): name for name in known or ()}
    found: dict[str, Path] = {}
    for path in sorted(directory.glob("*.duckdb")):
        legacy = _legacy_name(path.name)
        name = legacy or _recorded_name(path) or by_hash.get(path.name)
        if name is None:
            log.warning("ignoring %s in the data directory: no database name is recorded for "
                        "it", path)
            continue
        if known is not None and name not in known:
            orphan(path, name, orphaned)
            continue
        target = directory / database_file(name)
        if legacy is not None:
            if target.exists():
                orphan(path, name, orphaned)  # both schemes present: keep the newer one in use
                continue
            write_name(target, name)
            _move(path, target)
        elif not target.with_name(target.name + NAME_SUFFIX).exists():
            write_name(target, name)
        found[name] = target
    return found
