"""The ``orders`` table: shop and point-of-sale orders, with returns, cancellations and planted defects.

The amounts and statuses were drawn with the lives (they are part of the common random numbers); here each
order gets its channel and time (:func:`_plan`, which the events also use) and is written the way the shop
and the tills export it (:func:`_record`).
"""

from __future__ import annotations

import numpy as np

from cxlib.synth.chain import _draw
from cxlib.synth.emit.base import _iso, _Recorder
from cxlib.synth.emit.contacts import _Accounts
from cxlib.synth.emit.noise import _email_variant
from cxlib.synth.material import _COUNTRIES, _RETURN_EXPECTATION, _RETURN_FULFILMENT


def _plan(rec: _Recorder) -> dict[str, np.ndarray]:
    """One row per order: person ``p``, month ``m``, ``amount``, ``status`` code, ``channel`` and ``ts``."""
    rng, lives = rec.rng, rec.lives
    p, m, j = np.nonzero(np.arange(3)[None, None, :] < lives.orders_n[:, :, None])
    chw = np.array([[s["channels"][c] for c in ("web", "app", "store")] for s in rec.spec])[lives.persona[p]]
    chw = chw * np.column_stack([np.ones(len(p)), lives.app_user[p], np.ones(len(p))])
    chw = chw / chw.sum(axis=1, keepdims=True)
    c = _draw(chw, rng.random(len(p)))
    ts = rec.ts(m)
    return dict(
        p=p,
        m=m,
        amount=lives.amounts[p, m, j],
        status=lives.status[p, m, j],
        channel=np.array(["web", "app", "store"], dtype=object)[c],
        ts=ts,
    )


def _record(rec: _Recorder, op: dict[str, np.ndarray], acc: _Accounts) -> dict[str, int]:
    """Write the orders (and a re-sent export of a few); return the observable returns truth."""
    rng, I = rec.rng, rec.lives.ident
    k = len(op["p"])
    p = op["p"]
    store = op["channel"] == "store"
    ids = rec.ids("O", k)
    ref = np.where(store, np.where(rng.random(k) < 0.5, acc.loy_id[p], None), acc.shop_id[p])
    email = np.where(store, np.where(rng.random(k) < 0.3, I["email"][p], None), I["email"][p])
    email = _email_variant(rng, rec.noise, email, 0.5)
    cur = np.array([_COUNTRIES[c][1] for c in I["country"][p]], dtype=object)
    status = np.array(["completed", "returned", "cancelled"], dtype=object)[op["status"]]
    fulfil = rng.random(k) < 0.4
    reason = np.where(
        fulfil,
        np.array(_RETURN_FULFILMENT, dtype=object)[(rng.random(k) * 4).astype(int)],
        np.array(_RETURN_EXPECTATION, dtype=object)[(rng.random(k) * 4).astype(int)],
    )
    reason = np.where(status == "returned", reason, None)
    amount = np.where(
        store,
        np.array([f"{a:,.2f}" for a in op["amount"]], dtype=object),
        np.array([f"{a:.2f}" for a in op["amount"]], dtype=object),
    )
    status_txt = np.where(store & (status == "completed"), "Completed", status)
    d = rng.random(k)
    rate = rec.noise.defects
    defect = np.where(d < rate, "negative amount", np.where(d < 2 * rate, "unknown status", None))
    amount = np.where(defect == "negative amount", np.char.add("-", amount.astype(str)).astype(object), amount)
    status_txt = np.where(defect == "unknown status", "pending", status_txt)
    cols = {
        "source": np.where(store, "pos", "shop").astype(object),
        "order_id": ids,
        "ts": _iso(op["ts"], sep=" "),
        "contact_ref": ref,
        "email": email,
        "amount": amount,
        "currency": cur,
        "status": status_txt,
        "channel": op["channel"],
        "return_reason": reason,
    }
    rec.add("orders", cols, p, defect)
    # an exact duplicate of a few rows (a re-sent export)
    dup = np.nonzero(rng.random(k) < rate)[0]
    if len(dup):
        again = {c: v[dup] for c, v in cols.items()}
        rec.add("orders", again, p[dup], np.full(len(dup), "duplicate key", dtype=object))
    return {
        "returned_orders": int((status == "returned").sum()),
        "returned_orders_fulfilment": int(((status == "returned") & fulfil).sum()),
    }
