"""The scorecard for the hiring manager (``scorecard.html``) and the scores as ``cx case grade`` prints them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from cxlib.case.answers import _blank
from cxlib.case.documents import _TASK_TITLES
from cxlib.case.grading import grade_case
from cxlib.case.questions import _MONEY_FLOOR, QUESTIONS, RUBRIC

if TYPE_CHECKING:
    from cxlib.report import Report


def write_scorecard(folder: str | Path, table: pd.DataFrame | None = None, total: float | None = None) -> Path:
    """Write ``scorecard.html`` into the case folder: scores, answers next to the truth, the rubric.

    A self-contained page built with :class:`cxlib.report.Report` (opens offline) for the hiring manager:
    the candidate's name is in the title; nothing in it describes real people, so small-group suppression
    is off. Grades the case first unless ``table`` (from :func:`grade_case`) is given.
    """
    from cxlib.report import Report

    folder = Path(folder)
    if table is None:
        table, total = grade_case(folder)
    total = float(table["score"].sum()) if total is None else total
    a, truth = table.attrs, table.attrs["truth"]
    r = Report(
        f"Hiring case scorecard: {a['candidate']}",
        # the seed with separators: nine digits in a row read as a phone number and were masked
        sources=[f"{truth['company']} (generated, seed {a['seed']:,}, {truth['n_customers']:,} people)"],
        min_group_size=0,
    )
    _summary(r, table, total)
    for t in _TASK_TITLES:
        _task_section(r, table, t)
    _truth_section(r, truth)
    r.section("How grading works")
    r.markdown(_grading_text())
    return r.save(folder / "scorecard.html")


def _summary(r: Report, table: pd.DataFrame, total: float) -> None:
    """The points scored automatically, those left to the interviewer, by task; the notes on reading."""
    import plotly.graph_objects as go

    a = table.attrs
    r.section("Summary")
    r.metric("Scored automatically", f"{total:g} / {a['max_auto']:g}")
    r.metric("Written, for the interviewer", f"__ / {a['max_written']:g}")
    r.metric("Total", f"{total:g} + __ / {a['max_auto'] + a['max_written']:g}")
    by_task = table.groupby("task")[["score", "max_score"]].sum()
    fig = go.Figure(
        [
            go.Bar(x=[f"task {t}" for t in by_task.index], y=by_task["max_score"], name="points available"),
            go.Bar(x=[f"task {t}" for t in by_task.index], y=by_task["score"], name="scored automatically"),
        ]
    )
    fig.update_layout(barmode="overlay", title="Points by task (written answers are scored by the interviewer)")
    r.figure(fig, caption="Points by task")
    if a.get("notes"):
        r.markdown("**Reading the answers:**\n\n" + "\n".join(f"- {n}" for n in a["notes"]))


def _task_section(r: Report, table: pd.DataFrame, t: int) -> None:
    """One task: its answers next to the truth, and each written answer with its rubric."""
    r.section(f"Task {t}: {_TASK_TITLES[t]}")
    part = table[table["task"] == t].drop(columns="task").copy()
    part["answer"] = part["answer"].map(_short)
    part["truth"] = part["truth"].map(_short)
    r.table(part, caption=f"Task {t}")
    for q in (q for q in QUESTIONS if q.task == t and q.kind == "written"):
        given = table.loc[table["item"] == q.key, "answer"].iloc[0]
        rub = RUBRIC[q.key]
        r.markdown(
            f"**{q.prompt}** ({q.points:g} points, interviewer: __ / {q.points:g})\n\n"
            + ("> " + str(given).strip().replace("\n", "\n> ") if not _blank(given) else "_No answer given._")
            + f"\n\n- **Strong:** {rub['strong']}\n- **Adequate:** {rub['adequate']}\n- **Weak:** {rub['weak']}"
        )


def _truth_section(r: Report, truth: dict[str, Any]) -> None:
    """The company's truth for the interviewer: the drop-off, the personas, the levers."""
    r.section("The company's truth (for the interviewer)")
    d, p, lv = truth["dropoff"], truth["personas"], truth["levers"]
    r.markdown(
        f"Pattern: **{truth['pattern']}**. People who dropped out: awareness → consideration "
        f"{d['dropped']['awareness_to_consideration']:,}, consideration → purchase "
        f"{d['dropped']['consideration_to_purchase']:,}; losses the planted failures caused there: service "
        f"{d['caused']['service']:,}, marketing {d['caused']['marketing']:,}."
    )
    personas = pd.DataFrame(
        {
            "persona": list(p["revenue_12m"]),
            "revenue_last_12_months": list(p["revenue_12m"].values()),
            "buyers_at_risk_or_churned": [p["at_risk_share"].get(k) for k in p["revenue_12m"]],
        }
    )
    r.table(personas, caption="Personas (true labels)")
    levers = pd.DataFrame(
        {
            "lever": list(lv["simulator_gain_12m"]),
            "simulator_gain_12m": list(lv["simulator_gain_12m"].values()),
            "true_gain_12m": [lv["true_gain_12m"][k] for k in lv["simulator_gain_12m"]],
        }
    )
    r.table(levers, caption="Levers: the simulator's 12-month gain (reference method) and the true effect")
    r.markdown(
        "The true effect replays the same people with the lever in place for the whole history (the "
        "revenue of the last 12 months is compared); the simulator projects 12 months ahead from today's "
        "stages, so the two differ in size -- the ranking is what they share."
    )


