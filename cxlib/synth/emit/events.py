"""The ``events`` table: web, app, e-mail, store and ad events, in the order each person lived them.

Events come in two steps around the order plan (:func:`cxlib.synth.emit.orders._plan`), which draws from the
same stream in between: :func:`_behaviour` draws what people did month by month (with the planted checkout
abandonment and the win-back sends), and :func:`_record` adds the analytics view of online orders, assigns
channels, campaigns and identifiers, and writes the rows. It returns the observable checkout truth.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from cxlib.synth.emit.base import _Recorder
from cxlib.synth.emit.contacts import _Accounts
from cxlib.synth.material import _KIOSK_COOKIES
from cxlib.synth.specs import ADV, AW, CHURN, CONS, LOST, ONB, PUR, REP, RISK, WB

_Part = tuple  # (event name, person positions, months, timestamps)


@dataclass
class _Stream:
    """Every event of the block, unsorted; the online orders' checkout_start and purchase come last."""

    event: np.ndarray
    person: np.ndarray
    month: np.ndarray
    ts: np.ndarray
    campaign: np.ndarray
    revenue: np.ndarray
    online_channel: np.ndarray  # the online orders' channels (web or app), in order
    n_online: int


def _rates(rec: _Recorder, ch: np.ndarray, sub_month: np.ndarray) -> dict[str, np.ndarray]:
    """Monthly event rates per person and month, by the stage they are in and their channel weights."""
    sh, lives = rec.lives.stage_hist, rec.lives
    web, app, email_w, store = (ch[:, i][:, None] for i in range(4))
    active = sh >= 0
    post = np.isin(sh, [ONB, REP, ADV, WB])
    browse = np.isin(sh, [CONS, PUR])
    rates = {
        "ad_click": np.where(sh == AW, 1.0, 0.0) + np.where(browse, 0.3, 0.0),
        "page_view": web
        * (
            np.where(sh == AW, 1.2, 0)
            + np.where(browse, 3.0, 0)
            + np.where(post, 1.5, 0)
            + np.where(sh == RISK, 0.5, 0)
            + np.where(sh == CHURN, 0.05, 0)
        ),
        "product_view": web * (np.where(browse, 2.0, 0) + np.where(post, 1.0, 0) + np.where(sh == RISK, 0.2, 0)),
        "add_to_cart": web * (np.where(browse, 0.6, 0) + np.where(post, 0.4, 0)),
        "checkout_start": web * (np.where(browse, 0.15, 0) + np.where(post, 0.1, 0)),
        "app_open": np.where(
            lives.app_user[:, None],
            app * (np.where(browse, 1.0, 0) + np.where(post, 3.0, 0) + np.where(sh == RISK, 0.5, 0)),
            0,
        ),
        "store_visit": store * (np.where(browse, 0.3, 0) + np.where(post, 0.4, 0)),
        "referral": np.where(sh == ADV, 0.4, 0.0),
    }
    subscribed = (sub_month[:, None] >= 0) & (np.arange(rec.months)[None, :] >= sub_month[:, None]) & active
    subscribed &= ~np.isin(sh, [LOST])
    rates["email_sent"] = np.where(subscribed, 4.0, 0.0)
    rates["email_open"] = np.where(subscribed, 1.2 * email_w * np.where(sh == CHURN, 0.2, 1.0), 0.0)
    rates["email_click"] = np.where(subscribed & (post | browse | (sh == RISK)), 0.3 * email_w, 0.0)
    return rates


def _behaviour(rec: _Recorder, ch: np.ndarray, sub_month: np.ndarray, presale_opened: np.ndarray) -> list[_Part]:
    """What people did: Poisson counts at the monthly rates, the planted abandonments, the win-back sends."""
    rng, sh, n, months = rec.rng, rec.lives.stage_hist, rec.lives.n, rec.months
    active = sh >= 0
    parts = []
    for ev, lam in _rates(rec, ch, sub_month).items():
        k = rng.poisson(np.broadcast_to(lam, sh.shape) * active)
        p = np.repeat(np.arange(n), k.sum(axis=1))
        m = np.repeat(np.tile(np.arange(months), n), k.reshape(-1))
        parts.append((ev, p, m, rec.ts(m)))
    # checkout abandonment after an unresolved pre-sale ticket (the planted service failure)
    p, m = np.nonzero(rec.lives.unresolved)
    if len(p):
        ts = presale_opened + (3600 * (1 + rng.random(len(p)) * 47)).astype("timedelta64[s]")
        ts = np.minimum(ts, rec.cfg.month_starts[m + 1] - np.timedelta64(1, "s"))
        for ev, shift in (("add_to_cart", -60), ("checkout_start", 0)):
            parts.append((ev, p, m, ts + np.timedelta64(shift, "s")))
    # win-back campaign sends and holdout markers
    for ev, mask in (("email_sent", rec.lives.treated), ("email_holdout", rec.lives.holdout)):
        p, m = np.nonzero(mask)
        parts.append((ev + "|winback_offer", p, m, rec.ts(m)))
    return parts


