"""The entry points: a company in memory (:func:`generate`) or streamed to disk (:func:`write_company`).

Both run the same blocks (:mod:`cxlib.synth.population`) and give the same bytes; the geo-demographic
enrichment rows, which several blocks share, are deduplicated once at the end.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from cxlib.synth.config import Counterfactual, IdentityNoise, PlantedEffects, _config
from cxlib.synth.population import BLOCK_SIZE, _blocks, _history_block
from cxlib.synth.sinks import _TABLE_NAMES, _FileSink
from cxlib.synth.truth import Truth, _params, _planted, _transitions_frame

__all__ = ["SyntheticCompany", "generate", "stage_history", "write_company"]


@dataclass
class SyntheticCompany:
    """The generated source tables (canonical names) and their :class:`Truth`."""

    tables: dict[str, pd.DataFrame]
    truth: Truth

    def write(self, out: str | Path) -> Path:
        """Write the source files to ``out`` and the truth to ``out/truth``; return ``out``."""
        out = Path(out)
        _FileSink(out).write_all(self.tables, self.truth)
        return out



def generate(
    n_customers: int = 20_000,
    seed: int = 7,
    start: str = "2024-01-01",
    months: int = 24,
    scenario: Counterfactual | None = None,
    noise: IdentityNoise | None = None,
    progress: bool = False,
    effects: PlantedEffects | None = None,
) -> SyntheticCompany:
    """Simulate a company in memory and return its source tables and truth.

    For large populations use :func:`write_company`, which streams blocks to disk.

    Parameters
    ----------
    n_customers : int
        People to simulate (prospects included: not all of them ever buy).
    seed : int
        Seed; the same arguments give the same data.
    start : str
        First month (``YYYY-MM-DD``; the day is ignored).
    months : int
        Months simulated.
    scenario : Counterfactual, optional
        Replay the same people with one lever changed.
    noise : IdentityNoise, optional
        Identity-mess rates.
    progress : bool
        Show a progress bar.
    effects : PlantedEffects, optional
        Sizes of the planted findings and the persona mix (default: the demo company's).

    Returns
    -------
    SyntheticCompany
        ``tables`` (contacts, events, orders, tickets, surveys, enrichment as text/typed columns the way the
        systems export them) and ``truth``.

    Examples
    --------
    >>> c = generate(n_customers=200, seed=3, months=6)
    >>> int(c.truth.record_map["table_name"].eq("orders").sum()) == len(c.tables["orders"])
    True
    """
    cfg = _config(n_customers, seed, start, months, scenario, noise, effects)
    tables: dict[str, list[pa.Table]] = {}
    people, hist, maps, voice = [], [], [], []
    counters: dict[str, float] = {}
    for b in _blocks(cfg, progress):
        voice += [b.voice] if b.voice is not None else []
        for name, t in b.tables.items():
            tables.setdefault(name, []).append(t)
        people.append(b.people)
        hist.append(b.stage_history)
        maps.append(b.record_map)
        for k, v in b.counters.items():
            counters[k] = counters.get(k, 0) + v
    frames = {name: _finalise(name, pa.concat_tables(ts)).to_pandas() for name, ts in tables.items()}
    truth = Truth(
        people=pd.concat(people, ignore_index=True),
        stage_history=pd.concat(hist, ignore_index=True),
        record_map=pa.concat_tables(maps).to_pandas(),
        transitions=_transitions_frame(cfg.T),
        planted=_planted(cfg, counters),
        params=_params(cfg),
        verbatims=pa.concat_tables(voice).to_pandas() if voice else None,
    )
    truth.record_map = _dedupe_postcodes(truth.record_map)
    return SyntheticCompany(frames, truth)


def stage_history(
    n_customers: int = 20_000,
    seed: int = 7,
    start: str = "2024-01-01",
    months: int = 24,
    scenario: Counterfactual | None = None,
    effects: PlantedEffects | None = None,
    detail: bool = False,
) -> pd.DataFrame:
    """The true monthly stage history of a company (``person_id, month, stage, revenue, ...``) without its
    source tables: what a counterfactual's truth needs, in a small part of :func:`generate`'s time.

    Equal to ``generate(...).truth.stage_history`` for the same arguments (the tables come from a stream of
    their own, drawn after the lives). ``detail=True`` adds each row's ``persona`` (as in ``truth.people``)
    and ``presale_failure``: the person had an unresolved pre-sale question that month (exactly the
    ``tickets`` rows with topic ``pre_sale_question`` and ``resolved`` false).

    Examples
    --------
    >>> h = stage_history(n_customers=300, seed=3, months=6)
    >>> h.equals(generate(n_customers=300, seed=3, months=6).truth.stage_history)
    True
    """
    cfg = _config(n_customers, seed, start, months, scenario, None, effects)
    n_blocks = -(-cfg.n_customers // BLOCK_SIZE)
    return pd.concat([_history_block(cfg, b, detail) for b in range(n_blocks)], ignore_index=True)


def _finalise(name: str, t: pa.Table) -> pa.Table:
    if name == "enrichment":  # postcode rows from several blocks describe the same place: keep one
        df = t.to_pandas()
        geo = df["postcode"].notna()
        df = pd.concat([df[~geo], df[geo].drop_duplicates("postcode").sort_values("postcode")], ignore_index=True)
        return pa.Table.from_pandas(df, preserve_index=False)
    return t


def _dedupe_postcodes(m: pd.DataFrame) -> pd.DataFrame:
    geo = (m["table_name"] == "enrichment") & (m["source"] == "geo_demographics")
    keep = m[geo].drop_duplicates("record_key").sort_values("record_key")
    return pd.concat([m[~geo], keep], ignore_index=True)



def write_company(
    out: str | Path,
    n_customers: int = 20_000,
    seed: int = 7,
    start: str = "2024-01-01",
    months: int = 24,
    scenario: Counterfactual | None = None,
    noise: IdentityNoise | None = None,
    progress: bool = True,
    file_format: str = "mixed",
    effects: PlantedEffects | None = None,
    style: str = "canonical",
    ga4_rows: int = 1_000_000,
) -> dict[str, int]:
    """Generate a company straight to disk in blocks (bounded memory) and return rows written per table.

    ``style="exports"`` writes the files the company's systems would export instead (GA4, invoice lines,
    vendor CSVs; :func:`cxlib.synth.exports.stream.write_exports_blocks`, which buffers ``ga4_rows`` GA4
    events at a time; ``file_format`` is then not used) and returns rows per file.

    Source files go to ``out`` and the truth to ``out/truth``. ``file_format="mixed"`` writes
    ``events.parquet`` and the other tables as CSV, the way such systems usually export them;
    ``"parquet"`` writes every table as Parquet (smaller and faster to load at scale). ``effects`` sizes the
    planted findings (:class:`PlantedEffects`; default: the demo company's).
    The bytes are the same as :meth:`SyntheticCompany.write` of :func:`generate` with the same arguments
    apart from Parquet row-group boundaries.

    Examples
    --------
    >>> import tempfile
    >>> rows = write_company(tempfile.mkdtemp(), n_customers=100, seed=1, months=6, progress=False)
    >>> rows["contacts"] > 0
    True
    """
    cfg = _config(n_customers, seed, start, months, scenario, noise, effects)
    if style == "exports":
        from cxlib.synth.exports.stream import write_exports_blocks  # it builds on this module

        return write_exports_blocks(out, cfg, progress, ga4_rows)
    if style != "canonical":
        raise ValueError(f"style must be canonical or exports, got {style!r}")
    sink = _FileSink(Path(out), file_format)
    for stale in list(sink.out.glob("*.csv")) + list(sink.out.glob("*.parquet")):
        if stale.stem in _TABLE_NAMES:
            stale.unlink()
    counts: dict[str, int] = {}
    counters: dict[str, float] = {}
    geo_rows: list[pa.Table] = []
    geo_map: list[pa.Table] = []
    for b in _blocks(cfg, progress):
        for name, t in b.tables.items():
            if name == "enrichment":
                geo = pc.is_valid(t["postcode"])
                geo_rows.append(t.filter(geo))
                t = t.filter(pc.invert(geo))
            sink.append(name, t)
            counts[name] = counts.get(name, 0) + t.num_rows
        m = b.record_map
        is_geo = pc.and_(pc.equal(m["table_name"], "enrichment"), pc.equal(m["source"], "geo_demographics"))
        geo_map.append(m.filter(is_geo))
        sink.append("record_map", m.filter(pc.invert(is_geo)), truth=True)
        people = b.people
        sink.append("people", pa.Table.from_pandas(people, preserve_index=False), truth=True)
        h = b.stage_history.copy()
        h["stage"] = h["stage"].astype(str)
        sink.append("stage_history", pa.Table.from_pandas(h, preserve_index=False), truth=True)
        if b.voice is not None:
            sink.append("verbatims", b.voice, truth=True)
        for k, v in b.counters.items():
            counters[k] = counters.get(k, 0) + v
    geo = _finalise("enrichment", pa.concat_tables(geo_rows))
    sink.append("enrichment", geo)
    counts["enrichment"] = counts.get("enrichment", 0) + geo.num_rows
    gm = _dedupe_postcodes(pa.concat_tables(geo_map).to_pandas())
    sink.append("record_map", pa.Table.from_pandas(gm, preserve_index=False), truth=True)
    sink.close()
    truth = Truth(
        pd.DataFrame(), pd.DataFrame(), pd.DataFrame(), _transitions_frame(cfg.T), _planted(cfg, counters), _params(cfg)
    )
    sink.write_meta(truth)
    return counts

