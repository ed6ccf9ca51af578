"""The journey model held against a real closed cohort: CDNOW, first buyers of one quarter, forecast 9 months.

Usage: python benchmarks/bench_backtest_cdnow.py [CDNOW_master.txt] [--folder=F] [--months=9]

CDNOW is the public data set of the BG/NBD literature: 23,570 people whose first purchase at the CD retailer
CDNOW was in January-March 1997, and every purchase they made until June 1998 (69,659 lines: customer, day,
CDs, dollars). Nobody new arrives after March 1997: a closed cohort of first buyers, as issue 17 asks the model
to be held against. The ``lifetimes`` package ships it (``lifetimes/datasets/CDNOW_master.txt``); without a
path the file is found in an installed ``lifetimes`` (``pip install --no-deps lifetimes``: nothing of it is
imported) or in a ``lifetimes`` wheel in ``/tmp/lt`` (``pip download --no-deps lifetimes -d /tmp/lt``).

The file is written as a user's order export (``orders.csv``: order id, customer id, day, dollars, CDs) with a
``sources.yml`` that maps it, then goes through the steps users run (``cx load``, ``unify``, ``journeys``,
``personas``) into ``--folder`` (default: a temporary folder). Printed, for the backtest of ``cx simulate
--backtest --months 9`` (fit January-September 1997, forecast October 1997-June 1998):

1. the total error (forecast / actual - 1) of the journey model as ``cx simulate`` fits it, with arrivals
   chosen by backtest and none, beside the last-3-months run rate and BG/NBD + Gamma-Gamma; the same model
   with one chain (no personas), as a plain Markov chain, and with each kind of purchase bucket set instead of
   chosen by backtest (:func:`cxlib.simulate.choose_purchases`): months since the last purchase only
   (``purchases="recency"``), also a customer who bought once told from one who bought twice or more
   (``"count"``), and also how far apart their last two purchases were (``"gap"``;
   :func:`cxlib.simulate.recency.bucket_moves`);
2. the journey model with each customer's persona judged 0, 3 and 6 months before the cutoff (the persona's
   rates are measured over the fit months, so a persona judged at the cutoff has seen the very purchases its
   rates are measured on), and with each row's persona judged before its month (every month, every 3 months:
   no label has seen the month it describes).

Speed is not the point here; the errors are.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import warnings
import zipfile
from datetime import date
from importlib.util import find_spec
from pathlib import Path

import pandas as pd

SOURCES = """currency: USD
tables:
  orders:
    - file: orders.csv
      columns: {order_id: order_id, ts: ordered_at, amount: amount, contact_ref: customer_id}
      constants: {status: completed, source: cdnow, currency: USD}
