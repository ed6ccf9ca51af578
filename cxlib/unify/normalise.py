"""Normalisers of identifiers and matching fields, as Ibis expressions so that they run in the engine.

Each kind of value has one normaliser, used everywhere unify compares or groups values of that kind:
emails (:func:`normalise_email`), phones (:func:`normalise_phone`), postcodes (:func:`normalise_postcode`)
and names for the probabilistic comparison (:func:`_name_key`).

Examples
--------
>>> import ibis
>>> t = ibis.memtable({"pc": ["sw1a 1aa", "SW1A-1AA", None]})
>>> t.select(pc=normalise_postcode(t.pc)).to_pyarrow()["pc"].to_pylist()
['SW1A1AA', 'SW1A1AA', None]
"""

from __future__ import annotations

import ibis

__all__ = [
    "PLACEHOLDER_DATES",
    "PLACEHOLDER_LOCALS",
    "blank_demoted",
    "normalise_email",
    "normalise_phone",
    "normalise_postcode",
    "placeholder",
    "trim",
]

_COUNTRY_CODES = {
    "GB": "44",
    "UK": "44",
    "IE": "353",
    "DE": "49",
    "FR": "33",
    "NL": "31",
    "BE": "32",
    "ES": "34",
    "IT": "39",
    "PT": "351",
    "AT": "43",
    "CH": "41",
    "DK": "45",
    "SE": "46",
    "NO": "47",
    "FI": "358",
    "PL": "48",
    "US": "1",
    "CA": "1",
    "AU": "61",
    "NZ": "64",
}


#: A national trunk ``0`` written after an international code (``+44 07700 900123``): every code above but
#: Italy's, whose leading 0 belongs to the number.
_TRUNKED_CODES = "|".join(sorted({c for c in _COUNTRY_CODES.values() if c != "39"}, key=lambda c: (-len(c), c)))
_TRUNK_AFTER_CODE = r"^(\+(?:" + _TRUNKED_CODES + r"))0"
#: What follows such a trunk ``0``, or the whole number when it has none.
_AFTER_TRUNK = r"^(?:\+(?:" + _TRUNKED_CODES + r")0)?(.*)$"

#: An address: one ``@`` with something on both sides and a dot in its domain (local part, domain).
_ADDRESS = r"^([^@\s]+)@([^@\s]+\.[^@\s]+)$"


def trim(s: ibis.StringValue) -> ibis.StringValue:
    """Leading and trailing whitespace removed, the same on every engine.

    Not ``StringValue.strip()``: on PySpark, ibis 12 compiles it to ``TRIM(' \\t\\n\\r\\v\\f' FROM s)``, where Spark
    reads ``\\v`` and ``\\f`` as the letters v and f, so ``"fatima@x.fr"`` lost its first letter.

    Examples
    --------
    >>> import ibis
    >>> t = ibis.memtable({"s": [" fatima@x.fr\\t", "ck_01f", None]})
    >>> t.select(s=trim(t.s)).to_pyarrow()["s"].to_pylist()
    ['fatima@x.fr', 'ck_01f', None]
    """
    return s.re_replace(r"^\s+|\s+$", "")


def normalise_email(e: ibis.StringValue) -> ibis.StringValue:
    """Lower-case, trim, drop ``+tags``, fold gmail dots; null when it is not an address. A display name
    (``Ann Lee <ann@x.com>``), a ``mailto:`` and invisible characters (zero-width spaces, a byte-order mark,
    no-break spaces: pasted from mail clients and web forms) are not part of the address.

    Examples
    --------
    >>> import ibis
    >>> t = ibis.memtable({"e": [" Rob.Smith+shop@GoogleMail.com", "x@y.co", "bad", None, "Ann <ANN@x.com>",
    ...                          "mailto:ann@x.com", "\u200bann@x.com"]})
    >>> t.select(n=normalise_email(t.e)).to_pyarrow()["n"].to_pylist()
    ['robsmith@gmail.com', 'x@y.co', None, None, 'ann@x.com', 'ann@x.com', 'ann@x.com']
    """
    # each step reads the one before once or twice: a value read n times is n copies in the SQL (ibis writes
    # no common subexpressions), and the copies multiply step by step (47 KB of SQL per use, 0.4 s on FEBRL 1)
    e = trim(e.re_replace(r"[\x{200B}-\x{200D}\x{2060}\x{FEFF}\x{00A0}]", "")).lower()
    e = ibis.coalesce(e.re_extract(r"<([^<>@\s]+@[^<>\s]+)>", 1).nullif(""), e)  # the address in a display name
    e = e.re_replace(r"^mailto:", "")
    # an address has one @ with something on both sides and a dot in its domain; '' when it is not one
    local = e.re_extract(_ADDRESS, 1).re_replace(r"\+.*$", "")
    domain = e.re_extract(_ADDRESS, 2)
    gmail = domain.isin(["gmail.com", "googlemail.com"])
    local = ibis.cases((gmail, local.replace(".", "")), else_=local)
    domain = ibis.cases((gmail, ibis.literal("gmail.com")), else_=domain)
    return ibis.cases((local.length() > 0, local + "@" + domain), else_=ibis.null("string"))


