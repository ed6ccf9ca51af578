"""The ``enrichment`` table: a partner's attributes keyed by e-mail hash, and geo-demographics by postcode.

Examples
--------
>>> _geo_segment(np.array(["AB1 2CD"]))[0] in _GEO
True
"""

from __future__ import annotations

import hashlib

import numpy as np

from cxlib.synth.emit.base import _Recorder
from cxlib.synth.material import _GEO, _INCOME, _INTERESTS

_AGE_BANDS = ("18-24", "25-34", "35-44", "45-54", "55-64", "65+")


def _record(rec: _Recorder) -> None:
    """Write the partner rows (half the people) and one geo-demographic row per postcode of the block."""
    rng, I = rec.rng, rec.lives.ident
    who = np.nonzero(rng.random(rec.lives.n) < 0.5)[0]
    k = len(who)
    sha = np.array([hashlib.sha256(e.strip().lower().encode()).hexdigest() for e in I["email"][who]], dtype=object)
    rec.add(
        "enrichment",
        {
            "source": np.full(k, "partner_data", dtype=object),
            "email_sha256": sha,
            "postcode": np.full(k, None, dtype=object),
            "income_band": np.array(_INCOME, dtype=object)[(rng.random(k) * 5).astype(int)],
            "age_band": np.array(_AGE_BANDS, dtype=object)[(rng.random(k) * 6).astype(int)],
            "interest": np.array(_INTERESTS, dtype=object)[(rng.random(k) * len(_INTERESTS)).astype(int)],
            "geo_segment": np.full(k, None, dtype=object),
        },
        who,
    )
    # one geo-demographic row per person's postcode (deduplicated across blocks by the postcode's hash)
    pcs, first_idx = np.unique(I["postcode"].astype(str), return_index=True)
    k = len(pcs)
    rec.add(
        "enrichment",
        {
            "source": np.full(k, "geo_demographics", dtype=object),
            "email_sha256": np.full(k, None, dtype=object),
            "postcode": pcs.astype(object),
            "income_band": np.full(k, None, dtype=object),
            "age_band": np.full(k, None, dtype=object),
            "interest": np.full(k, None, dtype=object),
            "geo_segment": _geo_segment(pcs),
        },
        np.array([], dtype=int) if k == 0 else first_idx,
        np.full(k, "postcode row", dtype=object),
    )


def _geo_segment(postcodes: np.ndarray) -> np.ndarray:
    """A postcode's segment, from its hash (so the same postcode gets the same segment in every block)."""
    digits = (int(hashlib.md5(x.encode()).hexdigest()[:6], 16) for x in postcodes)
    return np.array([_GEO[d % len(_GEO)] for d in digits], dtype=object)