def _stack(parts: list[_Part], op: dict) -> _Stream:
    """All events in one stream, with the online orders as analytics sees them (checkout_start, purchase)."""
    online = op["channel"] != "store"
    parts = [
        *parts,
        ("checkout_start", op["p"][online], op["m"][online], op["ts"][online] - np.timedelta64(240, "s")),
        ("purchase", op["p"][online], op["m"][online], op["ts"][online]),
    ]
    ev_all = np.concatenate([np.full(len(x[1]), x[0], dtype=object) for x in parts])
    k = len(ev_all)
    campaign = np.full(k, None, dtype=object)
    wb = np.char.endswith(ev_all.astype(str), "|winback_offer")
    ev_all = np.where(wb, np.char.replace(ev_all.astype(str), "|winback_offer", ""), ev_all).astype(object)
    campaign[wb] = "winback_offer"
    revenue = np.full(k, np.nan)
    n_online = int(online.sum())
    if n_online:
        revenue[-n_online:] = op["amount"][online]
    return _Stream(
        event=ev_all,
        person=np.concatenate([x[1] for x in parts]).astype(int),
        month=np.concatenate([x[2] for x in parts]).astype(int),
        ts=np.concatenate([x[3] for x in parts]),
        campaign=campaign,
        revenue=revenue,
        online_channel=op["channel"][online],
        n_online=n_online,
    )


def _channels(rec: _Recorder, s: _Stream) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each event's channel, source system and campaign (ads, the blitz campaign, newsletters)."""
    rng, k = rec.rng, len(s.event)
    campaign = s.campaign.copy()
    channel = np.full(k, "web", dtype=object)
    source = np.full(k, "web_analytics", dtype=object)
    is_email = np.char.startswith(s.event.astype(str), "email_")
    channel[is_email], source[is_email] = "email", "email_platform"
    is_app = s.event == "app_open"
    channel[is_app], source[is_app] = "app", "app_analytics"
    if s.n_online:
        app_order = np.zeros(k, dtype=bool)
        app_order[-2 * s.n_online :] = np.concatenate([s.online_channel == "app"] * 2)
        channel[app_order], source[app_order] = "app", "app_analytics"
    is_store = s.event == "store_visit"
    channel[is_store], source[is_store] = "store", "pos"
    is_ad = s.event == "ad_click"
    ad_u = rng.random(k)
    blitz_ev = is_ad & rec.lives.blitz[s.person] & (rec.lives.stage_hist[s.person, s.month] == AW)
    ad_ch = np.array(["paid_search", "paid_social", "display"], dtype=object)[(ad_u * 3).astype(int)]
    ad_camp = np.array(["brand_search", "social_prospecting", "always_on_display"], dtype=object)[
        (ad_u * 3).astype(int)
    ]
    channel[is_ad], source[is_ad] = ad_ch[is_ad], "ads"
    campaign[is_ad] = ad_camp[is_ad]
    channel[blitz_ev], campaign[blitz_ev] = "paid_social", "social_blitz"
    campaign[is_email & (campaign == None) & (rng.random(k) < 0.5)] = "newsletter"  # noqa: E711
    return channel, source, campaign