"""


def find_cdnow() -> Path:
    """``CDNOW_master.txt`` from an installed ``lifetimes`` or a wheel of it in ``/tmp/lt``."""
    spec = find_spec("lifetimes")
    if spec is not None and spec.submodule_search_locations:
        for loc in spec.submodule_search_locations:
            f = Path(loc) / "datasets" / "CDNOW_master.txt"
            if f.exists():
                return f
    for wheel in sorted(Path("/tmp/lt").glob("[Ll]ifetimes-*.whl")):
        out = Path(tempfile.mkdtemp(prefix="cdnow-"))
        with zipfile.ZipFile(wheel) as z:
            z.extract("lifetimes/datasets/CDNOW_master.txt", out)
        return out / "lifetimes" / "datasets" / "CDNOW_master.txt"
    sys.exit("CDNOW_master.txt not found: give its path, or `pip download --no-deps lifetimes -d /tmp/lt`")


def write_export(master: Path, folder: Path) -> pd.DataFrame:
    """CDNOW's lines as an order export (one order per line; a customer's lines of one day numbered)."""
    df = pd.read_csv(master, sep=r"\s+", dtype={"customer_id": str, "date": str})
    df["n"] = df.groupby(["customer_id", "date"]).cumcount().astype(str)
    orders = pd.DataFrame(
        {
            "order_id": "O" + df["customer_id"] + "-" + df["date"] + "-" + df["n"],
            "customer_id": df["customer_id"],
            "ordered_at": pd.to_datetime(df["date"], format="%Y%m%d").dt.strftime("%Y-%m-%d"),
            "amount": df["dollar_value"],
            "quantity": df["number_of_cds"],
        }
    )
    folder.mkdir(parents=True, exist_ok=True)
    orders.to_csv(folder / "orders.csv", index=False)
    (folder / "sources.yml").write_text(SOURCES)
    return orders


def build(folder: Path) -> None:
    for step in ("load", "unify", "journeys", "personas"):
        subprocess.run([sys.executable, "-m", "cxlib.cli", step, str(folder)], check=True, capture_output=True)


def totals(bt: pd.DataFrame) -> pd.Series:
    return bt[bt["period"] == "total"].set_index("model")["pct_error"]


def label_lags(folder: Path, months: int, cut: pd.Timestamp, lags: tuple[int, ...] = (0, 3, 6)) -> list[dict]:
    from cxlib import simulate as sim
    from cxlib.simulate.backtest import JOURNEY
    from cxlib.simulate.workspace import complete_history

    rows = []
    for lag in lags:
        as_of = cut - pd.DateOffset(months=lag - 1) - pd.Timedelta(microseconds=1)
        h = complete_history(folder, channel=False, personas_as_of=as_of, refit_personas=True)
        bt = sim.backtest(h, months=months, cutoff=cut, draws=100)
        rows.append({"line": f"personas judged {lag} months before the cutoff", "error": totals(bt)[JOURNEY]})
    return rows


def monthly_labels(folder: Path, months: int, cut: pd.Timestamp, every: int = 1) -> dict:
    """The backtest with each row's persona judged before its month: the persona model refitted at the cutoff
    (as the backtest does) assigns every customer at the end of every ``every``-th month before the cutoff
    month, counted back from the month before it; a row takes the latest label before its month (none before
    the first: ``unassigned``). No row's label has seen its own month, so a persona's rates are measured on
    what came after its customers were labelled."""
    from cxlib import simulate as sim
    from cxlib.engine import opened
    from cxlib.personas import assign, customer_features
    from cxlib.personas.stored import refit_as_of, stored_model
    from cxlib.personas.write import _personas_table
    from cxlib.simulate.backtest import JOURNEY, _month_end
    from cxlib.simulate.workspace import complete_history

    with opened(folder, read_only=True) as ws:
        h = complete_history(ws, channel=False, by=None)
        stored = stored_model(ws)
        settings = stored[1]

        def features(t: pd.Timestamp):
            f = customer_features(ws, _month_end(t), anonymous=settings["anonymous"], lazy=True)
            return f.filter(f.touchpoints > 0)

        model, threshold = refit_as_of(features(cut), stored)
        h["month"] = pd.to_datetime(h["month"])
        points = list(pd.date_range(end=cut - pd.DateOffset(months=1), start=h["month"].min(), freq="MS"))[::-1]
        points = sorted(points[::every])
        h["persona"] = "unassigned"
        for i, p in enumerate(points):
            per = _personas_table(assign(model, features(p)), features(p), threshold, settings["prospects"])
            per = per.to_pandas()
            label = per.set_index("customer_id")["persona_name" if "persona_name" in per.columns else "persona"]
            upto = points[i + 1] if i + 1 < len(points) else pd.Timestamp.max
            rows = (h["month"] > p) & (h["month"] <= upto)
            h.loc[rows, "persona"] = h.loc[rows, "customer_id"].map(label.astype(str)).fillna("unassigned").to_numpy()
    bt = sim.backtest(h, months=months, cutoff=cut, draws=100)
    what = "each month" if every == 1 else f"every {every} months"
    return {"line": f"personas judged {what} before each row's month (honest)", "error": totals(bt)[JOURNEY]}


def main(master: Path, folder: Path, months: int = 9) -> None:
    from cxlib import simulate as sim
    from cxlib.simulate.backtest import JOURNEY

    warnings.simplefilter("ignore")
    orders = write_export(master, folder)
    t0 = time.perf_counter()
    build(folder)
    print(f"{len(orders):,} orders of {orders['customer_id'].nunique():,} customers, "
          f"{orders['ordered_at'].min()} to {orders['ordered_at'].max()}; built in "
          f"{time.perf_counter() - t0:.0f} s", file=sys.stderr)  # fmt: skip
    bt = sim.backtest(folder, months=months)
    cut = bt.attrs["cutoff"]
    kind = bt.attrs["purchases"].split(" -- ")[0]
    line = f"as `cx simulate --backtest` (arrivals {bt.attrs['arrivals']}; purchase buckets: {kind})"
    rows = [{"line": line, **totals(bt)}]
    rows[0]["error"] = rows[0][JOURNEY]
    lines = (
        ("arrivals none", {"arrivals": "none"}),
        ("plain Markov chain", {"durations": 0, "recency": 0}),
        ("months since the last purchase only (purchases='recency')", {"purchases": "recency"}),
        ("one purchase told from two or more (purchases='count')", {"purchases": "count"}),
        ("... and close from far-apart purchases (purchases='gap')", {"purchases": "gap"}),
    )
    for name, kw in lines:
        rows.append({"line": name, "error": totals(sim.backtest(folder, months=months, **kw))[JOURNEY]})
    panel = sim.complete_history(folder, channel=False).drop(columns="persona", errors="ignore")
    rows.append({"line": "one chain (no personas)", "error": totals(sim.backtest(panel, months=months))[JOURNEY]})
    rows += label_lags(folder, months, cut)
    rows += [monthly_labels(folder, months, cut, every) for every in (1, 3)]
    df = pd.DataFrame(rows)
    df = df.drop(columns=JOURNEY)
    df = df[["line", "error", *[c for c in df.columns if c not in ("line", "error")]]]
    print(f"\nCDNOW ({master}): fit to {cut:%Y-%m}, forecast {months} months; {os.cpu_count()} cores, {date.today()}")
    with pd.option_context("display.width", 200, "display.float_format", "{:+.1%}".format):
        print(df.to_string(index=False, na_rep=""))


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    opts = dict(a[2:].split("=", 1) for a in sys.argv[1:] if a.startswith("--") and "=" in a)
    src = Path(args[0]) if args else find_cdnow()
    dest = Path(opts["folder"]) if "folder" in opts else Path(tempfile.mkdtemp(prefix="cx-cdnow-")) / "cdnow"
    main(src, dest, int(opts.get("months", 9)))
