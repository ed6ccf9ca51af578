"""Each person's true identity: names, e-mail addresses, phone numbers, addresses, devices, households.

The systems' records (:mod:`cxlib.synth.emit`) copy these with noise; the truth keeps them as they are.
Keys starting with ``_`` (cookies, devices) are used by the emitters and not written to the truth.

Examples
--------
>>> import numpy as np
>>> from cxlib.synth.config import _config
>>> cfg = _config(3, seed=1, start="2024-01-01", months=4, scenario=None, noise=None)
>>> rng = np.random.default_rng(0)
>>> ident = _identities(cfg, rng, rng.random((3, 16)), 3, np.zeros(3, int), np.zeros(3, int),
...                     np.array(["P0000000", "P0000001", "P0000002"], dtype=object))
>>> bool(all(p.startswith("+44") for p in ident["phone"]))
True
"""

from __future__ import annotations

import numpy as np

from cxlib.synth.config import _Config
from cxlib.synth.material import _COUNTRIES, _COUNTRY_CODES, _DOMAINS, _FIRST, _LAST, _STREETS


def _identities(
    cfg: _Config,
    rng: np.random.Generator,
    A: np.ndarray,
    n: int,
    persona: np.ndarray,
    country_idx: np.ndarray,
    people_ids: np.ndarray,
) -> dict[str, np.ndarray]:
    """True identity of each person: names, emails, phones, addresses, devices."""
    noise = cfg.noise
    first = np.array(_FIRST, dtype=object)[rng.integers(0, len(_FIRST), n)]
    last = np.array(_LAST, dtype=object)[rng.integers(0, len(_LAST), n)]
    countries = np.array(_COUNTRY_CODES, dtype=object)[country_idx]
    digits = rng.integers(0, 10, (n, 9))
    house = rng.integers(1, 200, n)
    street_i = rng.integers(0, len(_STREETS), n)
    new_house = rng.integers(1, 200, n)
    new_street_i = rng.integers(0, len(_STREETS), n)
    city_u = rng.random(n)
    pc_letters = rng.integers(0, 26, (n, 4))
    pc_digits = rng.integers(1, 10, (n, 2))
    birth = np.datetime64("1950-01-01") + rng.integers(0, 365 * 52, n).astype("timedelta64[D]")
    domain = np.array(_DOMAINS, dtype=object)[rng.integers(0, len(_DOMAINS), n)]
    n_cookies = rng.integers(1, 4, n)
    cookie_bits = rng.integers(0, 2**62, (n, 3))
    device_bits = rng.integers(0, 2**62, n)
    moved_month = np.where(A[:, 7] < noise.moved, np.floor(A[:, 8] * cfg.months).astype(int), -1)
    second_email = A[:, 9] < noise.second_email
    sep = np.where(A[:, 10] < 0.5, ".", "")
    year2 = birth.astype("datetime64[Y]").astype(int) % 100
    phone, email, work_email, street, new_street, city, postcode = ([None] * n for _ in range(7))
    for i in range(n):
        c = countries[i]
        _, _, code, prefix, cities = _COUNTRIES[c]
        nsn = prefix + "".join(map(str, digits[i, : 10 - len(prefix)]))
        phone[i] = f"+{code}{nsn}"
        local = f"{first[i]}{sep[i]}{last[i]}".lower().replace("'", "").replace("ü", "u")
        # the person's number keeps addresses unique: two people never share a real mailbox
        number = int(people_ids[i][1:])
        email[i] = f"{local}{year2[i]:02d}{number}@{domain[i]}" if A[i, 11] < 0.5 else f"{local}{number}@{domain[i]}"
        surname = last[i].lower().replace("'", "").replace("ü", "u")
        work_email[i] = f"{first[i][0].lower()}.{surname}{number}@work-{number % 97}.com"
        street[i] = f"{house[i]} {_STREETS[street_i[i]]}"
        new_street[i] = f"{new_house[i]} {_STREETS[new_street_i[i]]}"
        city[i] = cities[int(city_u[i] * len(cities))]
        L = pc_letters[i]
        postcode[i] = (
            f"{chr(65 + L[0])}{chr(65 + L[1])}{pc_digits[i, 0]} {pc_digits[i, 1]}{chr(65 + L[2])}{chr(65 + L[3])}"
            if c == "GB"
            else f"{''.join(map(str, digits[i, :5]))}"
        )
    place = {
        "street": np.array(street, dtype=object),
        "city": np.array(city, dtype=object),
        "postcode": np.array(postcode, dtype=object),
        "last_name": np.array(last, dtype=object),
        "country": countries,
    }
    place, household_id = _households(A[:, 6] < noise.household, people_ids, place)
    return {
        "first_name": first,
        "last_name": place["last_name"],
        "email": np.array(email, dtype=object),
        "work_email": np.where(second_email, np.array(work_email, dtype=object), None),
        "phone": np.array(phone, dtype=object),
        "street": place["street"],
        "city": place["city"],
        "postcode": place["postcode"],
        "new_street": np.where(moved_month >= 0, np.array(new_street, dtype=object), None),
        "moved_month": moved_month,
        "country": place["country"],
        "birth_date": birth.astype("datetime64[s]"),
        "household_id": household_id,
        "_cookies": np.array([[f"ck_{b:016x}" for b in row] for row in cookie_bits], dtype=object),
        "_n_cookies": n_cookies,
        "_device": np.array([f"dev_{b:016x}" for b in device_bits], dtype=object),
    }


def _households(
    joins: np.ndarray, people_ids: np.ndarray, place: dict[str, np.ndarray]
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Households: a person who ``joins`` shares the address, surname and country of the previous person in
    the block (the first person cannot). Returns the updated ``place`` columns and each person's household."""
    place = {k: v.copy() for k, v in place.items()}
    household_id = np.array([f"H{p}" for p in people_ids], dtype=object)
    for i in np.where(joins & (np.arange(len(joins)) > 0))[0]:
        for v in place.values():
            v[i] = v[i - 1]
        household_id[i] = household_id[i - 1]
    return place, household_id
