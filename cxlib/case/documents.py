"""The candidate's documents: the tasks as stated, ``BRIEF.md`` and the ``answers.yml`` template.

The notebooks (:mod:`cxlib.case.notebooks`) state the same tasks with the same words.

Examples
--------
>>> from cxlib.case.documents import _answer_template
>>> print(_answer_template("A. Candidate").splitlines()[0])
# Answers of A. Candidate. Fill in each value after the colon; leave a line empty if you skip it.
"""

from __future__ import annotations

import textwrap
from typing import Any

import pandas as pd

from cxlib.case.questions import LEVERS, PERSONA_ARCHETYPES, QUESTIONS


def _task_text(task: int) -> str:
    """The task as the brief and the notebooks state it (definitions included), wrapped for reading."""
    paragraphs = _task_paragraphs(task).split("\n\n")
    return "\n\n".join(p if p.startswith("- ") else textwrap.fill(p, 110, break_on_hyphens=False) for p in paragraphs)


def _task_paragraphs(task: int) -> str:
    if task == 1:
        return (
            "**Unify the sources and report how many real customers there are.** The systems (shop, CRM, "
            "helpdesk, e-mail platform, loyalty app, an acquired company's CRM, web and app analytics, the "
            "stores' tills) each hold their own records of the same people, with typos, nicknames, moved "
            "addresses and shared identifiers. A *real customer* here is a distinct person the company can "
            "identify: someone with a contact record, an e-mail address or a phone number in any system -- "
            "not an anonymous cookie- or device-only visitor. Give one number."
        )
    if task == 2:
        return (
            "**Map the journey; name the biggest drop-off and its cause.** On the buyer journey (awareness -> "
            "consideration -> purchase), at which step do the most people drop out (reach the step's start "
            "and never its end, within the data)? Is the excess drop-off there caused by **marketing** "
            "(traffic or targeting that never converts) or by **service** (customers let down by service "
            "before they could buy)? And: what share of *checkout abandoners* (started a checkout, never "
            "bought) had an unresolved pre-sale question (ticket topic `pre_sale_question`, not resolved) "
            "before their last checkout start?"
        )
    if task == 3:
        kinds = "\n".join(f"- `{k}`: {v}" for k, v in PERSONA_ARCHETYPES.items())
        return (
            "**Define the personas; say which one to prioritise and why.** Find the personas of the customers "
            "who have bought, and match each to one of these five archetypes (`personas.PersonaModel(n_personas=5)` "
            "fits five; the automatic choice may merge two):\n\n"
            f"{kinds}\n\n"
            "Which is the **most valuable** (the most revenue in the last 12 months of data, in total) and "
            "which is the **most at risk** (the highest share of its customers who have bought now at risk "
            "or churned: no inbound touch for 60 days or more)? Which do you prioritise, and why?"
        )
    if task == 4:
        levers = "\n".join(f"- `{k}`: {v}" for k, v in LEVERS.items())
        return (
            "**Propose a strategy and quantify its 12-month revenue impact with the simulator.** Choose the "
            "lever you would pull first:\n\n"
            f"{levers}\n\n"
            "Quantify it with `cxlib.simulate`: fit `simulate.JourneyModel()` -- one chain for the whole base "
            "(`by=None`: personas describe customers who have bought, so they cannot segment prospects' "
            "conversion) -- on `simulate.history_from_workspace(folder)`, express the lever as `Scenario` "
            "levers, simulate 12 months and report the mean revenue gain over the baseline "
            "(`simulate.compare(...)['gain']`), in the data's amount units. "
            '`simulate.service_failure_lever(history, flag=..., src=..., dst=...)` turns "customers flagged '
            'in a month convert like the others" into a lever for any boolean column you add. Then write '
            "the strategy: why this lever, the assumptions, the uncertainty band, the alternatives."
        )
    return (
        "**Write the activation plan.** Who does what across marketing and service (and anyone else you "
        "need), in what order, and how you will measure the impact: the metric, the comparison group, the "
        "timeline, and how the result feeds back into the journey map."
    )


