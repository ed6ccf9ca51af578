"""What each system recorded about one block of simulated people: one module per source table.

:func:`_emit` runs the table emitters in a fixed order on one random stream (the order is part of the
output: changing it changes every generated company):

1. :mod:`~cxlib.synth.emit.contacts` -- who has a record in which system, and the records;
2. :mod:`~cxlib.synth.emit.events` -- behaviour, then (after :func:`orders._plan <cxlib.synth.emit.orders._plan>`)
   the analytics rows;
3. :mod:`~cxlib.synth.emit.orders`, :mod:`~cxlib.synth.emit.tickets`, :mod:`~cxlib.synth.emit.surveys`,
   :mod:`~cxlib.synth.emit.enrichment`.

They share a small base, :class:`~cxlib.synth.emit.base._Recorder` (the stream, the id counter, the rows).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

from cxlib.synth.emit import contacts, enrichment, events, orders, surveys, tickets
from cxlib.synth.emit.base import _first_month, _Recorder
from cxlib.synth.specs import _CHANNELS, CONS, PUR
from cxlib.synth.verbatims import write_text

if TYPE_CHECKING:
    from cxlib.synth.config import _Config
    from cxlib.synth.population import _Lives


@dataclass
class _Emitted:
    """One block's source tables, its record map, and what the data shows (observable truths)."""

    tables: dict[str, pa.Table]
    record_map: pa.Table
    observed: dict[str, int]
    voice: pa.Table | None = None  # the verbatims' planted topics (:mod:`cxlib.synth.verbatims`)


def _emit(cfg: _Config, rng: np.random.Generator, lives: _Lives) -> _Emitted:
    """Write every system's records for one block of lives, drawing from ``rng`` in a fixed order."""
    rec = _Recorder(cfg, rng, lives)
    sh = lives.stage_hist
    ch = np.array([[s["channels"][c] for c in _CHANNELS] for s in rec.spec])[lives.persona]  # (n, 4)
    first_cons, first_pur = _first_month(sh == CONS), _first_month(sh == PUR)
    shop_month = contacts._shop_month(rec, first_cons, first_pur)
    tickets_pm = tickets._plan(rec)
    acc = contacts._accounts(rec, first_cons, first_pur, shop_month, _first_month(tickets_pm > 0))
    pre_p, pre_m = np.nonzero(lives.presale)
    presale_opened_all = rec.ts(pre_m)
    presale_opened = presale_opened_all[lives.unresolved[pre_p, pre_m]]  # the unresolved ones
    behaviour = events._behaviour(rec, ch, acc.sub_month, presale_opened)
    plan = orders._plan(rec)
    checkout = events._record(rec, behaviour, plan, acc, presale_opened)
    returns = orders._record(rec, plan, acc)
    tickets._record(rec, tickets_pm, acc.hd_id, presale_opened_all)
    surveys._record(rec, acc.crm_id)
    enrichment._record(rec)
    voice = write_text(rec)  # its own random stream: every other byte is the same without it
    tables, record_map = rec.finish()
    return _Emitted(tables, record_map, {**checkout, **returns}, voice)
