"""Where a FIX session keeps its sequence numbers and the messages it sent.

One SQLite file per session (``<data_dir>/<SenderCompID>-<TargetCompID>.fixstore``), so a
restarted process logs on with the numbers the counterparty expects and can answer its resend
requests. ``data_dir=None`` keeps everything in memory (a test venue that forgets on restart).
Each change is committed before the message it belongs to is written to the socket (WAL,
``synchronous=NORMAL``: survives a process crash; a power cut may lose the last commits, which
the counterparty's resend request then recovers).
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

from hftcore.errors import ConfigError, StoreError

_SAFE_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")


class FixSessionStore:
    """Next sequence numbers (sent and expected) and the sent messages, by sequence number."""

    def __init__(self, data_dir: str | Path | None, sender_comp_id: str, target_comp_id: str):
        for name in (sender_comp_id, target_comp_id):
            if not _SAFE_NAME.match(name):
                raise ConfigError(
                    "INVALID_COMP_ID",
                    f"CompID {name!r} must be letters, digits, '_', '.' or '-'",
                )
        if data_dir is None:
            self.path: Path | None = None
            target = ":memory:"
        else:
            directory = Path(data_dir)
            directory.mkdir(parents=True, exist_ok=True)
            self.path = directory / f"{sender_comp_id}-{target_comp_id}.fixstore"
            target = str(self.path)
        try:
            self._conn = sqlite3.connect(target, isolation_level=None)
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.execute(
                "CREATE TABLE IF NOT EXISTS seqnums (id INTEGER PRIMARY KEY CHECK (id = 0),"
                " next_sender INTEGER NOT NULL, next_target INTEGER NOT NULL)"
            )
            self._conn.execute(
                "CREATE TABLE IF NOT EXISTS sent (seq INTEGER PRIMARY KEY, raw BLOB NOT NULL)"
            )
            self._conn.execute("INSERT OR IGNORE INTO seqnums VALUES (0, 1, 1)")
            row = self._conn.execute(
                "SELECT next_sender, next_target FROM seqnums WHERE id = 0"
            ).fetchone()
        except sqlite3.Error as error:
            raise StoreError("STORE_UNAVAILABLE", f"FIX store {target}: {error}") from None
        self._next_sender, self._next_target = int(row[0]), int(row[1])

    @property
    def next_sender_seq(self) -> int:
        """MsgSeqNum of the next message we send."""
        return self._next_sender

    @property
    def next_target_seq(self) -> int:
        """MsgSeqNum we expect next from the counterparty."""
        return self._next_target

    def record_sent(self, seq: int, raw: bytes) -> None:
        """Keeps a sent message for resends; the next sender number becomes ``seq + 1``."""
        with self._transaction():
            self._conn.execute("INSERT OR REPLACE INTO sent VALUES (?, ?)", (seq, raw))
            self._conn.execute("UPDATE seqnums SET next_sender = ? WHERE id = 0", (seq + 1,))
        self._next_sender = seq + 1

    def set_next_target_seq(self, seq: int) -> None:
        with self._transaction():
            self._conn.execute("UPDATE seqnums SET next_target = ? WHERE id = 0", (seq,))
        self._next_target = seq

    def set_next_sender_seq(self, seq: int) -> None:
        """For an operator's SequenceReset: the next message we send gets ``seq``."""
        with self._transaction():
            self._conn.execute("UPDATE seqnums SET next_sender = ? WHERE id = 0", (seq,))
        self._next_sender = seq

    def sent_messages(self, begin: int, end: int) -> dict[int, bytes]:
        """The kept messages with ``begin <= seq <= end``."""
        rows = self._conn.execute(
            "SELECT seq, raw FROM sent WHERE seq BETWEEN ? AND ?", (begin, end)
        ).fetchall()
        return {int(seq): bytes(raw) for seq, raw in rows}

    def reset(self) -> None:
        """Both numbers back to 1 and the sent messages forgotten (a logon with
        ResetSeqNumFlag, the start of a new FIX session day)."""
        with self._transaction():
            self._conn.execute("DELETE FROM sent")
            self._conn.execute("UPDATE seqnums SET next_sender = 1, next_target = 1 WHERE id = 0")
        self._next_sender = self._next_target = 1

    def close(self) -> None:
        self._conn.close()

    def _transaction(self) -> _Transaction:
        return _Transaction(self._conn)


class _Transaction:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def __enter__(self) -> None:
        try:
            self._conn.execute("BEGIN")
        except sqlite3.Error as error:
            raise StoreError("STORE_UNAVAILABLE", f"FIX store: {error}") from None

    def __exit__(self, kind: object, error: object, trace: object) -> None:
        if kind is None:
            self._conn.execute("COMMIT")
        else:
            self._conn.execute("ROLLBACK")


__all__ = ["FixSessionStore"]
