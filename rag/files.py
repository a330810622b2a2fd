"""The index folder's own files: SQLite connections that start anew over a damaged file, and file locks.

The catalogue and the BM25 table are SQLite files that hold nothing the Chroma store lacks, so a file that
is not a database (torn, overwritten) is removed and reopened empty; its owner refills it from the store.
"""
from __future__ import annotations

import contextlib
import fcntl
import sqlite3
from pathlib import Path
from typing import Callable


def connect(path: Path, on_damaged: Callable[[], None] = lambda: None) -> sqlite3.Connection:
    """A WAL connection to `path`. When the file is not a database, it (and its -wal and -shm) is removed,
    `on_damaged` runs, and a new empty file is opened; locked, busy or full stays an error."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        return _open(path)
    except sqlite3.DatabaseError as error:
        if isinstance(error, sqlite3.OperationalError):  # locked, busy, full: not damage
            raise
        for stale in (path, *(path.with_name(path.name + x) for x in ("-wal", "-shm"))):
            stale.unlink(missing_ok=True)
        on_damaged()
        return _open(path)


def _open(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, timeout=30, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")  # the first read: raises here when the file is not a database
    db.execute("PRAGMA synchronous=NORMAL")
    return db


@contextlib.contextmanager
def file_lock(path: Path, wait: bool = True):
    """An exclusive lock on `path` across processes. With `wait` False, yields whether the lock was free
    (and is now held) instead of waiting for it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
