"""The small base every table's emitter shares: one block's random stream, id counter and rows.

A :class:`_Recorder` is made per block of people. The emitters (one module per table) draw from its one
random stream in a fixed order, take ids from its one counter, and :meth:`_Recorder.add` their columns with
each row's true person; :meth:`_Recorder.finish` turns them into Arrow tables and the block's record map.

Examples
--------
>>> import numpy as np
>>> _first_month(np.array([[False, True, True], [False, False, False]]))
array([ 1, -1])
>>> list(_iso(np.array(["2024-03-01T10:00:00"], dtype="datetime64[s]"), sep=" "))
['2024-03-01 10:00:00']
>>> list(_iso_offset(np.array(["2024-07-01T10:00:00", "NaT"], dtype="datetime64[s]")))
['2024-07-01T11:00:00+01:00', None]
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from cxlib.schema import TABLES
from cxlib.synth.specs import PERSONA_SPECS, PERSONAS

if TYPE_CHECKING:
    from cxlib.synth.config import _Config
    from cxlib.synth.population import _Lives


class _Recorder:
    """One block's record-keeping: its config, random stream, simulated lives, id counter and rows so far."""

    def __init__(self, cfg: _Config, rng: np.random.Generator, lives: _Lives):
        self.cfg, self.rng, self.lives = cfg, rng, lives
        # the harder identity mess (emit.mess) draws from a stream of its own: the main one stays in step
        self.mess_rng = np.random.default_rng(np.random.SeedSequence([cfg.seed, lives.block, 31]))
        self.noise = cfg.noise
        self.months = cfg.months
        self.spec = [PERSONA_SPECS[p] for p in PERSONAS]
        self.rows: dict[str, list[dict]] = {}
        self.counter = 0
        # the order rows are written in and the ids' key: streams of their own, so neither says who is who
        self.order_rng = np.random.default_rng(np.random.SeedSequence([cfg.seed, lives.block, 43]))
        self.id_key = np.random.default_rng(np.random.SeedSequence([cfg.seed, 47])).integers(1, 2**19, _ROUNDS)

    def per_person(self, attribute: str) -> np.ndarray:
        """A persona attribute (e.g. ``"ticket_rate"``) for each person of the block."""
        return np.array([s[attribute] for s in self.spec])[self.lives.persona]

    def ids(self, prefix: str, k: int) -> np.ndarray:
        """``k`` new record ids, unique across the block's tables and across blocks, and opaque: a keyed
        permutation (:func:`_scramble`) of their place in the block's count, so that neither an id's block nor
        the order of two ids says anything about whose records they are (a candidate doing the hiring case
        could otherwise line up two systems' records of the same people by their ids)."""
        base = self.lives.block * 10_000_000 + self.counter
        self.counter += k
        ids = _scramble(base + np.arange(k, dtype=np.uint64), self.id_key)
        return np.array([f"{prefix}{i:011d}" for i in ids.tolist()], dtype=object)

    def ts(self, month: np.ndarray) -> np.ndarray:
        """A uniform random second within each given month."""
        ms = self.cfg.month_starts
        span = (ms[month + 1] - ms[month]).astype("int64")
        off = (self.rng.random(len(month)) * span).astype("int64")
        return (ms[month] + off.astype("timedelta64[s]")).astype("datetime64[s]")

    def add(self, table: str, cols: dict[str, np.ndarray], who: np.ndarray, defect: np.ndarray | None = None):
        """Record rows of ``table`` for the people at positions ``who`` (with each row's planted defect)."""
        cols = dict(cols)
        cols["_person"] = self.lives.people_ids[who] if len(who) else np.array([], dtype=object)
        cols["_defect"] = defect if defect is not None else np.full(len(who), None, dtype=object)
        self.rows.setdefault(table, []).append(cols)

    def finish(self) -> tuple[dict[str, pa.Table], pa.Table]:
        """The block's tables, and its record map (``table_name, source, record_key, person_id, defect``)."""
        tables, maps = {}, []
        for name, parts in self.rows.items():
            cols = {c: np.concatenate([p[c] for p in parts]) for c in parts[0]}
            # in no one's order: emitted person by person, two systems' records of the same people would
            # stand in the same order
            order = self.order_rng.permutation(len(cols["_person"]))
            cols = {c: v[order] for c, v in cols.items()}
            person, defect = cols.pop("_person"), cols.pop("_defect")
            arrays = {c: _arrow(v, c) for c, v in cols.items()}
            tables[name] = pa.table(arrays)
            pid = pa.array(person, pa.string())
            if name == "enrichment":  # a postcode describes a place, not a person
                pid = pc.if_else(pc.is_null(arrays["postcode"]), pid, pa.scalar(None, pa.string()))
                defect = np.full(len(defect), None, dtype=object)
            maps.append(
                pa.table(
                    {
                        "table_name": pa.array([name] * len(person), pa.string()),
                        "source": arrays["source"],
                        "record_key": _record_key(name, arrays),
                        "person_id": pid,
                        "defect": pa.array(defect, pa.string()),
                    }
                )
            )
        return tables, pa.concat_tables(maps)


