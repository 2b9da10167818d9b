"""SQLite storage of every org's records, in one file in the data dir (WAL).

One row per record with its fields as JSON, plus index tables: `keys` (unique and external-id
values, normalised for case-insensitive matching) and `refs` (child -> parent references, for
cascade deletes and related lists). All writes of one API request happen in one transaction
(`Store.write()`), serialised by a process-wide lock so SQLite never answers "database is
locked" to our own threads.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS records(
  seq INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  org TEXT NOT NULL,
  sobject TEXT NOT NULL,
  data TEXT NOT NULL,
  is_deleted INTEGER NOT NULL DEFAULT 0,
  modstamp TEXT NOT NULL,
  deleted_at TEXT
);
CREATE INDEX IF NOT EXISTS rec_obj ON records(org, sobject, is_deleted, seq);
CREATE INDEX IF NOT EXISTS rec_mod ON records(org, sobject, modstamp);
CREATE INDEX IF NOT EXISTS rec_del ON records(org, sobject, deleted_at) WHERE deleted_at IS NOT NULL;
CREATE TABLE IF NOT EXISTS keys(
  org TEXT NOT NULL, sobject TEXT NOT NULL, field TEXT NOT NULL, value TEXT NOT NULL,
  id TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS keys_lookup ON keys(org, sobject, field, value);
CREATE INDEX IF NOT EXISTS keys_id ON keys(id);
CREATE TABLE IF NOT EXISTS refs(
  child_id TEXT NOT NULL, field TEXT NOT NULL, parent_id TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS refs_parent ON refs(parent_id);
CREATE INDEX IF NOT EXISTS refs_child ON refs(child_id);
CREATE TABLE IF NOT EXISTS blobs(id TEXT NOT NULL, field TEXT NOT NULL, data BLOB NOT NULL,
  PRIMARY KEY(id, field));
CREATE TABLE IF NOT EXISTS tokens(
  token TEXT PRIMARY KEY, org TEXT NOT NULL, user_id TEXT NOT NULL, kind TEXT NOT NULL,
  client_id TEXT, issued REAL NOT NULL, expires REAL, revoked INTEGER NOT NULL DEFAULT 0,
  refresh TEXT
);
CREATE INDEX IF NOT EXISTS tokens_refresh ON tokens(refresh);
CREATE TABLE IF NOT EXISTS kv(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS autonumbers(org TEXT, sobject TEXT, n INTEGER, PRIMARY KEY(org, sobject));
"""


