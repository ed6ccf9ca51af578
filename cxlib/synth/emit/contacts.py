"""The ``contacts`` table: each system's customer records (shop, CRM, helpdesk, e-mail platform, loyalty,
an acquired company's legacy CRM), each copying the person's identity with its own noise.

:func:`_accounts` decides who has a record in which system and from when, writes the records, and returns
each person's record id per system: the other tables refer to people by these ids.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cxlib.synth.emit.base import _iso, _Recorder
from cxlib.synth.emit.mess import _mess
from cxlib.synth.emit.noise import _email_variant, _phone_format, _typo
from cxlib.synth.material import _NICK, JUNK_EMAILS


@dataclass
class _Accounts:
    """Each person's record id per system (``None`` where they have none) and the months the records began."""

    shop_id: np.ndarray
    crm_id: np.ndarray
    hd_id: np.ndarray
    esp_id: np.ndarray
    loy_id: np.ndarray
    shop_month: np.ndarray
    sub_month: np.ndarray
    loyalty_month: np.ndarray


def _shop_month(rec: _Recorder, first_cons: np.ndarray, first_pur: np.ndarray) -> np.ndarray:
    """The month each person opens a shop account: at consideration for 40%, else at the first purchase."""
    shop_early = rec.rng.random(rec.lives.n) < 0.4
    return np.where((first_cons >= 0) & shop_early, first_cons, first_pur)


def _accounts(
    rec: _Recorder, first_cons: np.ndarray, first_pur: np.ndarray, shop_month: np.ndarray, first_ticket: np.ndarray
) -> _Accounts:
    """Write every system's contact records, in a fixed order; return each person's ids and record months."""
    lives, noise = rec.lives, rec.noise
    sub_month = np.where(lives.subscriber, np.where(first_cons >= 0, first_cons, -1), -1)
    loyalty_month = np.where(lives.app_user, first_pur, -1)
    shop_id = _system(rec, "shop", "SHOP-", shop_month, typo_rate=0.01, phone_p=0.5, address_p=0.9)
    crm_id = _system(
        rec, "crm", "CRM-", first_pur, typo_rate=noise.typo, phone_p=0.8, birth_p=0.6, birth_fmt="yyyymmdd"
    )
    hd_id = _system(rec, "helpdesk", "HD-", first_ticket, typo_rate=noise.typo, phone_p=0.6, address_p=0.1)
    esp_id = _system(rec, "email_platform", "ESP-", sub_month, typo_rate=0.01, phone_p=0.0, address_p=0.0)
    loy_id = _system(rec, "loyalty", "LOY-", loyalty_month, typo_rate=0.02, use_work=False, phone_p=0.9, birth_p=0.9)
    _duplicate_shop_accounts(rec, shop_month)
    _legacy_crm(rec, first_pur)
    return _Accounts(shop_id, crm_id, hd_id, esp_id, loy_id, shop_month, sub_month, loyalty_month)


def _duplicate_shop_accounts(rec: _Recorder, shop_month: np.ndarray) -> None:
    """A second shop account for a few people, opened a few months later with the work address."""
    rng, n = rec.rng, rec.lives.n
    dup = (shop_month >= 0) & (rng.random(n) < rec.noise.duplicate_account)
    dup_month = np.where(dup, np.minimum(shop_month + 1 + (rng.random(n) * 6).astype(int), rec.months - 1), -1)
    _system(rec, "shop", "SHOP-", dup_month, typo_rate=0.05, use_work=True, phone_p=0.3, address_p=0.9)


def _legacy_crm(rec: _Recorder, first_pur: np.ndarray) -> None:
    """An acquired company's CRM: names, addresses and birth dates only (links only probabilistically)."""
    rng, n = rec.rng, rec.lives.n
    legacy = (first_pur >= 0) & (rng.random(n) < rec.noise.legacy_crm)
    legacy_month = np.where(legacy, (rng.random(n) * rec.months).astype(int), -1)
    _system(
        rec,
        "legacy_crm",
        "LEG-",
        legacy_month,
        typo_rate=rec.noise.typo,
        phone_p=0.0,
        address_p=1.0,
        birth_p=1.0,
        email_p=0.0,
    )


def _system(rec: _Recorder, source: str, prefix: str, month_arr: np.ndarray, **kw) -> np.ndarray:
    """One system's records for everyone with a month (>= 0); their ids per person (``None`` elsewhere)."""
    who = np.nonzero(month_arr >= 0)[0]
    ids = np.full(rec.lives.n, None, dtype=object)
    ids[who] = _contacts(rec, source, prefix, who, month_arr[who], **kw)
    return ids


