"""The results store: one SQLite file (stdlib ``sqlite3``, WAL journal), safe against kills and concurrent runs.

Tables: ``runs`` (every invocation: suite config, package version, git revision, machine, backend,
start and end), ``cells`` (one row per cell: its full JSON config, status, lease, seeds, timings,
training facts) and ``episodes`` (one row per evaluation episode of a finished cell).

Why it survives anything:

* A finished cell is written in **one transaction**: its episodes and its ``done`` status commit
  together or not at all, so a kill at any instant leaves either the whole cell or none of it.
* Cells are **claimed with a lease** in a ``BEGIN IMMEDIATE`` transaction (one writer at a time): a
  claimed cell is ``running`` with an owner and an expiry that the owner's heartbeat extends. Another
  run skips it; it becomes claimable again when the lease expires or, on the same host, as soon as
  the owner's process is gone (a SIGKILLed sweep restarted at once does not wait for the expiry).
  ``finish`` only commits while the caller still owns the lease, so no cell is ever stored twice.
* A file that is not a store of this version raises a ``ValueError`` saying so.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import time
import uuid
from collections.abc import Iterable
from contextlib import contextmanager
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 1
STORE_FILE = "results.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY, suite TEXT NOT NULL, suite_config TEXT NOT NULL, version TEXT NOT NULL,
    git TEXT NOT NULL, machine TEXT NOT NULL, backend TEXT NOT NULL, workers INTEGER NOT NULL,
    seeds INTEGER NOT NULL, host TEXT NOT NULL, pid INTEGER NOT NULL, started REAL NOT NULL, finished REAL);
CREATE TABLE IF NOT EXISTS cells (
    key TEXT PRIMARY KEY, suite TEXT NOT NULL, agent TEXT NOT NULL, env TEXT NOT NULL, train_variant TEXT,
    seed INTEGER NOT NULL, train_seed INTEGER NOT NULL, fingerprint TEXT NOT NULL, config TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'running', 'done', 'failed')),
    owner TEXT, lease_until REAL, attempts INTEGER NOT NULL DEFAULT 0, run_id INTEGER,
    train TEXT, error TEXT, train_seconds REAL, eval_seconds REAL, started REAL, finished REAL, worker TEXT);
CREATE TABLE IF NOT EXISTS episodes (
    cell TEXT NOT NULL REFERENCES cells(key), variant TEXT NOT NULL, type TEXT NOT NULL, idx INTEGER NOT NULL,
    seed INTEGER NOT NULL, ret REAL NOT NULL, length INTEGER NOT NULL, cost REAL NOT NULL, crash INTEGER NOT NULL,
    terminated INTEGER NOT NULL, events TEXT NOT NULL, PRIMARY KEY (cell, variant, idx));
"""