_TASK_TITLES = {
    1: "Unify: how many real customers?",
    2: "The biggest drop-off and its cause",
    3: "Personas: what to prioritise",
    4: "Strategy and its 12-month impact",
    5: "Activation plan",
}
_TASK_MINUTES = {1: 30, 2: 40, 3: 35, 4: 40, 5: 35}
_TASK_HINTS = {
    1: [
        "result = unify.unify(folder)  # writes identity_links, customers and touchpoints; print(result)",
        "unify.explain(folder, customer_id)  # why these records are one customer",
        "with cxlib.connect(folder, read_only=True) as ws: ws.table('customers').to_pandas()",
    ],
    2: [
        "tp = journeys.analysis_touchpoints(folder)  # after unify",
        "journeys.build(folder)  # stage_history and customer_stages",
        "journeys.funnel(tp, [...]); journeys.diagnose_dropoff(tp); journeys.dropoff_verdict(...)",
        "look at who drops out: by acquisition campaign, by service contact before the drop",
    ],
    3: [
        "model, profiles = personas.write_personas(folder, personas.PersonaModel(n_personas=5))  # after journeys",
        "personas.profile_heatmap(model); ws.table('personas'); ws.table('customer_stages')",
    ],
    4: [
        "history = simulate.history_from_workspace(folder)",
        "model = simulate.JourneyModel().fit(history)",
        "simulate.compare(simulate.simulate(model, [simulate.Scenario('my plan', levers)], months=12))",
        "impact.uplift(impact.campaign_groups(touchpoints))  # the win-back campaign had a holdout",
    ],
    5: [],
}
#: A first look per task in the work cells: (the notebook names it uses, the code). Cheap and read-only.
_TASK_STARTERS = {
    1: (
        ["cxlib", "folder"],
        "with cxlib.connect(folder, read_only=True) as _ws:\n    _records = _ws.rows_by_source()\n"
        "_records  # records per table and source, before unifying",
    ),
    2: (
        ["cxlib", "folder"],
        'with cxlib.connect(folder, read_only=True) as _ws:\n    _ev = _ws.table("events")\n'
        '    _events = _ev.group_by("event").aggregate(rows=_ev.count()).order_by("event").to_pandas()\n'
        "_events  # the event types the systems record",
    ),
    3: (["pd", "personas"], 'pd.Series(personas.FEATURES, name="meaning")  # the customer features available'),
    4: (
        ["pd", "simulate"],
        'pd.DataFrame({"example": [_s.name for _s in simulate.PRESETS], '
        '"levers": [_s.levers for _s in simulate.PRESETS]})  # how levers are written',
    ),
}


def _brief(candidate: str, company: str, summary: pd.DataFrame) -> str:
    rows = "\n".join(
        f"| `{r.table_name}` | {int(r.rows_in):,} | {int(r.rows_quarantined):,} | "
        f"{_day(r.first_ts)} .. {_day(r.last_ts)} |"
        for r in summary.itertuples()
    )
    total = sum(_TASK_MINUTES.values())
    per_task = ", ".join(f"task {t}: {m} min" for t, m in _TASK_MINUTES.items())
    tasks = "\n\n".join(
        f"### Task {t}: {_TASK_TITLES[t]} (about {_TASK_MINUTES[t]} minutes)\n\n{_task_text(t)}\n\n"
        + "Answers: "
        + ", ".join(f"`{q.key}` ({q.hint})" for q in QUESTIONS if q.task == t)
        for t in _TASK_TITLES
    )
    return f"""# Hiring case: {company}

For **{candidate}**. Thank you for taking the time. This is a working session on real-looking data, not a
quiz: we want to see how you think through a customer journey, from messy records to a plan other teams
can act on.

## The company

{company} sells home, outdoor and lifestyle products on its website, in its app and in its stores, in the
UK, Ireland, Germany and France. Its customer data lives in several systems that were never joined up. The
data covers two years. Everything in it is synthetic: no real person is in it.

## The data

`data/` is a CX Workspace: the systems' raw exports (never edit them) and `data/workspace.duckdb`, where
they are already **loaded** (`cx load` has run: bad rows are in the `quarantine` table) but **not unified**:
that is your first task.

| table | rows | quarantined at load | dates |
|---|---:|---:|---|
{rows}

The tables and columns are described in the CX Workspace docs (`docs/data-model.md`); every `cxlib`
function has a docstring with an example. Use anything else you like as well.

## How to work

- **Notebook:** `marimo edit case.py` (or open `case.ipynb` in JupyterLab). Both load the workspace with
  `cxlib` and have one clearly marked **ANSWER** cell per task.
- Time: about {total / 60:g} hours in all ({per_task}).
  Stop when the time is up and write down what you would do next instead.
- Work on your own; the data and the questions are yours alone (every candidate gets a different company).

## The tasks

{tasks}

## How to submit

Fill in **either** the ANSWER cells of `case.py` / `case.ipynb` **or** `answers.yml` (if both are filled,
`answers.yml` wins, answer by answer). In the answer cells type the values themselves -- a number, a word
from the list, or text in triple quotes -- not expressions: the answers are read, not run. Send back the
files you filled in (and your notebook, so we can follow your reasoning).

Numbers are scored against the company's truth with tolerances (close counts); the written answers are
discussed with you in the interview.
"""


def _day(ts: Any) -> str:
    return "-" if pd.isna(ts) else str(ts)[:10]


def _answer_template(candidate: str) -> str:
    lines = [
        f"# Answers of {candidate}. Fill in each value after the colon; leave a line empty if you skip it.",
        "# Numbers as numbers (2500, 0.27, 15000), choices as one word from the list.",
        "# Written answers after `|` on indented lines, for example:",
        "#   strategy: |",
        "#     First point.",
        "#     Second point.",
        "# If both this file and a notebook's answer cells are filled, this file wins, answer by answer.",
    ]
    for t in _TASK_TITLES:
        lines += ["", f"# --- Task {t}: {_TASK_TITLES[t]} ---"]
        for q in (q for q in QUESTIONS if q.task == t):
            lines.append(f"# {q.prompt} ({q.hint})")
            lines.append(f"{q.key}:")
    return "\n".join(lines) + "\n"


def _answer_assignments(task: int, indent: str) -> str:
    out = []
    for q in (q for q in QUESTIONS if q.task == task):
        out.append(f"{indent}# {q.prompt} ({q.hint})")
        out.append(f"{indent}{q.variable} = {'None' if q.kind != 'written' else chr(34) * 6}")
    return "\n".join(out)
