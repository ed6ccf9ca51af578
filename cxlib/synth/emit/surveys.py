"""The ``surveys`` table: NPS responses after a purchase month, by persona and stage.

Examples
--------
>>> len(_COMMENTS), _COMMENTS[-1]
(7, 'Support never answered')
"""

from __future__ import annotations

import numpy as np

from cxlib.synth.emit.base import _iso, _Recorder
from cxlib.synth.specs import ADV, RISK, WB

_COMMENTS = np.array(
    [
        "",
        "Quick delivery",
        "Helpful staff",
        "Too expensive",
        "Website is slow",
        "Love the app",
        "Support never answered",
    ],
    dtype=object,
)


def _record(rec: _Recorder, crm_id: np.ndarray) -> None:
    """Write a response for 15% of the person-months with an order (linked by CRM id, else by e-mail)."""
    rng, I, sh, lives = rec.rng, rec.lives.ident, rec.lives.stage_hist, rec.lives
    eligible = (lives.orders_n > 0) & (rng.random(sh.shape) < 0.15)
    p, m = np.nonzero(eligible)
    k = len(p)
    base = np.array([s["nps"] for s in rec.spec])[lives.persona[p]]
    adj = np.select([sh[p, m] == ADV, sh[p, m] == RISK, sh[p, m] == WB], [1.5, -2.5, -1.0], 0.0)
    nps = np.clip(np.round(base + adj + rng.normal(0, 1.5, k)), 0, 10).astype(int)
    defect = np.where(rng.random(k) < rec.noise.defects, "nps out of range", None)
    nps_txt = np.where(defect != None, "11", nps.astype(str).astype(object))  # noqa: E711
    rec.add(
        "surveys",
        {
            "source": np.full(k, "survey_tool", dtype=object),
            "response_id": rec.ids("R", k),
            "ts": _iso(rec.ts(m)),
            "contact_ref": crm_id[p],
            "email": np.where(crm_id[p] == None, I["email"][p], None),  # noqa: E711
            "nps": nps_txt,
            "comment": _COMMENTS[(rng.random(k) * len(_COMMENTS)).astype(int)],
        },
        p,
        defect,
    )