def _contacts(
    rec: _Recorder,
    source: str,
    prefix: str,
    who: np.ndarray,
    month: np.ndarray,
    *,
    typo_rate: float,
    use_work: bool = False,
    phone_p: float = 0.7,
    birth_p: float = 0.0,
    address_p: float = 0.8,
    birth_fmt: str = "iso",
    email_p: float = 1.0,
) -> np.ndarray:
    """Write one contact record per person in ``who`` created in ``month``; return the record ids."""
    I, k = rec.lives.ident, len(who)
    ids = rec.ids(prefix, k)
    u = rec.rng.random((k, 10))
    has_email = rec.rng.random(k) < email_p
    first, last = _names(rec, who, u, typo_rate)
    email = _email(rec, who, u, has_email, use_work)
    phone = np.where(u[:, 5] < phone_p, _phone_format(rec.rng, I["phone"][who]), None)
    moved = (I["moved_month"][who] >= 0) & (month >= I["moved_month"][who])
    street = np.where(moved, I["new_street"][who], I["street"][who])
    has_addr = u[:, 6] < address_p
    created = rec.ts(month)
    upd = created + (rec.rng.random(k) * 86400 * 90).astype("timedelta64[s]")
    upd = np.minimum(upd, rec.cfg.month_starts[-1] - np.timedelta64(1, "s"))
    birth_s = np.where(u[:, 7] < birth_p, _birth_text(I["birth_date"][who], birth_fmt), None)
    messy = {
        "first_name": first,
        "last_name": last,
        "street": np.where(has_addr, street, None),
        "city": np.where(has_addr, I["city"][who], None),
        "postcode": np.where(has_addr, I["postcode"][who], None),
        "birth_date": birth_s,
    }
    unreadable = _mess(rec.mess_rng, rec.noise, messy, birth_fmt)  # its own stream: the rest stays in step
    phone, birth_s, email, defect = _defects(u[:, 9], rec.noise.defects, phone, messy["birth_date"], email, birth_fmt)
    defect = np.where((defect == None) & unreadable, "unreadable birth date", defect)  # noqa: E711
    rows = {
        "source": np.full(k, source, dtype=object),
        "record_id": ids,
        "first_name": messy["first_name"],
        "last_name": messy["last_name"],
        "email": email,
        "phone": phone,
        "street": messy["street"],
        "city": messy["city"],
        "postcode": messy["postcode"],
        "country": np.where(u[:, 8] < 0.9, I["country"][who], None),
        "birth_date": birth_s,
        "created_at": _iso(created),
        "updated_at": _iso(upd),
    }
    rec.add("contacts", rows, who, defect)
    return ids


def _names(rec: _Recorder, who: np.ndarray, u: np.ndarray, typo_rate: float) -> tuple[np.ndarray, np.ndarray]:
    """First and last names with nicknames, typos and swapped fields."""
    I, noise = rec.lives.ident, rec.noise
    first = I["first_name"][who].copy()
    nick = np.array([_NICK.get(f, f) for f in first], dtype=object)
    first = np.where(u[:, 0] < noise.nickname, nick, first)
    first = _typo(rec.rng, first, typo_rate)
    last = _typo(rec.rng, I["last_name"][who], typo_rate)
    swap = u[:, 1] < noise.swapped_names
    return np.where(swap, last, first), np.where(swap, first, last)


def _email(rec: _Recorder, who: np.ndarray, u: np.ndarray, has_email: np.ndarray, use_work: bool) -> np.ndarray:
    """The address the system holds: a variant of the person's (or work) address, missing, or junk."""
    I, noise = rec.lives.ident, rec.noise
    email = I["email"][who]
    if use_work:
        email = np.where(I["work_email"][who] != None, I["work_email"][who], email)  # noqa: E711
    email = _email_variant(rec.rng, noise, email)
    email = np.where((u[:, 2] < noise.missing_email) | ~has_email, None, email)
    return np.where(
        (u[:, 3] < noise.junk_email) & has_email,
        np.array(JUNK_EMAILS, dtype=object)[(u[:, 4] * 3).astype(int)],
        email,
    )


def _birth_text(birth_date: np.ndarray, birth_fmt: str) -> np.ndarray:
    """Birth dates as the system writes them: ISO or ``yyyymmdd``."""
    birth = birth_date.astype("datetime64[D]")
    if birth_fmt == "yyyymmdd":
        return np.array([str(b).replace("-", "") for b in birth], dtype=object)
    return birth.astype(str).astype(object)


def _defects(
    u: np.ndarray, rate: float, phone: np.ndarray, birth_s: np.ndarray, email: np.ndarray, birth_fmt: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Plant malformed phones, impossible birth dates and malformed e-mails; return them and each row's defect."""
    d = u / max(rate, 1e-12)
    defect = np.select([d < 1, d < 2, d < 3], ["malformed phone", "impossible birth date", "malformed email"], "")
    phone = np.where(defect == "malformed phone", "n/a", phone)
    birth_s = np.where(defect == "impossible birth date", "2091-02-30" if birth_fmt == "iso" else "20910230", birth_s)
    email = np.where(
        (defect == "malformed email") & (email != None),  # noqa: E711
        np.array([str(e).replace("@", "[at]") for e in email], dtype=object),
        email,
    )
    defect = np.where((defect == "") | ((defect == "malformed email") & (email == None)), None, defect)  # noqa: E711
    return phone, birth_s, email, defect.astype(object)
