"""Plain advice from a strategy comparison: which levers the data supports, in words, held against the backtest.

One text for ``cx simulate`` and ``cx report`` (the CLI printed its gains without the backtest it had just
stored, and gave the opposite advice to the report on the same tables).

Examples
--------
>>> money_words(14_200, sign=True), money_words(2_140_000)
('+14k', '2.1M')
"""

from __future__ import annotations

import pandas as pd

from cxlib.simulate.backtest import error_words

__all__ = ["lever_words", "money_words", "strategy_advice"]


def money_words(x: float, sign: bool = False) -> str:
    """``14k``, ``2.1M``, ``850`` (with ``+`` for gains when ``sign``)."""
    a = abs(x)
    if a >= 1e6:
        body = f"{a / 1e6:.1f}M"
    elif a >= 1e3:
        body = f"{a / 1e3:.0f}k" if a >= 1e4 else f"{a / 1e3:.1f}k"
    else:
        body = f"{a:,.0f}"
    return ("-" if x < 0 else "+" if sign else "") + body


def lever_words(name: str) -> str:
    """A scenario's name as the start of a sentence."""
    words = {"fix pre-sale service failure": "Fixing the pre-sale service failure"}
    return words.get(name, name[:1].upper() + name[1:])


def strategy_advice(ranked: pd.DataFrame, bt: pd.DataFrame | None, months: int) -> tuple[str, str]:
    """The headline and the paragraph: levers whose gain exceeds the forecast's backtest error, in words
    with gain, band and error -- or that none does, that the forecast was never backtested, or that its
    backtest covers less than half the forecast's months. One text for `cx report` and `cx simulate`."""
    levers = ranked[ranked["scenario"] != "baseline"]
    base = ranked.loc[ranked["scenario"] == "baseline", "revenue"]
    total = bt[(bt["model"] == "journey model") & (bt["period"] == "total")] if bt is not None else None
    if total is None or total.empty or base.empty or pd.isna(total["pct_error"].iloc[0]):
        msg = (
            "This forecast has not been held against the company's own past (run `cx simulate FOLDER` again to "
            "add its backtest), so no lever is recommended."
        )
        return msg, msg
    signed = float(total["pct_error"].iloc[0])
    err = abs(signed)
    held = int(bt.loc[bt["period"] == "month", "month"].max())
    err_money = err * float(base.iloc[0])
    track = f"on the last {held} months this model was {error_words(signed)}"
    by_month = bt[(bt["model"] == "journey model") & (bt["period"] == "month")]["pct_error"].abs().dropna()
    if len(by_month) >= 3 and by_month.mean() > max(2 * err, 0.1):  # months' misses that cancel in the total
        track += f" in total, its single months {by_month.mean():.0%} off on average"
    if held * 2 < months:  # one month held against the past says little of twelve (found: 0.4% on one, -12% on 12)
        msg = (
            f"This {months}-month forecast has been held against only {held} month{'s' if held > 1 else ''} of the "
            f"company's past ({track}): too short to vouch for it, so no lever is recommended. Load a longer "
            "history, or forecast fewer months (`cx simulate FOLDER --months N`)."
        )
        return msg, msg
    good = levers[(levers["gain_p5"] > 0) & (levers["gain"] > err_money)]
    if good.empty:
        best = float(levers["gain"].max()) if len(levers) else 0.0
        msg = (
            f"No lever simulated gains more than the forecast's own error: {track}, about "
            f"{money_words(err_money)} over {months} months, against {money_words(best, sign=True)} for the largest "
            "gain. "
            "None is recommended on these numbers; test a change on a sample of customers first."
        )
        return msg, msg
    lines = [
        f"{lever_words(row.scenario)}: {money_words(row.gain, sign=True)} "
        f"({money_words(row.gain_p5)}–{money_words(row.gain_p95)}) over {months} months"
        for row in good.itertuples()
    ]
    headline = f"{lines[0]}; {track}."
    return headline, "Levers whose gain exceeds the forecast's backtest error: " + "; ".join(lines) + f"; {track}."
