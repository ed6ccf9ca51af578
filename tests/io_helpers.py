"""Helpers shared by the loader's tests: read back what a load wrote, and check that rows are conserved."""

from __future__ import annotations

import duckdb

from cxlib import io


def loaded(folder, table, order="1"):
    """The rows ``table`` holds in ``folder``'s workspace, ordered by the SQL ``order`` (test-authored text)."""
    con = duckdb.connect(str(folder / io.DATABASE_NAME), read_only=True)
    try:
        return con.execute(f"SELECT * FROM {table} ORDER BY {order}").df()
    finally:
        con.close()


def db_types(folder, table):
    """``{column: engine type}`` of ``table`` in ``folder``'s workspace."""
    con = duckdb.connect(str(folder / io.DATABASE_NAME), read_only=True)
    try:
        return {r[0]: r[1] for r in con.execute(f"DESCRIBE {table}").fetchall()}
    finally:
        con.close()


def conserved(report):
    """Every table's rows in = loaded + quarantined."""
    s = report.summary
    assert (s["rows_in"] == s["rows_loaded"] + s["rows_quarantined"]).all(), s
    return True