def new_owner() -> str:
    """A lease owner id: host, process id and a random part (``host:pid:hex``)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _owner_is_dead(owner: str | None) -> bool:
    """True when ``owner`` is a process of this host that no longer exists (its lease can be taken at once)."""
    if not owner:
        return True
    host, _, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    try:  # a zombie (killed, not yet reaped) holds no lease either
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return False


class Store:
    """The SQLite results store at ``path`` (a file, or a directory holding ``results.sqlite``)."""

    def __init__(self, path: str | os.PathLike, *, create: bool = True) -> None:
        path = Path(path)
        if path.is_dir() or (not path.suffix and not path.exists()):
            path = path / STORE_FILE
        self.path = path
        if not path.exists() and not create:
            raise ValueError(f"store: got {str(path)!r}; allowed: a results folder written by `stori-envs bench run`")
        path.parent.mkdir(parents=True, exist_ok=True)
        self.conn = sqlite3.connect(path, timeout=60.0, isolation_level=None, check_same_thread=False)
        try:
            self.conn.execute("PRAGMA busy_timeout = 60000")
            self.conn.execute("PRAGMA journal_mode = WAL")
            self.conn.execute("PRAGMA synchronous = NORMAL")
            check = self.conn.execute("PRAGMA quick_check").fetchone()[0]
            if check != "ok":
                raise sqlite3.DatabaseError(check)
            with self.transaction():
                for statement in filter(str.strip, _SCHEMA.split(";")):
                    self.conn.execute(statement)
                row = self.conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
                if row is None:
                    self.conn.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
                elif row[0] != str(SCHEMA_VERSION):
                    raise ValueError(f"{path}: schema_version: got {row[0]}; allowed: {SCHEMA_VERSION} "
                                     "(a store of another version: use another --out)")
        except sqlite3.DatabaseError as exc:
            self.conn.close()
            raise ValueError(f"{path}: not a readable results store ({exc}); allowed: a SQLite file written by "
                             "`stori-envs bench run` (move the damaged file away, or use another --out)") from None

    def close(self) -> None:
        self.conn.close()

    @contextmanager
    def transaction(self, immediate: bool = True):
        """``BEGIN IMMEDIATE`` ... ``COMMIT`` (rollback on error): one writer, all or nothing."""
        self.conn.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    # -- runs -------------------------------------------------------------------------------------
    def begin_run(self, suite_config: dict[str, Any], *, version: str, git: str, machine: str, backend: str,
                  workers: int, seeds: int) -> int:
        with self.transaction() as c:
            cur = c.execute("INSERT INTO runs (suite, suite_config, version, git, machine, backend, workers, seeds,"
                            " host, pid, started) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                            (suite_config["name"], json.dumps(suite_config, sort_keys=True), version, git, machine,
                             backend, workers, seeds, socket.gethostname(), os.getpid(), time.time()))
            return int(cur.lastrowid)

    def end_run(self, run_id: int) -> None:
        with self.transaction() as c:
            c.execute("UPDATE runs SET finished = ? WHERE id = ?", (time.time(), run_id))

    def runs(self) -> list[dict[str, Any]]:
        cur = self.conn.execute("SELECT * FROM runs ORDER BY id")
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row)) for row in cur.fetchall()]

    # -- cells ------------------------------------------------------------------------------------
    def register(self, cells: Iterable[dict[str, Any]], fingerprints: Iterable[str]) -> None:
        """Insert the cells not yet stored; a stored cell with another config is an error (not a silent mix)."""
        with self.transaction() as c:
            for cell, fp in zip(cells, fingerprints):
                row = c.execute("SELECT fingerprint, status FROM cells WHERE key = ?", (cell["key"],)).fetchone()
                if row is None:
                    c.execute("INSERT INTO cells (key, suite, agent, env, train_variant, seed, train_seed, fingerprint,"
                              " config, status) VALUES (?,?,?,?,?,?,?,?,?, 'pending')",
                              (cell["key"], cell["suite"], cell["agent"]["label"], cell["env"]["name"],
                               (cell["train_variant"] or {}).get("name"), cell["seed"], cell["train_seed"], fp,
                               json.dumps(cell, sort_keys=True)))
                elif row[0] != fp:
                    raise ValueError(f"{self.path}: cell {cell['key']!r}: got a suite whose config differs from the "
                                     "stored one; allowed: the same suite as before, or another --out")
                elif row[1] == "failed":  # a new run retries what failed before
                    c.execute("UPDATE cells SET status = 'pending', owner = NULL, lease_until = NULL WHERE key = ?",
                              (cell["key"],))

    def claim(self, owner: str, keys: list[str], limit: int, lease: float) -> list[dict[str, Any]]:
        """Take up to ``limit`` claimable cells among ``keys`` for ``owner`` (see the module docstring)."""
        now = time.time()
        with self.transaction() as c:
            rows = c.execute("SELECT key, status, owner, lease_until, config FROM cells WHERE status IN "
                             "('pending', 'running')").fetchall()
            order = {k: i for i, k in enumerate(keys)}
            taken = []
            for key, status, holder, until, config in sorted((r for r in rows if r[0] in order),
                                                             key=lambda r: order[r[0]]):
                if len(taken) >= limit:
                    break
                if status == "running" and holder != owner and until is not None and until > now \
                        and not _owner_is_dead(holder):
                    continue
                if status == "running" and holder == owner:
                    continue
                c.execute("UPDATE cells SET status = 'running', owner = ?, lease_until = ?, attempts = attempts + 1,"
                          " started = ? WHERE key = ?", (owner, now + lease, now, key))
                taken.append(json.loads(config))
            return taken

    def renew(self, owner: str, keys: Iterable[str], lease: float) -> None:
        keys = list(keys)
        if not keys:
            return
        with self.transaction() as c:
            c.executemany("UPDATE cells SET lease_until = ? WHERE key = ? AND owner = ? AND status = 'running'",
                          [(time.time() + lease, k, owner) for k in keys])

    def finish(self, owner: str, key: str, result: dict[str, Any], run_id: int, worker: str = "") -> bool:
        """Store a computed cell and its episodes in one transaction; False if the lease was lost meanwhile."""
        with self.transaction() as c:
            row = c.execute("SELECT status, owner FROM cells WHERE key = ?", (key,)).fetchone()
            if row is None or row[0] != "running" or row[1] != owner:
                return False
            eval_seconds = 0.0
            for variant, ev in result["evals"].items():
                eval_seconds += ev["seconds"]
                c.executemany(
                    "INSERT INTO episodes (cell, variant, type, idx, seed, ret, length, cost, crash, terminated,"
                    " events) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                    [(key, variant, ev["type"], i, e["seed"], e["ret"], e["length"], e["cost"], int(e["crash"]),
                      int(e["terminated"]), json.dumps(e["events"], sort_keys=True))
                     for i, e in enumerate(ev["episodes"])])
            c.execute("UPDATE cells SET status = 'done', owner = NULL, lease_until = NULL, run_id = ?, train = ?,"
                      " train_seconds = ?, eval_seconds = ?, finished = ?, worker = ?, error = NULL WHERE key = ?",
                      (run_id, json.dumps(result["train"], sort_keys=True), result["train"].get("seconds", 0.0),
                       eval_seconds, time.time(), worker, key))
            return True

    def fail(self, owner: str, key: str, error: str, run_id: int) -> None:
        with self.transaction() as c:
            c.execute("UPDATE cells SET status = 'failed', owner = NULL, lease_until = NULL, error = ?, run_id = ?,"
                      " finished = ? WHERE key = ? AND owner = ?", (error[-4000:], run_id, time.time(), key, owner))

    def release(self, owner: str, keys: Iterable[str]) -> None:
        """Give back unfinished claims (an interrupted run): they become pending again."""
        keys = list(keys)
        if keys:
            with self.transaction() as c:
                c.executemany("UPDATE cells SET status = 'pending', owner = NULL, lease_until = NULL "
                              "WHERE key = ? AND owner = ? AND status = 'running'", [(k, owner) for k in keys])

    def status_counts(self, keys: list[str] | None = None) -> dict[str, int]:
        rows = self.conn.execute("SELECT key, status FROM cells").fetchall()
        wanted = set(keys) if keys is not None else None
        counts = {"pending": 0, "running": 0, "done": 0, "failed": 0}
        for key, status in rows:
            if wanted is None or key in wanted:
                counts[status] += 1
        return counts

    def cells(self, status: str | None = None) -> list[dict[str, Any]]:
        query = "SELECT * FROM cells" + (" WHERE status = ?" if status else "") + " ORDER BY rowid"
        cur = self.conn.execute(query, (status,) if status else ())
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row)) for row in cur.fetchall()]

    def episodes(self) -> list[dict[str, Any]]:
        """Every stored episode joined with its cell's agent, env, seed and suite."""
        cur = self.conn.execute(
            "SELECT c.suite, c.agent, c.env, c.train_variant, c.seed, e.variant, e.type, e.idx, e.seed AS episode_seed,"
            " e.ret, e.length, e.cost, e.crash, e.terminated, e.events, e.cell FROM episodes e JOIN cells c "
            "ON c.key = e.cell WHERE c.status = 'done' ORDER BY c.rowid, e.variant, e.idx")
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row)) for row in cur.fetchall()]
