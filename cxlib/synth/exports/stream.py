"""The export style streamed: :func:`write_exports_blocks` writes a company of any size block by block
(:func:`cxlib.synth.write_company` with ``style="exports"``).

It runs the blocks of :func:`cxlib.synth.write_company` (:data:`~cxlib.synth.population.BLOCK_SIZE` people
each) and appends each block's rows to the files :func:`cxlib.synth.exports.write_exports` writes: the vendor
CSVs (their header, and Qualtrics' two extra header rows, once), the canonical files and the truth. GA4 keeps
one ``ga4/events_YYYYMMDD.parquet`` per day, as the daily export tables are: a ``ParquetWriter`` per day stays
open and takes a row group each time about ``ga4_rows`` buffered events are flushed.

The answer key names a GA4 event by the id the loader derives from the file (an MD5 of the row and its
position among identical rows of its file). Each block's GA4 rows are given their ids by the loader's own
SQL before they are buffered; the ids are the same in the daily files because no two rows there are identical
(``batch_event_index`` numbers one user's events of one microsecond, across blocks for the shop's kiosk
cookies, the only anonymous ids people of different blocks share).

The invoice lines' split of each order draws from a generator seeded by ``(seed, block)``: the same arguments
give the same files. Memory is bounded by a block, the GA4 buffer and the postcode rows kept for the end
(peak 1.4 GB at 100,000 people, 2.2 GB at 1,000,000).

Examples
--------
>>> import tempfile
>>> from cxlib import synth
>>> rows = synth.write_company(tempfile.mkdtemp(), n_customers=200, seed=3, months=4, progress=False, style="exports")
>>> rows["ga4"] > 0 and rows["online_retail_invoices"] > 0
True
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from cxlib.synth.company import _dedupe_postcodes, _finalise
from cxlib.synth.config import _Config
from cxlib.synth.exports import layouts
from cxlib.synth.exports.files import FILES, append_csv, canonical_rest, export_record_map, exported
from cxlib.synth.exports.ga4 import _frame, day_slices, ga4_keys, ga4_table
from cxlib.synth.population import _Block, _blocks
from cxlib.synth.sinks import _TABLE_NAMES, _FileSink
from cxlib.synth.truth import Truth, _params, _planted, _transitions_frame

__all__ = ["write_exports_blocks"]


class _VendorFiles:
    """The vendor CSVs, appended block by block (the header rows once, with a block that has columns)."""

    def __init__(self, out: Path):
        self.out = out
        self.rows = {f.split(".")[0]: 0 for f in FILES.values()}
        self.started: set[str] = set()
        for name in FILES.values():
            (out / name).unlink(missing_ok=True)

    def append(self, table: str, df: pd.DataFrame) -> None:
        if not len(df.columns):  # invoice lines of a block without shop orders: no columns to head the file
            return
        header = table not in self.started
        extra = layouts.qualtrics_header(list(df.columns)) if header and table == "surveys" else []
        append_csv(df, self.out / FILES[table], header, extra)
        self.started.add(table)
        self.rows[FILES[table].split(".")[0]] += len(df)

    def close(self) -> None:
        for table in set(FILES) - self.started:  # no rows at all: an empty file, as write_exports leaves
            append_csv(pd.DataFrame(), self.out / FILES[table], True)


class _Ga4Days:
    """``events_YYYYMMDD.parquet`` writers, one a day, fed the blocks' GA4 tables through a buffer."""

    def __init__(self, folder: Path, buffer_rows: int):
        folder.mkdir(parents=True, exist_ok=True)
        for stale in folder.glob("events_*.parquet"):
            stale.unlink()
        self.folder, self.buffer_rows = folder, buffer_rows
        self.writers: dict[str, pq.ParquetWriter] = {}
        self.days: dict[str, list[pa.Table]] = {}
        self.buffered = self.rows = 0

    def add(self, t: pa.Table) -> None:
        for day, part in day_slices(t):
            self.days.setdefault(day, []).append(part)
        self.buffered += t.num_rows
        self.rows += t.num_rows
        if self.buffered >= self.buffer_rows:
            self.flush()

    def flush(self) -> None:
        """One row group in each day's file: the day's buffered rows, block after block."""
        for day, parts in sorted(self.days.items()):
            if day not in self.writers:
                path = self.folder / f"events_{day}.parquet"
                self.writers[day] = pq.ParquetWriter(path, parts[0].schema, compression="zstd")
            self.writers[day].write_table(pa.concat_tables(parts))
        self.days, self.buffered = {}, 0

    def close(self) -> None:
        self.flush()
        for w in self.writers.values():
            w.close()
        self.writers.clear()


def _ga4_block(tables: dict[str, pd.DataFrame], shared: dict) -> tuple[pa.Table, pd.DataFrame]:
    """The block's GA4 table and its answer-key ids (:func:`~cxlib.synth.exports.ga4.ga4_keys`)."""
    e = _frame(tables["events"], tables["orders"], shared)
    t = ga4_table(e)
    written = e[["event_id", "us", "anonymous_id", "batch"]]
    if not t.num_rows:
        return t, pd.DataFrame({"event_id": pd.Series(dtype=object), "record_key": pd.Series(dtype=object)})
    return t, ga4_keys(t, written)