def _identifiers(
    rec: _Recorder, s: _Stream, source: np.ndarray, campaign: np.ndarray, acc: _Accounts
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each event's anonymous id (cookie or device), contact reference and e-mail address."""
    rng, I, k, p_all, m_all = rec.rng, rec.lives.ident, len(s.event), s.person, s.month
    shop_month, loyalty_month = acc.shop_month, acc.loyalty_month
    # Until a person has a shop account they browse on their first device only; after it, on any of them
    # (and logging in links each device to the account).
    device = (rng.random(k) * I["_n_cookies"][p_all]).astype(int)
    device = np.where((shop_month[p_all] >= 0) & (m_all >= shop_month[p_all]), device, 0)
    cookie = I["_cookies"][p_all, device]
    kiosk = rng.random(k) < rec.noise.kiosk_cookie
    cookie = np.where(kiosk, np.array(_KIOSK_COOKIES, dtype=object)[(rng.random(k) * 5).astype(int)], cookie)
    anon = np.where(source == "app_analytics", I["_device"][p_all], cookie)
    anon = np.where((source == "email_platform") | (source == "pos"), None, anon)
    logged = (m_all >= shop_month[p_all]) & (shop_month[p_all] >= 0) & (rng.random(k) < 0.5)
    ref = np.where((source == "web_analytics") & logged, acc.shop_id[p_all], None)
    ref = np.where(
        (source == "app_analytics") & (m_all >= loyalty_month[p_all]) & (loyalty_month[p_all] >= 0),
        acc.loy_id[p_all],
        ref,
    )
    ref = np.where((source == "pos") & (rng.random(k) < 0.4), acc.loy_id[p_all], ref)
    ref = np.where(source == "email_platform", acc.esp_id[p_all], ref)
    email = np.where(source == "email_platform", I["email"][p_all], None)
    # the checkout form asks for an email address, so analytics records it with checkout_start
    email = np.where(s.event == "checkout_start", I["email"][p_all], email)
    # winback emails also go to non-subscribers (sent to the CRM address): no ESP record
    email = np.where((campaign == "winback_offer") & (ref == None), I["email"][p_all], email)  # noqa: E711
    return anon, ref, email


def _record(rec: _Recorder, parts: list[_Part], op: dict, acc: _Accounts, presale_opened: np.ndarray) -> dict:
    """Write the events, sorted per person by time; return the observable checkout-abandonment truth."""
    s = _stack(parts, op)
    k = len(s.event)
    channel, source, campaign = _channels(rec, s)
    anon, ref, email = _identifiers(rec, s, source, campaign, acc)
    order = np.lexsort((s.event.astype(str), s.ts, s.person))
    cols = {
        "source": source,
        "event_id": None,
        "ts": s.ts,
        "anonymous_id": anon,
        "contact_ref": ref,
        "email": email,
        "channel": channel,
        "event": s.event,
        "campaign": campaign,
        "revenue": s.revenue,
    }
    cols = {c: (v[order] if v is not None else None) for c, v in cols.items()}
    p_sorted = s.person[order]
    # a login event each month a web-logged-in person is active links cookie and account
    login = (cols["contact_ref"] != None) & (cols["event"] == "page_view")  # noqa: E711
    first_login = login & ~pd.Series(p_sorted).where(login).duplicated().to_numpy()
    cols["event"] = np.where(first_login, "login", cols["event"]).astype(object)
    cols["event_id"] = rec.ids("E", k)
    defect = np.where(rec.rng.random(k) < rec.noise.defects / 4, "missing event_id", None)
    cols["event_id"] = np.where(defect != None, None, cols["event_id"])  # noqa: E711
    rec.add("events", cols, p_sorted, defect)
    return _checkout_truth(rec, s, presale_opened)


def _checkout_truth(rec: _Recorder, s: _Stream, presale_opened: np.ndarray) -> dict[str, int]:
    """Who abandoned checkout without ever buying, and whether an unresolved pre-sale ticket came first."""
    n = rec.lives.n
    sec = s.ts.astype("datetime64[s]").astype(np.int64)
    co = s.event == "checkout_start"
    last = np.full(n, np.iinfo(np.int64).min)
    np.maximum.at(last, s.person[co], sec[co])
    up, _ = np.nonzero(rec.lives.unresolved)
    first_fail = np.full(n, np.iinfo(np.int64).max)
    np.minimum.at(first_fail, up, presale_opened.astype("datetime64[s]").astype(np.int64))
    abandoner = (last > np.iinfo(np.int64).min) & (rec.lives.orders_n.sum(axis=1) == 0)
    return {
        "checkout_abandoners": int(abandoner.sum()),
        "checkout_abandoners_presale_failure": int((abandoner & (first_fail <= last)).sum()),
    }
