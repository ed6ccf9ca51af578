"""Grading: the case's key, the answers scored against the truth with the questions' tolerances.

Examples
--------
>>> from cxlib.case.grading import _number
>>> [_number(v) for v in ("2,050", "£13.5k", "27%", "1.2m", "lots")]
[2050.0, 13500.0, 27.0, 1200000.0, None]
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from cxlib.case.answers import _blank, read_answers
from cxlib.case.design import CASE_FORMAT
from cxlib.case.questions import _BY_KEY, _MONEY_FLOOR, _STEPS, QUESTIONS, Question
from cxlib.case.truth import case_truth
from cxlib.schema import DataError

_SUFFIX = {"k": 1e3, "m": 1e6, "mn": 1e6, "bn": 1e9}


def _number(v: Any) -> float | None:
    """A number from what a person types: 2,050 / £13.5k / 27% / 1.2m (percent stays a percent: 27)."""
    if isinstance(v, bool):
        return None
    if isinstance(v, int | float | np.integer | np.floating):
        try:
            return float(v)
        except OverflowError:  # a whole number of 400 digits
            return None
    s = str(v).strip().lower().replace(",", "").replace("_", "").replace(" ", "")
    if len(s) > 100:
        return None
    try:
        return float(s)  # 2150, 0.27, 1.2e4
    except ValueError:
        pass
    s = re.sub(r"^[£€$]|[£€$]$|(gbp|eur|usd)", "", s).rstrip("%")
    m = re.fullmatch(r"([+-]?\d+(?:\.\d+)?)(k|m|mn|bn)?", s)
    if not m:
        return None
    return float(m.group(1)) * _SUFFIX.get(m.group(2) or "", 1.0)


def _choice(q: Question, v: Any) -> str | None:
    """Map a typed answer onto one of the question's choices (tolerant of case, spaces and arrows)."""
    s = re.sub(r"[^a-z]+", "_", str(v).lower()).strip("_")
    if s in q.choices:
        return s
    rules: dict[str, list[tuple[str, tuple[str, ...]]]] = {
        "dropoff_step": [
            ("awareness_to_consideration", ("aware",)),
            ("consideration_to_purchase", ("purchas", "checkout", "buy")),
        ],
        "dropoff_cause": [("marketing", ("market", "campaign", "targeting")), ("service", ("servic", "support"))],
        "lever": [
            ("fix_presale_service", ("presale", "pre_sale", "service", "support")),
            ("fix_campaign_targeting", ("campaign", "target", "blitz", "marketing")),
            ("winback_rollout", ("win_back", "winback")),
        ],
    }
    persona_rules = [
        ("loyal_app", ("loyal", "app")),
        ("deal_seeker", ("deal",)),
        ("service_reliant", ("service", "support")),
        ("big_ticket", ("big", "ticket", "spender")),
        ("window_shopper", ("window", "browser", "brows")),
    ]
    hits = {c for c, words in rules.get(q.key, persona_rules) if any(w in s for w in words)}
    if q.key == "lever" and "winback_rollout" in hits:  # "the win-back campaign" (the brief's own words)
        hits -= {"fix_campaign_targeting"} if not any(w in s for w in ("target", "blitz", "marketing")) else set()
    return hits.pop() if len(hits) == 1 else None


def _within(err: float, full: float, half: float) -> float:
    return 1.0 if err <= full + 1e-12 else 0.5 if err <= half + 1e-12 else 0.0


