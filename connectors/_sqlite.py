"""One SQLite transaction helper for the stores that keep state in SQLite (local CRM, push journal, shadow store)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["transaction"]


@contextmanager
def transaction(conn: sqlite3.Connection, immediate: bool = True) -> Iterator[sqlite3.Cursor]:
    """A transaction on an autocommit connection (isolation_level=None): committed when the block ends,
    rolled back on any exception; with `immediate` it holds the write lock from its start."""
    cur = conn.cursor()
    try:
        cur.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")
        try:
            yield cur
        except BaseException:
            cur.execute("ROLLBACK")
            raise
        cur.execute("COMMIT")
    finally:
        cur.close()