def _short(v: Any, n: int = 160) -> str:
    if _blank(v):
        return ""
    if isinstance(v, float | np.floating):
        s = f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.4g}"
    else:
        from cxlib.report import redact_text

        s = redact_text(str(v))  # masked whole, then cut: a cut e-mail ("jane.doe@examp…") no longer reads as one
    return s if len(s) <= n else s[: n - 1] + "…"


def _grading_text() -> str:
    lines = []
    for q in QUESTIONS:
        if q.kind == "count":
            how = f"full within {q.full:.0%}, half within {q.half:.0%} of the truth"
        elif q.kind == "share":
            how = f"full within {q.full * 100:.0f}, half within {q.half * 100:.0f} percentage points"
        elif q.kind == "money":
            how = (
                f"full within {q.full:.0%}, half within {q.half:.0%} of the simulator's gain for the chosen lever "
                f"(or {_MONEY_FLOOR[0]:.1%} / {_MONEY_FLOOR[1]:.1%} of the baseline's 12-month revenue if wider)"
            )
        elif q.kind == "choice":
            how = "full or nothing"
        else:
            how = "the interviewer, with the rubric"
        lines.append(f"| {q.task} | `{q.key}` | {q.points:g} | {how} |")
    return (
        "Answers are read from `answers.yml`, then the answer cells of `case.py`, then `case.ipynb` (the first "
        "non-blank wins, answer by answer; cells are parsed, never run). The truth is re-derived from the seed "
        "by regenerating the company.\n\n| task | answer | points | scored |\n|---|---|---:|---|\n" + "\n".join(lines)
    )


def print_scores(table: pd.DataFrame, total: float, echo: Callable[[str], Any] = print) -> None:
    """Print the per-answer scores and the total (what ``cx case grade`` shows)."""
    show = table.assign(
        answer=table["answer"].map(lambda v: _short(v, 40)), truth=table["truth"].map(lambda v: _short(v, 40))
    )
    with pd.option_context("display.width", 200, "display.max_colwidth", 60):
        echo(show[["task", "item", "answer", "truth", "score", "max_score", "note"]].to_string(index=False))
    a = table.attrs
    echo(
        f"total: {total:g} / {a['max_auto']:g} scored automatically; written answers ({a['max_written']:g} points) "
        "to be scored by the interviewer"
    )
