"""The data directory and its state file on disk: kept private, and never replaced on a guess.

    >>> import tempfile
    >>> data_dir = Path(tempfile.mkdtemp()) / "data"
    >>> state = prepare(data_dir)
    >>> state.name, oct(data_dir.stat().st_mode & 0o777), oct(state.stat().st_mode & 0o777)
    ('tasknb-local.sqlite3', '0o700', '0o600')

:func:`prepare` creates the directory (0700) and an empty state file (0600) before SQLite opens
it, tightens the files of an existing one, and raises
:class:`~tasknb.local.errors.StartupError` (one line naming the file and what to do) when the
state file is missing or empty while database files remain beside it: starting empty would
forget their tables, and the engine would set their files aside as unknown. :func:`unreadable`
words the refusal of a state file SQLite cannot read.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

from tasknb.local.errors import StartupError

STATE_FILE = "tasknb-local.sqlite3"
STATE_SIDE_FILES = ("-wal", "-shm")  # SQLite's write-ahead log and its index
DATABASE_FILES = "*.duckdb.databases/*.duckdb"  # one DuckDB file per database (the SQL engine)
PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600

log = logging.getLogger("tasknb.local")


def prepare(data_dir: str | Path) -> Path:
    """Make ``data_dir`` private, check its state file and return that file's path."""
    directory = Path(data_dir)
    make_private_dir(directory)
    state = directory / STATE_FILE
    databases = database_files(directory)
    if databases and (not state.exists() or state.stat().st_size == 0):
        what = "is missing" if not state.exists() else "is empty (0 bytes)"
        raise StartupError(
            f"The state file {state} {what} but {len(databases)} database file(s) remain in "
            f"{databases[0].parent}: starting would forget their tables. Restore the state "
            f"file from a backup, or move {databases[0].parent} aside to start empty.")
    if not state.exists():
        os.close(os.open(state, os.O_CREAT | os.O_WRONLY, PRIVATE_FILE_MODE))
    for path in (state, *(state.with_name(state.name + s) for s in STATE_SIDE_FILES)):
        _make_private_file(path)
    return state


def unreadable(state: Path, reason: object) -> StartupError:
    """The refusal of a state file that cannot be read (damaged, or not a tasknb state file)."""
    databases = database_files(state.parent)
    aside = f"it and {databases[0].parent}" if databases else "it"
    return StartupError(f"The state file {state} cannot be read ({reason}); it is damaged or "
                        f"not a tasknb state file. Restore it from a backup, or move {aside} "
                        "aside to start empty.")


def database_files(data_dir: Path) -> list[Path]:
    """The SQL engine's database files in a data directory (sorted)."""
    return sorted(data_dir.glob(DATABASE_FILES))


def make_private_dir(directory: Path) -> None:
    """Create ``directory`` 0700, or tighten an existing tasknb data directory; warn otherwise."""
    if not directory.exists():
        directory.mkdir(parents=True, mode=PRIVATE_DIR_MODE)
        os.chmod(directory, PRIVATE_DIR_MODE)  # whatever the umask
        return
    mode = stat.S_IMODE(directory.stat().st_mode)
    if not mode & 0o077:
        return
    ours = (directory / STATE_FILE).exists() or all(
        p.name.startswith(".") for p in directory.iterdir())
    if ours:
        os.chmod(directory, PRIVATE_DIR_MODE)
        log.info("data directory %s tightened from %o to %o", directory, mode, PRIVATE_DIR_MODE)
    else:
        log.warning("The data directory %s can be read by other users (mode %o) and holds your "
                    "tasks and tables; make it private with: chmod 700 %s", directory, mode,
                    directory)


def _make_private_file(path: Path) -> None:
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return
    if mode & 0o077:
        os.chmod(path, PRIVATE_FILE_MODE)