def _score(q: Question, answer: Any, truth: dict[str, Any]) -> tuple[Any, float, str]:
    """(shown truth, share of the points earned 0/0.5/1, note) for one answer."""
    if q.kind == "written":
        return _written_context(q.key, truth), 0.0, "to be scored by interviewer (rubric on the scorecard)"
    expected = _expected(q.key, truth)
    if _blank(answer):
        return expected, 0.0, "no answer"
    if q.kind == "choice":
        got = _choice(q, answer)
        if got is None:
            return expected, 0.0, f"not one of {', '.join(q.choices)}"
        if q.key == "lever" and got == "other":
            return expected, 0.0, "another lever: to be judged by the interviewer"
        return expected, float(got == expected), "" if got == expected else f"read as {got}"
    x = _number(answer)
    if x is None:
        return expected, 0.0, "not a number"
    if q.kind == "count":
        err = abs(x - expected) / max(abs(expected), 1)
        return expected, _within(err, q.full, q.half), f"{x - expected:+,.0f} ({err:.1%} off)"
    if q.kind == "share":
        note = ""
        if (isinstance(answer, str) and "%" in answer) or 1 < x <= 100:  # "0.16%" is 0.0016, "1%" is 0.01
            x, note = x / 100, "read as a percentage; "
        err = abs(x - expected)
        return expected, _within(err, q.full, q.half), f"{note}{(x - expected) * 100:+.1f} points off"
    # money: the simulator's gain for the lever the candidate chose (the best lever if they chose none)
    lever = _money_lever(truth)
    if expected is None:
        return None, 0.0, f"no reference for lever {lever or '(none)'}: to be judged by the interviewer"
    base = abs(truth["levers"]["simulator_baseline_12m"])
    full, half = q.full * abs(expected), q.half * abs(expected)
    if lever == truth["levers"]["best"]:  # the floor, for a gain small beside the revenue, on the right lever only
        full, half = max(full, _MONEY_FLOOR[0] * base), max(half, _MONEY_FLOOR[1] * base)
    d = abs(x - expected)
    share = 1.0 if d <= full else 0.5 if d <= half else 0.0
    rel = f" ({d / abs(expected):.0%} off)" if expected else ""
    note = f"reference for lever {lever}: {x - expected:+,.0f}{rel}"
    if share and expected and np.sign(x) != np.sign(expected):  # "0" (no work behind it) or the wrong direction
        share, note = 0.0, f"{note}; a gain of {expected:+,.0f} is not {'nothing' if x == 0 else 'a loss'}"
    return expected, share, note


def _expected(key: str, truth: dict[str, Any]) -> Any:
    if key == "real_customers":
        return truth["real_customers"]
    if key == "dropoff_step":
        return truth["dropoff"]["step"]
    if key == "dropoff_cause":
        return truth["dropoff"]["cause"]
    if key == "abandoners_share":
        return round(truth["abandoners_share"], 4)
    if key == "most_valuable_persona":
        return truth["personas"]["most_valuable"]
    if key == "most_at_risk_persona":
        return truth["personas"]["most_at_risk"]
    if key == "lever":
        return truth["levers"]["best"]
    if key == "revenue_impact_12m":
        gain = truth["levers"]["simulator_gain_12m"].get(_money_lever(truth) or "")
        return None if gain is None else round(float(gain), 2)
    raise KeyError(key)  # pragma: no cover - every question is handled


def _money_lever(truth: Mapping[str, Any]) -> str | None:
    """The lever whose simulated gain the revenue answer is held against: the candidate's, else the best."""
    raw = truth.get("_answered_lever")
    return truth["levers"]["best"] if _blank(raw) else _choice(_BY_KEY["lever"], raw)


def _written_context(key: str, truth: dict[str, Any]) -> str:
    """What the interviewer should know when scoring a written answer."""
    p, lv = truth["personas"], truth["levers"]
    if key == "priority":
        return f"most valuable: {p['most_valuable']}; most at risk: {p['most_at_risk']}"
    if key == "strategy":
        gains = ", ".join(f"{k} {v:,.0f}" for k, v in lv["simulator_gain_12m"].items())
        return (
            f"best lever: {lv['best']}; simulator 12-month gains: {gains}; win-back uplift measured "
            f"{lv['measured_winback_uplift']:+.3f} (true {truth['winback_true_uplift']:+.3f} per month at risk)"
        )
    d = truth["dropoff"]
    return f"the plan should act on {_STEPS[d['step']]} ({d['cause']}) and measure it with a comparison group"