def normalise_phone(
    phone: ibis.StringValue, country: ibis.StringValue | str | None, default_country: str = "GB"
) -> ibis.StringValue:
    """E.164 (``+447700900123``): international forms as given, national ones with the row's country.

    A national number with its trunk ``0`` (``07700 900123``) or without one -- North American numbers have
    none (``(415) 555-0123``), and a spreadsheet drops a leading zero (``7700900123``) -- takes the row's
    country code (nine digits or more: a local number of seven names no area); ten digits or more after the
    code already carry it (``447700900123``, ``14155550123``). A trunk ``0`` written after the country code
    (``+44 07700 900123``) is dropped (not Italy's, which is part of the number).

    Examples
    --------
    >>> import ibis
    >>> t = ibis.memtable({"p": ["07700 900123", "+44 (0)7700-900123", "0044 7700 900123", "n/a", "+44 07700 900123",
    ...                          "7700900123", "447700900123", "(415) 555-0123", "1 415 555 0123"],
    ...                    "c": ["GB", None, "DE", "GB", "GB", "GB", "GB", "US", "US"]})
    >>> t.select(n=normalise_phone(t.p, t.c)).to_pyarrow()["n"].to_pylist()  # doctest: +NORMALIZE_WHITESPACE
    ['+447700900123', '+447700900123', '+447700900123', None, '+447700900123', '+447700900123', '+447700900123',
     '+14155550123', '+14155550123']
    """
    raw = trim(phone)
    digits = raw.re_replace(r"\(0\)", "").re_replace(r"[^0-9]", "")
    if country is None or isinstance(country, str):
        country = ibis.literal(country or default_country)
    cc = country.upper().substitute(_COUNTRY_CODES, else_=_COUNTRY_CODES.get(default_country, "44"))
    cc = ibis.coalesce(cc, ibis.literal(_COUNTRY_CODES.get(default_country, "44")))
    # a national number without its trunk 0: nine digits or more (a local number of seven, 555-0123, names no
    # area); one that starts with the code and has ten digits or more after it carries the code (a German
    # 04921 1234567 without its 0 is 4921 1234567, not +49 211 ...)
    national = ibis.cases(  # a national number's digits after the code: its trunk 0 dropped
        (digits.startswith("0"), digits.substr(1)), (digits.length().between(9, 11), digits), else_=ibis.null("string")
    )
    e164 = ibis.cases(
        (raw.startswith("+"), "+" + digits),
        (digits.startswith("00"), "+" + digits.substr(2)),
        # never a trunk 0 here: no country code starts with 0
        (digits.startswith(cc) & (digits.length() - cc.length() >= 10), "+" + digits),
        else_="+" + cc + national,
    )
    # a trunk 0 after the code dropped: the code and what follows the 0, or all of it ('' + e164) when there is
    # none -- no backreference (the engines write them differently), and e164 read twice, not five times
    e164 = e164.re_extract(_TRUNK_AFTER_CODE, 1) + e164.re_extract(_AFTER_TRUNK, 1)
    return e164.re_extract(r"^\+[0-9]{8,15}$", 0).nullif("")  # nine to sixteen characters, or nothing


def normalise_postcode(pc: ibis.StringValue) -> ibis.StringValue:
    """Upper-case letters and digits only (``"sw1a 1aa"`` -> ``"SW1A1AA"``): how postcodes are compared,
    voted on in the golden record and matched to enrichment.

    Examples
    --------
    >>> import ibis
    >>> t = ibis.memtable({"pc": [" ec1v-9lb ", "75001"]})
    >>> t.select(pc=normalise_postcode(t.pc)).to_pyarrow()["pc"].to_pylist()
    ['EC1V9LB', '75001']
    """
    return pc.upper().re_replace(r"[^A-Z0-9]", "")


def _name_key(s: ibis.StringValue) -> ibis.StringValue:
    """A name or street for the probabilistic comparison: lower-case, trimmed, without ``. , ' -``
    (letters such as ü are kept).

    Examples
    --------
    >>> import ibis
    >>> t = ibis.memtable({"n": [" O'Brien-Müller. "]})
    >>> t.select(n=_name_key(t.n)).to_pyarrow()["n"].to_pylist()
    ['obrienmüller']
    """
    return trim(s.lower()).re_replace(r"[.,'\-]", "")


