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


def write_company_tables(folder, company, contacts=None):
    """Write ``company``'s source tables into ``folder`` as files (events as Parquet, the rest as CSV), with
    ``contacts`` in place of its own when given (an incremental run's first half)."""
    for name, df in company.tables.items():
        df = contacts if name == "contacts" and contacts is not None else df
        if name == "events":
            df.to_parquet(folder / "events.parquet", index=False)
        else:
            df.to_csv(folder / f"{name}.csv", index=False)