def _is_geo(m: pa.Table) -> pa.ChunkedArray:
    return pc.and_(pc.equal(m["table_name"], "enrichment"), pc.equal(m["source"], "geo_demographics"))


class _Writer:
    """Everything one streamed export writes, a block at a time (:func:`write_exports_blocks`)."""

    def __init__(self, out: Path, seed: int, ga4_rows: int):
        self.sink = _FileSink(out)
        for stale in [*out.glob("*.csv"), *out.glob("*.parquet")]:
            if stale.stem in _TABLE_NAMES:
                stale.unlink()
        self.vendor, self.ga4 = _VendorFiles(out), _Ga4Days(out / "ga4", ga4_rows)
        self.seed = seed
        self.shared: dict[tuple[str, int], int] = {}
        self.counts: dict[str, int] = {}
        self.counters: dict[str, float] = {}
        self.geo_rows: list[pa.Table] = []
        self.geo_map: list[pa.Table] = []

    def block(self, i: int, b: _Block) -> None:
        tables = {name: t.to_pandas() for name, t in b.tables.items()}
        for table, df in exported(tables, np.random.default_rng([self.seed, i])).items():
            self.vendor.append(table, df)
        g, keys = _ga4_block(tables, self.shared)
        self.ga4.add(g)
        for name, t in b.tables.items():  # what has no vendor layout stays canonical
            t = t.filter(pa.array(canonical_rest(name, tables[name]).to_numpy()))
            if name == "enrichment":  # postcode rows several blocks share: deduplicated at the end
                geo = pc.is_valid(t["postcode"])
                self.geo_rows.append(t.filter(geo))
                t = t.filter(pc.invert(geo))
            self.sink.append(name, t)
            self.counts[name] = self.counts.get(name, 0) + t.num_rows
        m = b.record_map
        self.geo_map.append(m.filter(_is_geo(m)))
        m = m.filter(pc.invert(_is_geo(m)))
        mapped = export_record_map(m.to_pandas(), tables["orders"], keys)
        self.sink.append("record_map", pa.Table.from_pandas(mapped, schema=m.schema, preserve_index=False), truth=True)
        self.sink.append("people", pa.Table.from_pandas(b.people, preserve_index=False), truth=True)
        h = b.stage_history.copy()
        h["stage"] = h["stage"].astype(str)
        self.sink.append("stage_history", pa.Table.from_pandas(h, preserve_index=False), truth=True)
        if b.voice is not None:
            self.sink.append("verbatims", b.voice, truth=True)
        for k, v in b.counters.items():
            self.counters[k] = self.counters.get(k, 0) + v

    def close(self, truth: Truth) -> dict[str, int]:
        geo = _finalise("enrichment", pa.concat_tables(self.geo_rows))
        self.sink.append("enrichment", geo)
        self.counts["enrichment"] = self.counts.get("enrichment", 0) + geo.num_rows
        gm = _dedupe_postcodes(pa.concat_tables(self.geo_map).to_pandas())
        schema = self.geo_map[0].schema
        self.sink.append("record_map", pa.Table.from_pandas(gm, schema=schema, preserve_index=False), truth=True)
        self.sink.close()
        self.sink.write_meta(truth)
        self.vendor.close()
        self.ga4.close()
        rows = {k: v for k, v in self.counts.items() if v} | self.vendor.rows | {"ga4": self.ga4.rows}
        return dict(sorted(rows.items()))


def write_exports_blocks(
    out: str | Path, cfg: _Config, progress: bool = True, ga4_rows: int = 1_000_000
) -> dict[str, int]:
    """Write the company of ``cfg`` to ``out`` in the export style, block by block (bounded memory); rows
    written per file stem (``ga4`` counts the GA4 events over all days).

    What :func:`cxlib.synth.write_company` does with ``style="exports"``: the files and the truth are those
    of :func:`cxlib.synth.exports.write_exports` of :func:`cxlib.synth.generate` with the same arguments, but
    for the order of rows, the lines each order is split into and Parquet row groups: loaded, they give the
    same workspace. ``ga4_rows``: GA4 events buffered before they are written (a row group in each day's file
    they fall on).

    Examples
    --------
    >>> import tempfile
    >>> from cxlib.synth.config import _config
    >>> cfg = _config(200, 3, "2024-01-01", 2, None, None, None)
    >>> rows = write_exports_blocks(tempfile.mkdtemp(), cfg, progress=False)
    >>> sorted(rows)[:3]
    ['contacts', 'enrichment', 'events']
    """
    out = Path(out)
    w = _Writer(out, cfg.seed, ga4_rows)
    for i, b in enumerate(_blocks(cfg, progress)):
        w.block(i, b)
    truth = Truth(pd.DataFrame(), pd.DataFrame(), pd.DataFrame(), _transitions_frame(cfg.T),
                  _planted(cfg, w.counters), _params(cfg))  # fmt: skip
    return w.close(truth)
