"""One currency for every amount: ``currency:`` and ``rates:`` at the top of ``sources.yml``.

A shop selling in several countries exports its orders in several currencies (``currency``: ``EUR``, ``GBP``).
Summed as recorded, 100 GBP and 100 EUR make "200": every money number of the workspace -- revenue, value per
persona, the forecast, the lever gains -- would be wrong by the mix. With::

    currency: EUR        # report every amount in euros
    rates:               # how many euros one unit of each other currency is worth
      GBP: 1.17
      USD: 0.92

``cx load`` converts each order's ``amount`` into ``currency`` (the amount times its currency's rate; an order
without a currency is taken to be in ``currency`` already), sets ``currency`` to it, and keeps what the file
recorded in ``amount_recorded`` and ``currency_recorded``. An order in a currency that has no rate is
quarantined, the message naming the currency and the fix: its amount cannot be counted in the workspace's
currency, and a rate guessed would be a number made up. Codes are matched in capitals, spaces trimmed. One
rate per currency, for the whole period: the rates a finance team uses for management reports, not the day's.

Without ``currency:``, amounts load as recorded, and ``cx load`` warns when the orders hold several currencies.

Examples
--------
>>> c = conversion({"currency": "eur", "rates": {"GBP": 1.17}}, "sources.yml")
>>> c.currency, c.rates
('EUR', {'EUR': 1.0, 'GBP': 1.17})
>>> conversion({}, "sources.yml") is None
True
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import duckdb

from cxlib.io.sql import literal
from cxlib.schema import DataError

__all__ = ["Conversion", "conversion", "currencies_warning"]

_CODE = re.compile(r"^[A-Z]{3}$")


@dataclass(frozen=True)
class Conversion:
    """The workspace's ``currency`` and each currency's ``rates`` into it (the currency itself at 1)."""

    currency: str
    rates: dict[str, float] = field(default_factory=dict)

    def rate_sql(self, raw: str) -> str:
        """SQL for the rate of the currency whose text is in the column ``raw`` (1 when it is blank: taken to be
        in :attr:`currency`; null for a currency without a rate). Codes and rates are checked when read, so they
        are written as literals (a view's text cannot bind parameters)."""
        cases = " ".join(f"WHEN '{c}' THEN CAST({r!r} AS DOUBLE)" for c, r in sorted(self.rates.items()))
        code = f"upper(trim({raw}))"
        return f"(CASE WHEN coalesce({code}, '') = '' THEN 1.0 ELSE (CASE {code} {cases} END) END)"

    def column(self, name: str, expr: str, sql_type: str) -> tuple[str, tuple[str, str]]:
        """Column ``name`` (``amount`` or ``currency``, the parsed value in ``expr``) in the workspace's currency,
        and ``(NAME_recorded, the value as recorded)`` to keep beside it."""
        kept = (f"{name}_recorded", f"CAST({expr} AS {sql_type})")
        if name == "amount":
            return f"({expr}) * {self.rate_sql('_r_currency')}", kept
        return literal(self.currency), kept  # a checked three-letter code

    def unknown_sql(self, raw: str) -> str:
        """SQL: the currency whose text is in the column ``raw`` is given and has no rate."""
        return f"({self.rate_sql(raw)} IS NULL)"

    def reason(self) -> str:
        """The quarantine reason of an order in a currency without a rate."""
        return (
            f"no rate into {self.currency} for this currency: add it under `rates:` in sources.yml (how many "
            f"{self.currency} one unit is worth), or remove `currency:` to load amounts as recorded"
        )


def conversion(cfg: dict, where: str) -> Conversion | None:
    """The ``currency:`` and ``rates:`` of a ``sources.yml`` mapping, checked; None without ``currency:``.

    Raises
    ------
    DataError
        For a code that is not three letters, a rate that is not a positive number, or ``rates:`` without
        ``currency:``.
    """
    if "currency" not in cfg:
        if cfg.get("rates"):
            raise DataError(f"{where}: `rates:` needs `currency:` (the currency the rates convert into)")
        return None
    currency = _code(cfg["currency"], f"{where}: `currency:`")
    rates = cfg.get("rates") or {}
    if not isinstance(rates, dict):
        raise DataError(f"{where}: `rates:` must be a mapping of currency codes to rates (GBP: 1.17)")
    out = {currency: 1.0}
    for k, v in rates.items():
        code = _code(k, f"{where}: `rates:`")
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0:
            raise DataError(
                f"{where}: `rates: {code}:` must be a positive number (how many {currency} one {code} is worth), "
                f"not {v!r:.30}"
            )
        if code == currency and float(v) != 1.0:
            raise DataError(f"{where}: `rates: {code}:` is the workspace's own currency: its rate is 1; remove it")
        out[code] = float(v)
    return Conversion(currency, out)


def _code(value: object, where: str) -> str:
    code = str(value).strip().upper() if isinstance(value, str) else ""
    if not _CODE.match(code):
        raise DataError(f"{where} {value!r:.30} is not a currency code; give its three letters (EUR, GBP, USD)")
    return code


def currencies_warning(con: duckdb.DuckDBPyConnection, relation: str) -> list[str]:
    """A warning when the loaded orders (``relation``: a name of ours) hold amounts in several currencies and
    sources.yml converts none."""
    if "currency" not in {c[0] for c in con.execute(f"DESCRIBE {relation}").fetchall()}:
        return []
    got = con.execute(  # " gbp" is GBP, as `rates:` match it
        f"SELECT DISTINCT upper(trim(currency)) AS c FROM {relation} WHERE trim(currency) <> '' ORDER BY 1"
    ).fetchall()
    codes = [r[0] for r in got]
    if len(codes) < 2:
        return []
    shown = ", ".join(codes[:6]) + (", ..." if len(codes) > 6 else "")
    return [
        f"orders: amounts in {len(codes)} currencies ({shown}) are added as recorded; to count them in one, set "
        f"`currency: {codes[0]}` and `rates:` (how many {codes[0]} one unit of each other is worth) at the top "
        "of sources.yml"
    ]
