"""The ``tickets`` table: helpdesk tickets, the planted unresolved pre-sale questions among them.

Examples
--------
>>> from cxlib.synth.emit.tickets import _TOPICS
>>> _TOPICS[0]
'delivery'
"""

from __future__ import annotations

import numpy as np

from cxlib.synth.emit.base import _iso_offset, _Recorder
from cxlib.synth.emit.noise import _email_variant, _phone_format
from cxlib.synth.material import CALL_CENTRE_PHONE
from cxlib.synth.specs import ADV, ONB, PUR, REP, RISK, WB

_TOPICS = ("delivery", "return", "billing", "technical", "account")  # besides pre_sale_question


def _plan(rec: _Recorder) -> np.ndarray:
    """Tickets per person and month: Poisson at the persona's rate by stage, plus each pre-sale question."""
    sh = rec.lives.stage_hist
    rate = rec.per_person("ticket_rate")
    lam = np.where(np.isin(sh, [ONB, REP, ADV, WB, PUR]), rate[:, None], np.where(sh == RISK, rate[:, None] * 1.5, 0))
    k = rec.rng.poisson(lam)
    return k + rec.lives.presale.astype(int)


def _record(rec: _Recorder, tickets_pm: np.ndarray, hd_id: np.ndarray, presale_opened_all: np.ndarray) -> None:
    """Write the tickets: the pre-sale questions (opened when the lives say) first, then the others."""
    rng, I, lives = rec.rng, rec.lives.ident, rec.lives
    pre_p, pre_m = np.nonzero(lives.presale)
    other = tickets_pm - lives.presale.astype(int)
    p = np.repeat(np.arange(lives.n), other.sum(axis=1))
    m = np.repeat(np.tile(np.arange(rec.months), lives.n), other.reshape(-1))
    k2 = len(p)
    topic = np.array(_TOPICS, dtype=object)[(rng.random(k2) * 5).astype(int)]
    allp = np.concatenate([pre_p, p])
    topics = np.concatenate([np.full(len(pre_p), "pre_sale_question", dtype=object), topic])
    opened = np.concatenate([presale_opened_all, rec.ts(m)])
    resolved = np.concatenate([~lives.unresolved[pre_p, pre_m], rng.random(k2) < 0.85])
    k = len(allp)
    close = opened + (3600 * (1 + rng.exponential(30, k))).astype("timedelta64[s]")
    close = np.where(resolved | (rng.random(k) < 0.5), close, np.datetime64("NaT"))
    close = np.where(close >= rec.cfg.month_starts[-1], np.datetime64("NaT"), close)
    csat_u = rng.random(k)
    csat = np.where(resolved, 3 + (csat_u * 3).astype(int), 1 + (csat_u * 2.5).astype(int)).astype(float)
    csat = np.where(rng.random(k) < 0.6, csat, np.nan)
    channel = np.array(["email", "phone", "chat", "web_form"], dtype=object)[(rng.random(k) * 4).astype(int)]
    phone = np.where(channel == "phone", _phone_format(rng, I["phone"][allp]), None)
    phone = np.where((channel == "phone") & (rng.random(k) < rec.noise.junk_phone), CALL_CENTRE_PHONE, phone)
    email = np.where(channel != "phone", _email_variant(rng, rec.noise, I["email"][allp], 0.5), None)
    d = rng.random(k)
    defect = np.where(d < rec.noise.defects, "csat out of range", None)
    csat_txt = np.where(np.isnan(csat), None, np.array([f"{c:.0f}" for c in np.nan_to_num(csat)], dtype=object))
    csat_txt = np.where(defect != None, "7", csat_txt)  # noqa: E711
    rec.add(
        "tickets",
        {
            "source": np.full(k, "helpdesk", dtype=object),
            "ticket_id": rec.ids("T", k),
            "opened_at": _iso_offset(opened),
            "closed_at": _iso_offset(close),
            "contact_ref": hd_id[allp],
            "email": email,
            "phone": phone,
            "channel": channel,
            "topic": topics,
            "resolved": np.where(resolved, "true", "false").astype(object),
            "csat": csat_txt,
        },
        allp,
        defect,
    )
