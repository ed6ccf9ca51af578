"""Helpers shared by the loader's tests: read back what a load wrote, and check that rows are conserved; load
and unify a folder and score it against its truth."""

from __future__ import annotations

import duckdb

import cxlib
from cxlib import io


def loaded(folder, table, order="ALL"):
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


def write_orders_only_shop(folder, customers=60, months=6):
    """A shop that exports its orders alone (as CDNOW: one system, no browsing, e-mail, tickets or surveys),
    loaded, unified and staged in ``folder``; returns ``folder``."""
    rows = [
        (f"O{c}-{m}", f"C{c:03d}", f"2024-{m:02d}-{1 + c % 27:02d}", 10.0 + c % 7)
        for c in range(customers)
        for m in range(1, months + 1)
        if (c + m) % 3
    ]
    return _orders_shop(folder, rows)


def write_cdnow_like_shop(folder, customers=400, seed=0):
    """An orders-only shop whose customers differ as CDNOW's do, loaded, unified and staged in ``folder``:
    half buy once, some lapse after a few orders, a few buy every month, some buy big baskets, some only lately
    (and a few orders are free). Returns ``folder``."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2024-01-01")
    rows = []
    for c in range(customers):
        kind = c % 10
        if kind < 5:  # one-time buyers, in the first quarter
            days = rng.integers(0, 90, 1)
        elif kind < 7:  # a few orders in the first half, then gone
            days = rng.integers(0, 180, rng.integers(2, 4))
        elif kind == 7:  # every month
            days = np.arange(12) * 30 + rng.integers(0, 10)
        elif kind == 8:  # big baskets, now and then
            days = rng.integers(0, 360, rng.integers(1, 3))
        else:  # only lately
            days = 240 + np.arange(4) * 30 + rng.integers(0, 10)
        scale = 200.0 if kind == 8 else 15.0
        amounts = np.round(rng.lognormal(np.log(scale), 0.4, len(days)), 2) * (rng.random(len(days)) > 0.02)
        rows += [
            (f"O{c}-{i}", f"C{c:04d}", f"{start + pd.Timedelta(days=int(d)):%Y-%m-%d}", float(a))
            for i, (d, a) in enumerate(zip(sorted(days), amounts, strict=True))
        ]
    return _orders_shop(folder, rows)


def _orders_shop(folder, rows):
    """``rows`` (order_id, customer_id, day, amount) as the shop's one export, loaded, unified and staged."""
    import pandas as pd

    from cxlib import journeys, unify

    pd.DataFrame(rows, columns=["order_id", "customer_id", "ordered_at", "amount"]).to_csv(
        folder / "orders.csv", index=False
    )
    (folder / "sources.yml").write_text(
        "tables:\n  orders:\n    - file: orders.csv\n"
        "      columns: {order_id: order_id, ts: ordered_at, amount: amount, contact_ref: customer_id}\n"
        "      constants: {status: completed, source: shop}\n"
    )
    io.load(folder)
    unify.unify(folder)
    journeys.build(folder)
    return folder


def unified_quality(folder, truth):
    """Load and unify ``folder`` (its source files written), and score every contact record's customer against
    ``truth`` (a ``record_map``): ``(UnifyResult, unify.evaluate's row)``. Every record is linked once."""
    from cxlib import unify

    cxlib.load(folder)
    result = unify.unify(folder)
    with cxlib.connect(folder, read_only=True) as ws:
        links = ws.table("identity_links").to_pandas()
    assert len(links) == len(truth)
    return result, unify.evaluate(links, truth).iloc[0]