#: Local parts that say "no address" rather than name a mailbox (``noemail@none.com``, ``na@na.com``).
PLACEHOLDER_LOCALS = (
    "noemail", "no-email", "no_email", "no.email", "nomail", "no-mail", "none", "na", "n/a", "null", "unknown",
    "noreply", "no-reply", "donotreply", "do-not-reply", "test", "dummy", "fake", "nobody", "noone", "no-one",
    "asdf",
)  # fmt: skip

#: A phone number ending in seven or more of one digit, or in a run of eight up or down (``12345678``,
#: ``23456789``, ``34567890``: ``01234 567890``, ``07123 456789``; not seven: ``020 7123 4567`` is a London
#: number); no backreferences in RE2.
_PLACEHOLDER_PHONE = (
    "(" + "|".join([*(d * 7 for d in "0123456789"), "12345678", "23456789", "34567890", "87654321"]) + ")$"
)

#: Birth dates that stand for "not known" in CRMs and forms (a system's first day, an epoch, a year of ones),
#: ``YYYYMMDD``: the same day on two records of different people is no evidence that they are one.
PLACEHOLDER_DATES = ("19000101", "19010101", "18000101", "00010101", "19700101", "11111111", "99991231")


def placeholder(id_type: ibis.StringValue, value: ibis.StringValue) -> ibis.BooleanValue:
    """Whether a normalised identifier is a placeholder, not a person's: an e-mail whose local part says "no
    address" (:data:`PLACEHOLDER_LOCALS`: ``noemail@none.com``, ``test@example.com``), a phone number ending in
    seven or more of one digit or in a run of eight (``12345678``, ``23456789``, ``34567890``, ``87654321``),
    an e-mail whose made-up mailbox is its domain's name (``x@x.com``, ``email@email.com``; not ``ann@ann.co.uk``).
    The over-merge guard demotes them however few records share them: in a small company eight people typed
    ``test@example.com``, fewer than the guard's count, and were one customer.

    Examples
    --------
    >>> import ibis
    >>> t = ibis.memtable({"k": ["email", "email", "email", "email", "phone", "phone", "phone", "phone",
    ...                          "anonymous_id"],
    ...                    "v": ["test@example.com", "noemail@none.com", "ann@example.com", "x@x.com",
    ...                          "+440000000000", "+447700900123", "+442071234567", "+441234567890", "none"]})
    >>> t.select(p=placeholder(t.k, t.v)).to_pyarrow()["p"].to_pylist()
    [True, True, False, True, True, False, False, True, False]
    """
    local = value.substr(0, value.find("@"))
    # a made-up mailbox named as its own domain (``x@x.com``, ``email@email.com``); not ``ann@ann.co.uk``
    made_up = (local.length() <= 2) | local.isin(["email", "mail", "e-mail", "example", "abc", "asdf", "xxx"])
    named_as_domain = value.substr(value.find("@") + 1).startswith(local + ".") & made_up
    email = (id_type == "email") & (local.isin(list(PLACEHOLDER_LOCALS)) | named_as_domain)
    phone = (id_type == "phone") & value.re_search(_PLACEHOLDER_PHONE)
    return (email | phone).fill_null(False)


def blank_demoted(c: ibis.Table, demoted: ibis.Table | None, default_country: str = "GB") -> ibis.Table:
    """Contact records ``c`` with each e-mail and phone that the over-merge guard demoted (``demoted``: ``id_type,
    id_value``, normalised) blanked. The guard kept such a value -- a placeholder, a switchboard, an office inbox --
    from joining anyone in the identity graph; the probabilistic matching and its explanations must not count it
    as "same e-mail" or "same phone" either.

    Examples
    --------
    >>> import ibis
    >>> c = ibis.memtable({"email": ["Test@Test.com", "ann@x.com"], "phone": ["07000 000000", "07700 900123"]})
    >>> d = ibis.memtable({"id_type": ["email", "phone"], "id_value": ["test@test.com", "+447000000000"]})
    >>> blank_demoted(c, d).to_pyarrow().to_pylist()[0]
    {'email': None, 'phone': None}
    """
    if demoted is None:
        return c
    out = c
    for kind in ("email", "phone"):
        if kind not in c.columns:
            continue
        country = out.country.cast("string") if "country" in out.columns else None
        raw = out[kind].cast("string")
        value = normalise_email(raw) if kind == "email" else normalise_phone(raw, country, default_country)
        # a join, not an IN subquery in a CASE: Spark runs that as a subquery per row (the Spark unify 35 -> 62 s)
        gone = demoted.filter(demoted.id_type == kind).select(_gone=demoted.id_value).distinct()
        out = out.mutate(_value=value)
        out = out.left_join(gone, out._value == gone._gone).select(*out.columns, "_gone")
        blank = ibis.cases((out._gone.notnull(), ibis.null("string")), else_=out[kind].cast("string"))
        out = out.mutate(**{kind: blank}).drop("_value", "_gone")
    return out