def grade_case(folder: str | Path, truth: Mapping[str, Any] | None = None) -> tuple[pd.DataFrame, float]:
    """Score a case: one row per answer (``task, item, answer, truth, score, max_score, note``) and the total.

    The truth is re-derived from the seed in ``case.yml`` (:func:`case_truth`, about half a minute) unless
    given. Regenerating must reproduce the case's data (the fingerprint in ``case.yml``): otherwise the
    generator changed since the case was made, and grading stops with a :class:`~cxlib.schema.DataError`.

    Tolerances (see :data:`QUESTIONS`): the number of real customers scores full points within 5% and half
    within 15%; the checkout abandoners' share within 5 and 15 percentage points; the 12-month revenue
    impact within 20% and 50% of the simulator's gain for the lever the candidate chose (by the reference
    method of the brief), or within 0.5% and 1.5% of the baseline's 12-month revenue when that is wider.
    Choices score full or nothing. Written answers score 0 here: the interviewer scores them with
    :data:`RUBRIC`. ``table.attrs`` holds ``candidate``, ``seed``, ``max_auto`` (points scored
    automatically), ``max_written``, ``truth`` and ``notes`` (problems reading the answers).

    Examples
    --------
    >>> import tempfile
    >>> grade_case(tempfile.mkdtemp())  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    cxlib.schema.DataError: ... is not a case folder: it has no case.yml ...
    """
    folder = Path(folder)
    key = _read_key(folder)
    gen = key["generator"]
    if truth is None:
        truth = case_truth(int(key["seed"]), int(gen["n_customers"]), months=int(gen["months"]))
    if "simulator_gain_12m" not in truth.get("levers", {}):
        raise DataError("grading needs the truth with its reference analysis: case_truth(..., reference=True)")
    truth = dict(truth)
    _check_key_matches_data(folder, key)
    if key.get("data_fingerprint") and truth.get("fingerprint") and key["data_fingerprint"] != truth["fingerprint"]:
        raise DataError(
            f"{folder / 'case.yml'}: regenerating seed {key['seed']} does not reproduce the case's data (the "
            f"generator changed since cxlib {gen.get('cxlib', '?')} made it): grade it with that version"
        )
    answers = read_answers(folder).set_index("item")
    truth["_answered_lever"] = answers.loc["lever", "answer"]
    rows = []
    for q in QUESTIONS:
        a = answers.loc[q.key]
        shown, share, note = _score(q, a["answer"], truth)
        note = "; ".join(x for x in (note, a["note"], f"from {a['source']}" if a["source"] else "") if x)
        rows.append(
            {
                "task": q.task,
                "item": q.key,
                "answer": None if _blank(a["answer"]) else a["answer"],
                "truth": shown,
                "score": share * q.points,
                "max_score": float(q.points),
                "note": note,
            }
        )
    table = pd.DataFrame(rows)
    truth.pop("_answered_lever", None)
    auto = table["item"].map(lambda k: _BY_KEY[k].kind != "written")
    table.attrs.update(
        candidate=key["candidate"],
        seed=int(key["seed"]),
        max_auto=float(table.loc[auto, "max_score"].sum()),
        max_written=float(table.loc[~auto, "max_score"].sum()),
        truth=truth,
        notes=answers.attrs.get("notes", []),
    )
    return table, float(table["score"].sum())


def _check_key_matches_data(folder: Path, key: Mapping[str, Any]) -> None:
    """DataError unless ``case.yml`` is the key of the data in ``folder/data`` (the data the case was made with).

    A candidate who makes a company of their own (``cx case new --seed 42``) knows its answers; if their returned
    files include its ``case.yml`` and it lands in the case folder, the key alone would grade them 10/10 against
    their own company. The key must name the data beside it."""
    from cxlib.case.design import _fingerprint

    if not key.get("data_fingerprint"):
        raise DataError(f"{folder / 'case.yml'}: it has no data_fingerprint, so it cannot be checked against the "
                        "case's data; it was not written by `cx case new`: restore the case.yml it wrote")
    data = folder / "data"
    if data.is_dir() and _fingerprint(data) != key["data_fingerprint"]:
        raise DataError(
            f"{folder / 'case.yml'}: this key (seed {key['seed']}, candidate {key.get('candidate')!r:.60}) is not "
            f"the key of the data in {data}: one of them was replaced -- perhaps by files the candidate sent back. "
            "Restore the case.yml that `cx case new` wrote (keep it out of the answers' way), then grade again"
        )


def _read_key(folder: Path) -> dict:
    path = folder / "case.yml"
    if not folder.is_dir() or not path.exists():
        raise DataError(
            f"{folder} is not a case folder: it has no case.yml (create one with `cx case new`; the key "
            "stays with the hiring manager, so copy the candidate's answers into the case's folder)"
        )
    try:
        key = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as e:
        raise DataError(f"{path}: not valid YAML ({e})") from e
    missing = [k for k in ("candidate", "seed", "case_format", "generator") if k not in key]
    if missing:
        raise DataError(f"{path}: missing {', '.join(missing)}; it was not written by `cx case new`")
    if key["case_format"] != CASE_FORMAT:
        raise DataError(
            f"{path}: case format {key['case_format']}, but this cxlib grades format {CASE_FORMAT}; "
            f"grade it with cxlib {key['generator'].get('cxlib', '?')}"
        )
    return key