class Store:
    def __init__(self, path: str | Path):
        self.path = str(path)
        self._local = threading.local()
        self.write_lock = threading.RLock()
        # Record-write listeners (outbound messages): objects with wants(org, sobject) and
        # written(org, sobject, old, new) called inside the writing transaction.
        self.listeners: list[Any] = []
        conn = self.conn
        conn.executescript(SCHEMA)
        row = conn.execute("SELECT value FROM kv WHERE key='seq'").fetchone()
        top = conn.execute("SELECT max(seq) FROM records").fetchone()[0] or 0
        self._seq = max(int(row[0]) if row else 0, top)

    # -- connections and transactions ---------------------------------------------------
    @property
    def conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False,
                                   timeout=30)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA temp_store=MEMORY")
            conn.execute("PRAGMA cache_size=-20000")
            self._local.conn = conn
            self._local.depth = 0
            self._local.after_commit = []
        return conn

    def after_commit(self, fn: Any) -> None:
        """Run `fn()` once the current transaction commits (dropped on rollback)."""
        if not getattr(self._local, "depth", 0):
            fn()
            return
        self._local.after_commit.append(fn)

    def _listening(self, org: str, sobject: str) -> list[Any]:
        return [ls for ls in self.listeners if ls.wants(org, sobject)] if self.listeners else []

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One transaction; nested uses join the outer one (composite = one transaction)."""
        conn = self.conn
        if self._local.depth:
            # Nested: a savepoint, so an inner failure undoes only the inner work (composite
            # subrequests, collections inside composite).
            self._local.depth += 1
            name = f"sp{self._local.depth}"
            pending = len(self._local.after_commit)
            conn.execute(f"SAVEPOINT {name}")
            try:
                yield conn
            except BaseException:
                del self._local.after_commit[pending:]
                conn.execute(f"ROLLBACK TO {name}")
                conn.execute(f"RELEASE {name}")
                raise
            else:
                conn.execute(f"RELEASE {name}")
            finally:
                self._local.depth -= 1
            return
        with self.write_lock:
            conn.execute("BEGIN IMMEDIATE")
            self._local.depth = 1
            self._local.after_commit = []
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                self._local.after_commit = []
                raise
            else:
                conn.execute("INSERT OR REPLACE INTO kv(key, value) VALUES('seq', ?)",
                             (str(self._seq),))
                conn.execute("COMMIT")
            finally:
                self._local.depth = 0
        callbacks, self._local.after_commit = self._local.after_commit, []
        for fn in callbacks:
            fn()

    class Rollback(Exception):
        """Raise inside write() to undo everything without an error escaping."""

    def next_seq(self) -> int:
        # Called only under write_lock (inside write()).
        self._seq += 1
        return self._seq

    def next_autonumber(self, org: str, sobject: str) -> int:
        conn = self.conn
        conn.execute("INSERT OR IGNORE INTO autonumbers(org, sobject, n) VALUES(?, ?, 0)",
                     (org, sobject))
        conn.execute("UPDATE autonumbers SET n = n + 1 WHERE org=? AND sobject=?", (org, sobject))
        return conn.execute("SELECT n FROM autonumbers WHERE org=? AND sobject=?",
                            (org, sobject)).fetchone()[0]

    # -- records ------------------------------------------------------------------------
    def get(self, record_id: str) -> tuple[str, str, dict[str, Any], bool] | None:
        """(org, sobject, data, is_deleted) by 18-character id."""
        row = self.conn.execute(
            "SELECT org, sobject, data, is_deleted FROM records WHERE id=?", (record_id,)
        ).fetchone()
        if row is None:
            return None
        return row[0], row[1], json.loads(row[2]), bool(row[3])

    def get_many(self, record_ids: list[str]) -> dict[str, tuple[str, str, dict[str, Any], bool]]:
        out: dict[str, tuple[str, str, dict[str, Any], bool]] = {}
        for start in range(0, len(record_ids), 500):
            chunk = record_ids[start:start + 500]
            marks = ",".join("?" * len(chunk))
            for rid, org, sobject, data, deleted in self.conn.execute(
                f"SELECT id, org, sobject, data, is_deleted FROM records WHERE id IN ({marks})",
                chunk,
            ):
                out[rid] = (org, sobject, json.loads(data), bool(deleted))
        return out

    def kinds(self, record_ids: Iterable[str]) -> dict[str, tuple[str, str, bool]]:
        """id -> (org, sobject, is_deleted) without parsing data (reference checks)."""
        wanted = list(set(record_ids))
        out: dict[str, tuple[str, str, bool]] = {}
        for start in range(0, len(wanted), 500):
            chunk = wanted[start:start + 500]
            marks = ",".join("?" * len(chunk))
            for rid, org, sobject, deleted in self.conn.execute(
                f"SELECT id, org, sobject, is_deleted FROM records WHERE id IN ({marks})", chunk
            ):
                out[rid] = (org, sobject, bool(deleted))
        return out

    def insert(self, org: str, sobject: str, seq: int, data: dict[str, Any],
               keys: list[tuple[str, str]], refs: list[tuple[str, str]]) -> None:
        rid = data["Id"]
        conn = self.conn
        conn.execute(
            "INSERT INTO records(seq, id, org, sobject, data, is_deleted, modstamp) "
            "VALUES(?, ?, ?, ?, ?, 0, ?)",
            (seq, rid, org, sobject, json.dumps(data, separators=(",", ":")),
             data["SystemModstamp"]),
        )
        if keys:
            conn.executemany("INSERT INTO keys(org, sobject, field, value, id) VALUES(?,?,?,?,?)",
                             [(org, sobject, f, v, rid) for f, v in keys])
        if refs:
            conn.executemany("INSERT INTO refs(child_id, field, parent_id) VALUES(?,?,?)",
                             [(rid, f, p) for f, p in refs])
        if self.listeners:
            for listener in self._listening(org, sobject):
                listener.written(org, sobject, None, data)

    def update(self, org: str, sobject: str, data: dict[str, Any],
               keys: list[tuple[str, str]] | None, refs: list[tuple[str, str]] | None) -> None:
        """Replace a record's data; `keys`/`refs` None means unchanged."""
        rid = data["Id"]
        conn = self.conn
        watching = self._listening(org, sobject)
        old = self.get(rid) if watching else None
        conn.execute("UPDATE records SET data=?, modstamp=? WHERE id=?",
                     (json.dumps(data, separators=(",", ":")), data["SystemModstamp"], rid))
        if keys is not None:
            conn.execute("DELETE FROM keys WHERE id=?", (rid,))
            conn.executemany("INSERT INTO keys(org, sobject, field, value, id) VALUES(?,?,?,?,?)",
                             [(org, sobject, f, v, rid) for f, v in keys])
        if refs is not None:
            conn.execute("DELETE FROM refs WHERE child_id=?", (rid,))
            conn.executemany("INSERT INTO refs(child_id, field, parent_id) VALUES(?,?,?)",
                             [(rid, f, p) for f, p in refs])
        for listener in watching:
            listener.written(org, sobject, old[2] if old else None, data)

    def mark_deleted(self, record_id: str, data: dict[str, Any], when: str) -> None:
        conn = self.conn
        conn.execute(
            "UPDATE records SET is_deleted=1, deleted_at=?, data=?, modstamp=? WHERE id=?",
            (when, json.dumps(data, separators=(",", ":")), when, record_id),
        )
        conn.execute("DELETE FROM keys WHERE id=?", (record_id,))
        conn.execute("DELETE FROM refs WHERE child_id=?", (record_id,))

    def children_of(self, parent_id: str) -> list[tuple[str, str]]:
        """(child id, field) of live records referencing `parent_id`."""
        return self.conn.execute(
            "SELECT child_id, field FROM refs WHERE parent_id=?", (parent_id,)).fetchall()

    def find_by_key(self, org: str, sobject: str, field: str, value: str) -> list[str]:
        return [r[0] for r in self.conn.execute(
            "SELECT id FROM keys WHERE org=? AND sobject=? AND field=? AND value=?",
            (org, sobject, field, value))]

    def scan(self, org: str, sobject: str, include_deleted: bool = False
             ) -> Iterator[dict[str, Any]]:
        sql = "SELECT data FROM records WHERE org=? AND sobject=?"
        if not include_deleted:
            sql += " AND is_deleted=0"
        sql += " ORDER BY seq"
        for (data,) in self.conn.execute(sql, (org, sobject)):
            yield json.loads(data)

    def count(self, org: str, sobject: str | None = None) -> int:
        if sobject is None:
            return self.conn.execute("SELECT count(*) FROM records WHERE org=? AND is_deleted=0",
                                     (org,)).fetchone()[0]
        return self.conn.execute(
            "SELECT count(*) FROM records WHERE org=? AND sobject=? AND is_deleted=0",
            (org, sobject)).fetchone()[0]

    def object_counts(self, org: str) -> dict[str, int]:
        return dict(self.conn.execute(
            "SELECT sobject, count(*) FROM records WHERE org=? AND is_deleted=0 GROUP BY sobject",
            (org,)).fetchall())

    def updated_ids(self, org: str, sobject: str, start: str, end: str) -> list[str]:
        return [r[0] for r in self.conn.execute(
            "SELECT id FROM records WHERE org=? AND sobject=? AND is_deleted=0 "
            "AND modstamp>=? AND modstamp<? ORDER BY modstamp", (org, sobject, start, end))]

    def deleted_between(self, org: str, sobject: str, start: str, end: str
                        ) -> list[tuple[str, str]]:
        return self.conn.execute(
            "SELECT id, deleted_at FROM records WHERE org=? AND sobject=? AND deleted_at IS NOT "
            "NULL AND deleted_at>=? AND deleted_at<? ORDER BY deleted_at",
            (org, sobject, start, end)).fetchall()

    def purge_deleted_before(self, cutoff: str) -> None:
        """Deleted records leave the recycle bin after 15 days (caller passes the cutoff)."""
        with self.write() as conn:
            old = [r[0] for r in conn.execute(
                "SELECT id FROM records WHERE deleted_at IS NOT NULL AND deleted_at<?", (cutoff,))]
            for start in range(0, len(old), 500):
                chunk = old[start:start + 500]
                marks = ",".join("?" * len(chunk))
                conn.execute(f"DELETE FROM records WHERE id IN ({marks})", chunk)
                conn.execute(f"DELETE FROM blobs WHERE id IN ({marks})", chunk)

    # -- blobs (VersionData, Attachment Body) -------------------------------------------
    def put_blob(self, record_id: str, field: str, data: bytes) -> None:
        self.conn.execute("INSERT OR REPLACE INTO blobs(id, field, data) VALUES(?,?,?)",
                          (record_id, field, data))

    def get_blob(self, record_id: str, field: str) -> bytes | None:
        row = self.conn.execute("SELECT data FROM blobs WHERE id=? AND field=?",
                                (record_id, field)).fetchone()
        return bytes(row[0]) if row else None

    # -- whole-org operations -----------------------------------------------------------
    def wipe_org(self, org: str) -> None:
        with self.write() as conn:
            conn.execute("DELETE FROM blobs WHERE id IN (SELECT id FROM records WHERE org=?)",
                         (org,))
            conn.execute("DELETE FROM refs WHERE child_id IN (SELECT id FROM records WHERE org=?)",
                         (org,))
            conn.execute("DELETE FROM keys WHERE org=?", (org,))
            conn.execute("DELETE FROM records WHERE org=?", (org,))
            conn.execute("DELETE FROM autonumbers WHERE org=?", (org,))

    def has_org_data(self, org: str) -> bool:
        return self.conn.execute("SELECT 1 FROM records WHERE org=? LIMIT 1",
                                 (org,)).fetchone() is not None

    # -- key/value settings -------------------------------------------------------------
    def kv_get(self, key: str, default: Any = None) -> Any:
        row = self.conn.execute("SELECT value FROM kv WHERE key=?", (key,)).fetchone()
        return json.loads(row[0]) if row else default

    def kv_set(self, key: str, value: Any) -> None:
        with self.write() as conn:
            conn.execute("INSERT OR REPLACE INTO kv(key, value) VALUES(?, ?)",
                         (key, json.dumps(value)))