#: rounds of :func:`_scramble`'s Feistel network
_ROUNDS = 4
_ID_SPACE = 10**11  # eleven digits


def _scramble(x: np.ndarray, key: np.ndarray) -> np.ndarray:
    """A keyed permutation of ``[0, 10**11)`` applied to ``x`` (``uint64``): a Feistel network on 38 bits (two
    halves of 19), applied again to any value that lands outside the range (cycle walking), so distinct
    inputs give distinct ids.

    Examples
    --------
    >>> x = np.arange(1000, dtype=np.uint64)
    >>> y = _scramble(x, np.array([3, 5, 7, 11]))
    >>> len(set(y.tolist())), bool(y.max() < 10**11), bool((np.diff(y.astype("int64")) > 0).all())
    (1000, True, False)
    """
    mask = np.uint64(2**19 - 1)
    out = x.astype(np.uint64)
    todo = np.ones(len(out), dtype=bool)
    while todo.any():
        v = out[todo]
        left, right = v >> np.uint64(19), v & mask
        for k in key:
            f = ((right * np.uint64(0x9E3779B1) + np.uint64(k)) >> np.uint64(7)) & mask
            left, right = right, left ^ f
        out[todo] = (left << np.uint64(19)) | right
        todo = out >= np.uint64(_ID_SPACE)
    return out


def _record_key(name: str, arrays: dict[str, pa.Array]) -> pa.Array:
    """A row's key within its source: the table's key columns (``schema.TABLES``) after ``source``, the
    first that is not null."""
    cols = [c for c in TABLES[name].key if c != "source"]
    return arrays[cols[0]] if len(cols) == 1 else pc.coalesce(*(arrays[c] for c in cols))


def _first_month(mask: np.ndarray) -> np.ndarray:
    """First month where ``mask`` holds per person (-1 if never)."""
    has = mask.any(axis=1)
    return np.where(has, mask.argmax(axis=1), -1)


def _arrow(v: np.ndarray, name: str) -> pa.Array:
    if name == "ts" and np.issubdtype(v.dtype, np.datetime64):
        return pa.array(v.astype("datetime64[us]"), pa.timestamp("us"))
    if name == "revenue":
        return pa.array(np.round(v.astype(float), 2), pa.float64(), from_pandas=True)
    return pa.array(v, pa.string(), from_pandas=True)


def _iso(ts: np.ndarray, sep: str = "T") -> np.ndarray:
    s = np.datetime_as_string(ts.astype("datetime64[s]"), unit="s").astype(object)
    return s if sep == "T" else np.array([x.replace("T", sep) for x in s], dtype=object)


def _iso_offset(ts: np.ndarray) -> np.ndarray:
    """Helpdesk exports: local UK time with its offset (BST, +01:00, from the last Sunday of March)."""
    out = np.full(len(ts), None, dtype=object)
    ok = ~np.isnat(ts)
    t = pd.DatetimeIndex(ts[ok]).tz_localize("UTC").tz_convert("Europe/London")
    out[ok] = np.array(t.strftime("%Y-%m-%dT%H:%M:%S%z"), dtype=object)
    out[ok] = np.array([x[:-2] + ":" + x[-2:] for x in out[ok]], dtype=object)
    return out
