"""Identity noise in the systems' records: e-mail variants and case, phone formats, typos.

Each function draws its uniforms from the block's stream first (a fixed number per value, whether or not
the value is changed), so that the stream stays in step whatever the noise rates.

Examples
--------
>>> import numpy as np
>>> from cxlib.synth.config import IdentityNoise
>>> rng = np.random.default_rng(1)
>>> _email_variant(rng, IdentityNoise(email_variant=0, email_case=0), np.array(["a.b@x.com", None], dtype=object))
array(['a.b@x.com', None], dtype=object)
>>> str(_phone_format(rng, np.array(["+447700900123"], dtype=object))[0]).replace(" ", "").replace("-", "")[-6:]
'900123'
>>> _typo(rng, np.array(["Robert"], dtype=object), rate=0.0)
array(['Robert'], dtype=object)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from cxlib.synth.material import _COUNTRIES

if TYPE_CHECKING:
    from cxlib.synth.config import IdentityNoise


def _email_variant(
    rng: np.random.Generator, noise: IdentityNoise, emails: np.ndarray, source_rate: float = 1.0
) -> np.ndarray:
    """Gmail dots or plus-tags, and title or upper case, at the noise rates times ``source_rate``."""
    out = emails.copy()
    k = len(out)
    u = rng.random((k, 3))
    for i in range(k):
        e = out[i]
        if e is None:
            continue
        local, _, dom = e.partition("@")
        if u[i, 0] < noise.email_variant * source_rate:
            if dom == "gmail.com" and "." not in local:
                local = local[: len(local) // 2] + "." + local[len(local) // 2 :]
            else:
                local = f"{local}+{'shop' if u[i, 2] < 0.5 else 'news'}"
        e = f"{local}@{dom}"
        if u[i, 1] < noise.email_case * source_rate:
            e = e.title() if u[i, 2] < 0.5 else e.upper()
        out[i] = e
    return out


def _phone_format(rng: np.random.Generator, phones: np.ndarray) -> np.ndarray:
    """One of five ways of writing each number (E.164, spaced, national, dashed, ``00`` prefix)."""
    out = phones.copy()
    u = rng.random(len(out))
    for i, ph in enumerate(out):
        if ph is None:
            continue
        code = next(v[2] for v in _COUNTRIES.values() if ph.startswith("+" + v[2]))
        nsn = ph[1 + len(code) :]
        f = int(u[i] * 5)
        out[i] = (
            ph,
            f"+{code} {nsn[:4]} {nsn[4:]}",
            f"0{nsn[:4]} {nsn[4:]}",
            f"0{nsn[:4]}-{nsn[4:7]}-{nsn[7:]}",
            f"00{code}{nsn}",
        )[f]
    return out


def _typo(rng: np.random.Generator, names: np.ndarray, rate: float) -> np.ndarray:
    """Swap two neighbouring letters (or drop the last) in a share ``rate`` of names of 3 letters or more."""
    out = names.copy()
    u = rng.random((len(out), 2))
    for i, s in enumerate(out):
        if s is None or u[i, 0] >= rate or len(s) < 3:
            continue
        j = 1 + int(u[i, 1] * (len(s) - 2))
        out[i] = s[:j] + s[j + 1] + s[j] + s[j + 2 :] if j + 1 < len(s) else s[:j]
    return out
