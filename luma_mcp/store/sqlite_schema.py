"""The SQLite store's schema: its version (`PRAGMA user_version`), and `MIGRATIONS`, which bring an
older file up to date; a file from a newer version of this server is refused rather than misread."""

from __future__ import annotations

import sqlite3

from ..errors import StoreError
from .sqlite_spending import SPENDING_MIGRATION, TOTALS_MIGRATION

MIGRATIONS: list[list[str]] = [
    [  # 1: the history, the ledger's claims, the upload cache, the imported logs
        """CREATE TABLE generations (
            seq INTEGER PRIMARY KEY, account TEXT NOT NULL, generation_id TEXT NOT NULL,
            created REAL NOT NULL, recorded_at TEXT NOT NULL, words TEXT NOT NULL, entry TEXT NOT NULL,
            UNIQUE (account, generation_id))""",
        "CREATE INDEX generations_recent ON generations (account, created DESC, seq DESC)",
        """CREATE TABLE claims (
            account TEXT NOT NULL, key TEXT NOT NULL, state TEXT NOT NULL, owner TEXT NOT NULL,
            token TEXT NOT NULL, at REAL NOT NULL, expires REAL NOT NULL, generation_id TEXT,
            finished_at REAL, PRIMARY KEY (account, key))""",
        "CREATE INDEX claims_job ON claims (account, generation_id)",
        "CREATE INDEX claims_expiry ON claims (expires)",
        """CREATE TABLE uploads (
            account TEXT NOT NULL, digest TEXT NOT NULL, file_id TEXT NOT NULL, reuse_until REAL NOT NULL,
            PRIMARY KEY (account, digest))""",
        """CREATE TABLE legacy_logs (
            account TEXT NOT NULL, path TEXT NOT NULL, read_to INTEGER NOT NULL, PRIMARY KEY (account, path))""",
    ],
    [  # 2: a full-text index of the history's words, filled from what version 1 kept
        "CREATE VIRTUAL TABLE generation_words USING fts5 (words, tokenize = 'unicode61 remove_diacritics 2')",
        "INSERT INTO generation_words (rowid, words) SELECT seq, words FROM generations",
    ],
    SPENDING_MIGRATION,  # 3: spending, one row per charge
    TOTALS_MIGRATION,  # 4: the running totals of each day and month
    [  # 5: claims in one b-tree (their key), with one index (their job): every trip writes a claim
        """CREATE TABLE claims_kept (
            account TEXT NOT NULL, key TEXT NOT NULL, state TEXT NOT NULL, owner TEXT NOT NULL,
            token TEXT NOT NULL, at REAL NOT NULL, expires REAL NOT NULL, generation_id TEXT,
            finished_at REAL, PRIMARY KEY (account, key)) WITHOUT ROWID""",
        "INSERT INTO claims_kept SELECT account, key, state, owner, token, at, expires, generation_id, finished_at "
        "FROM claims",
        "DROP TABLE claims",
        "ALTER TABLE claims_kept RENAME TO claims",
        "CREATE INDEX claims_job ON claims (account, generation_id)",
    ],
]
SCHEMA_VERSION = len(MIGRATIONS)


def migrate(connection: sqlite3.Connection, *, target: int = SCHEMA_VERSION) -> None:
    """Bring the file to version `target`, each step in its own transaction (two processes opening
    an old file at once apply each step once). Raises `StoreError` for a file newer than this code."""
    for version in range(1, target + 1):
        connection.execute("BEGIN IMMEDIATE")
        try:
            current = int(connection.execute("PRAGMA user_version").fetchone()[0])
            if current > SCHEMA_VERSION:
                raise StoreError("the database", f"it was written by a newer version of this server (schema {current})")
            if current < version:
                for statement in MIGRATIONS[version - 1]:
                    connection.execute(statement)
                connection.execute(f"PRAGMA user_version = {version}")
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise
