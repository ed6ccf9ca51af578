"""The hiring case: a generated company per candidate, a candidate notebook, an automatic grader, a scorecard.

A hiring manager runs :func:`new_case` (``cx case new``) once per candidate. The seed decides the company:
which buyer-journey step loses the most people and whether a marketing or a service failure drives it, how
strong the failures are, the persona mix (which persona is most valuable, which most at risk) and the
win-back campaign's true uplift -- so two candidates never share right answers. The bundle holds the raw
source files **loaded but not unified** (task 1 is to unify them), ``BRIEF.md``, the notebooks ``case.py``
(marimo) and ``case.ipynb`` (JupyterLab) with one answer cell per task, an ``answers.yml`` template, and
``case.yml`` -- the key: candidate, seed, generator settings and a fingerprint of the data. The answer key
is never written anywhere: :func:`grade_case` re-derives it by regenerating the company from the seed
(:func:`case_truth`). ``case.yml`` stays with the hiring manager: with the seed and cxlib anyone can
re-derive the key, so the candidate gets the zip :func:`new_case` writes, which leaves it out.

Grading (:func:`grade_case`, ``cx case grade``) reads the answers -- per answer, the first non-blank of
``answers.yml``, the answer cells of ``case.py``, those of ``case.ipynb`` (parsed with :mod:`ast`, never
run) -- and scores the quantitative ones against the truth with the tolerances in :data:`QUESTIONS`; the
written ones get a rubric (:data:`RUBRIC`) for the interviewer and 0 points until scored.
:func:`write_scorecard` writes ``scorecard.html`` through :class:`cxlib.report.Report`.

Examples
--------
>>> from cxlib import case
>>> [q.key for q in case.QUESTIONS if q.task == 2]
['dropoff_step', 'dropoff_cause', 'abandoners_share']
>>> case.case_design(1234)["biggest_dropoff"] != case.case_design(7)["biggest_dropoff"]
True
"""

from __future__ import annotations

import ast
import copy
import dataclasses
import datetime as dt
import functools
import hashlib
import json
import re
import secrets
import shutil
import tempfile
import textwrap
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from cxlib import synth
from cxlib.schema import DataError

__all__ = [
    "CASE_FORMAT",
    "LEVERS",
    "PERSONA_ARCHETYPES",
    "QUESTIONS",
    "RUBRIC",
    "Question",
    "case_design",
    "case_truth",
    "grade_case",
    "new_case",
    "perfect_answers",
    "print_scores",
    "read_answers",
    "write_scorecard",
]

#: Version of the seed -> company recipe. A case is graded with the recipe it was made with.
CASE_FORMAT = 1
DEFAULT_CUSTOMERS = 3_000
_MONTHS = 24
_START = "2024-01-01"
_SOURCE_SUFFIXES = (".csv", ".parquet")

#: The persona archetypes a candidate answers with (task 3), described by behaviour only.
PERSONA_ARCHETYPES: dict[str, str] = {
    "loyal_app": "app loyalists: order often, mostly through the app",
    "deal_seeker": "deal seekers: subscribe to and open the marketing e-mails, mid-sized baskets",
    "service_reliant": "service-reliant customers: contact support often, before and after buying",
    "big_ticket": "big-ticket buyers: rare, large orders, often in a store",
    "window_shopper": "window shoppers: browse the website a lot, rarely buy, small baskets",
}

#: The levers a candidate chooses from (task 4).
LEVERS: dict[str, str] = {
    "fix_presale_service": "resolve every pre-sale question (customers with one convert like the others)",
    "fix_campaign_targeting": "fix or replace the acquisition campaign whose customers progress worst "
    "(they progress like everyone else)",
    "winback_rollout": "send the win-back offer to every at-risk customer, every month",
    "other": "something else: describe it in your strategy (the interviewer scores it)",
}

_STEPS = {
    "awareness_to_consideration": "awareness → consideration",
    "consideration_to_purchase": "consideration → purchase",
}
_CAUSES = {"marketing": "marketing (traffic or targeting)", "service": "service (let down before buying)"}


@dataclass(frozen=True)
class Question:
    """One answer the candidate gives: where it goes, what it is, how it is scored.

    ``kind`` is ``count`` (relative tolerance), ``share`` (absolute tolerance, 0-1), ``money`` (relative
    tolerance with a floor), ``choice`` (one of ``choices``) or ``written`` (the interviewer scores it).
    ``full`` and ``half`` are the tolerances for full and half points.
    """

    key: str
    task: int
    kind: str
    points: float
    prompt: str
    hint: str = ""
    choices: tuple[str, ...] = ()
    full: float = 0.0
    half: float = 0.0

    @property
    def variable(self) -> str:
        """The name of the answer variable in the notebooks."""
        return f"answer_{self.key}"


#: Every answer, in order. Quantitative ones are scored automatically; written ones by the interviewer.
QUESTIONS: tuple[Question, ...] = (
    Question(
        "real_customers",
        1,
        "count",
        2,
        "How many real customers does the company have?",
        "a whole number",
        full=0.05,
        half=0.15,
    ),
    Question(
        "dropoff_step",
        2,
        "choice",
        1,
        "At which step of the buyer journey do the most people drop out?",
        "one of: " + ", ".join(_STEPS),
        choices=tuple(_STEPS),
    ),
    Question(
        "dropoff_cause",
        2,
        "choice",
        1,
        "Is the excess drop-off at that step caused by marketing or by service?",
        "marketing or service",
        choices=tuple(_CAUSES),
    ),
    Question(
        "abandoners_share",
        2,
        "share",
        1,
        "What share of checkout abandoners had an unresolved pre-sale question before abandoning?",
        "a share between 0 and 1, e.g. 0.25 for 25%",
        full=0.05,
        half=0.15,
    ),
    Question(
        "most_valuable_persona",
        3,
        "choice",
        1,
        "Which persona is most valuable?",
        "one of: " + ", ".join(PERSONA_ARCHETYPES),
        choices=tuple(PERSONA_ARCHETYPES),
    ),
    Question(
        "most_at_risk_persona",
        3,
        "choice",
        1,
        "Which persona is most at risk?",
        "one of: " + ", ".join(PERSONA_ARCHETYPES),
        choices=tuple(PERSONA_ARCHETYPES),
    ),
    Question(
        "priority",
        3,
        "written",
        2,
        "Which persona do you prioritise, and why?",
        "a few sentences, with the numbers behind them",
    ),
    Question(
        "lever",
        4,
        "choice",
        1,
        "Which lever do you pull first?",
        "one of: " + ", ".join(LEVERS),
        choices=tuple(LEVERS),
    ),
    Question(
        "revenue_impact_12m",
        4,
        "money",
        2,
        "Its 12-month revenue impact according to the simulator (mean gain over the baseline)",
        "a number in the data's amount units",
        full=0.20,
        half=0.50,
    ),
    Question(
        "strategy",
        4,
        "written",
        3,
        "Your strategy: why this lever, the assumptions, the uncertainty band, the alternatives.",
        "a short paragraph or bullet points",
    ),
    Question(
        "activation_plan",
        5,
        "written",
        4,
        "The activation plan: who does what across marketing and service, and how impact will be measured.",
        "bullet points: owners, actions, order, measurement",
    ),
)
_BY_KEY = {q.key: q for q in QUESTIONS}
#: Money answers within this share of the baseline's 12-month revenue score as if within the tolerance
#: (full, half): a lever worth almost nothing must not demand a precise almost-nothing.
_MONEY_FLOOR = (0.005, 0.015)

#: What a strong, adequate and weak written answer contains (shown to the interviewer on the scorecard).
RUBRIC: dict[str, dict[str, str]] = {
    "priority": {
        "strong": "Picks one persona and defends it with numbers for both value and risk (its revenue share, "
        "its share of customers at risk); names the trade-off (protect the most valuable or rescue the "
        "most at risk) and what prioritising means in practice (budget, service level, journey fixes).",
        "adequate": "Picks a persona with one supporting number, or argues value or risk but not both.",
        "weak": "No numbers; a persona chosen by its name or a stereotype; prospects confused with customers.",
    },
    "strategy": {
        "strong": "The lever follows from the diagnosis of task 2; it is expressed as simulator levers with "
        "the assumption stated (e.g. affected customers convert like the others); the gain comes with its "
        "5-95% band and what the band does not cover (the model assumes the future moves like the past); at "
        "least one alternative is compared; the win-back campaign's measured uplift is read with its "
        "interval (not significant at this size is a valid finding).",
        "adequate": "A sensible lever and a number, without the band, the assumptions or an alternative.",
        "weak": "A lever unrelated to the findings; a number without a method; attribution read as causal.",
    },
    "activation_plan": {
        "strong": "Named owners in marketing, service and analytics/product with concrete actions and an "
        "order (30/60/90 days); a measurement plan with a randomised holdout or a staged rollout, a primary "
        "metric tied to the drop-off (e.g. consideration -> purchase conversion of customers who asked a "
        "pre-sale question, or of the campaign's customers), guardrail metrics, a readout date and how the "
        "result updates the journey map; how the departments share one view of the customer.",
        "adequate": "Owners and actions, but vague measurement (before/after without a comparison group).",
        "weak": "A generic list without owners, order or measurement.",
    },
}

_COMPANIES = (
    "Northwind Outfitters",
    "Juniper & Oak",
    "Harbour Home",
    "Alder Street Goods",
    "Pebble Lane",
    "Kestrel Supply Co.",
    "Mossgrove",
    "Tidewater Trading",
    "Bramble & Finch",
    "Lumen Living",
    "Fieldstone Market",
    "Copperleaf",
)


# --- the seed decides the company ---------------------------------------------------------------------------


def case_design(seed: int) -> dict[str, Any]:
    """The company a seed makes: its name and planted effects (the answer key's design, not the key).

    The key itself is measured on the generated data by :func:`case_truth`; the design only sets the
    effects large enough that the intended answers are clear: one of three failure patterns (a service
    failure at consideration -> purchase, a campaign whose traffic never considers, or a campaign whose
    traffic considers but never buys), the most valuable persona (app loyalists or big-ticket buyers, by
    the persona mix), the most at-risk persona (big-ticket buyers -- only when app loyalists are the most
    valuable -- or window shoppers, by their churn), and the win-back offer's true uplift.

    Examples
    --------
    >>> d = case_design(42)
    >>> sorted(d)
    ['biggest_dropoff', 'company', 'effects', 'most_at_risk', 'most_valuable', 'pattern']
    >>> d == case_design(42)
    True
    """
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise DataError(f"a case seed must be a non-negative whole number, got {seed!r}")
    rng = np.random.default_rng([int(seed), CASE_FORMAT, 0xCA5E])
    pattern = ("service", "campaign_awareness", "campaign_consideration")[int(rng.integers(3))]
    valuable = ("loyal_app", "big_ticket")[int(rng.integers(2))]
    # churning big-ticket buyers would no longer be clearly the most valuable: they are at risk only when app
    # loyalists are the most valuable (then mostly, so that each at-risk persona comes up about as often)
    at_risk = "big_ticket" if valuable == "loyal_app" and rng.random() < 0.8 else "window_shopper"
    base = {p: synth._PERSONA_SPECS[p]["share"] * rng.uniform(0.85, 1.15) for p in synth.PERSONAS}
    if valuable == "big_ticket":
        base["big_ticket"], base["loyal_app"] = rng.uniform(0.27, 0.31), rng.uniform(0.05, 0.07)
    else:
        base["loyal_app"], base["big_ticket"] = rng.uniform(0.20, 0.24), rng.uniform(0.09, 0.12)
    total = sum(base.values())
    shares = tuple(round(float(base[p] / total), 4) for p in synth.PERSONAS)
    # big-ticket buyers start from a low churn, window shoppers from a high one: both end up clearly first
    boost = rng.uniform(3.0, 3.5) if at_risk == "big_ticket" else rng.uniform(2.0, 2.4)
    churn = tuple(
        (p, round(float(boost), 2) if p == at_risk else 0.5)
        for p in ("service_reliant", "deal_seeker", "big_ticket", "window_shopper")
    )
    if pattern == "service":
        kw = dict(
            presale_unresolved=rng.uniform(0.6, 0.75),
            presale_penalty=rng.uniform(0.05, 0.15),
            presale_rate_factor=rng.uniform(1.5, 2.0),
            blitz_share=rng.uniform(0.03, 0.06),
            blitz_factor=rng.uniform(0.1, 0.3),
        )
    else:
        kw = dict(
            presale_unresolved=rng.uniform(0.1, 0.2),
            presale_penalty=rng.uniform(0.3, 0.5),
            presale_rate_factor=1.0,
            blitz_share=rng.uniform(0.30, 0.40) if pattern == "campaign_awareness" else rng.uniform(0.25, 0.35),
            blitz_factor=rng.uniform(0.05, 0.12) if pattern == "campaign_awareness" else rng.uniform(0.05, 0.15),
        )
    effects = synth.PlantedEffects(
        **{k: round(float(v), 3) for k, v in kw.items()},
        blitz_stage="awareness" if pattern != "campaign_consideration" else "consideration",
        winback_uplift=round(float(rng.uniform(0.05, 0.25)), 3),
        winback_holdout=0.25,
        persona_shares=shares,
        churn=churn,
    )
    return {
        "company": _COMPANIES[int(rng.integers(len(_COMPANIES)))],
        "pattern": pattern,
        "biggest_dropoff": "awareness_to_consideration"
        if pattern == "campaign_awareness"
        else "consideration_to_purchase",
        "most_valuable": valuable,
        "most_at_risk": at_risk,
        "effects": effects,
    }


# --- creating a case ----------------------------------------------------------------------------------------


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "candidate"


def _fingerprint(folder: Path) -> str:
    """A hash of the source files' contents (Parquet by its rows, so the writer's version does not matter)."""
    h = hashlib.sha256()
    files = sorted(p for p in folder.iterdir() if p.suffix in _SOURCE_SUFFIXES and p.is_file())
    if not files:
        raise DataError(f"{folder}: no source files (.csv, .parquet) to fingerprint")
    for p in files:
        h.update(p.name.encode())
        if p.suffix == ".parquet":
            df = pd.read_parquet(p)
            h.update(",".join(map(str, df.columns)).encode())
            h.update(pd.util.hash_pandas_object(df, index=False).to_numpy().tobytes())
        else:
            h.update(p.read_bytes())
    return h.hexdigest()


def _generate(folder: Path, seed: int, n_customers: int, months: int, start: str, progress: bool) -> Path:
    """Write the case's company (sources and truth) to ``folder``."""
    synth.write_company(
        folder,
        n_customers=n_customers,
        seed=seed,
        months=months,
        start=start,
        effects=case_design(seed)["effects"],
        progress=progress,
    )
    return folder


def new_case(
    out: str | Path,
    candidate: str,
    seed: int | None = None,
    n_customers: int = DEFAULT_CUSTOMERS,
    *,
    months: int = _MONTHS,
    progress: bool = False,
) -> Path:
    """Create a candidate's case bundle in ``out`` and return the folder.

    Writes ``data/`` (the company's raw source files, loaded into ``data/workspace.duckdb`` by
    :func:`cxlib.load` but **not** unified), ``BRIEF.md``, ``case.py`` (marimo), ``case.ipynb``
    (JupyterLab), ``answers.yml`` (a blank answer sheet), ``case.yml`` (the key: candidate, seed, generator
    settings, data fingerprint -- keep it, do not send it) and ``<candidate>-case.zip``: everything but
    ``case.yml``, the file to send. No truth is written: no ``truth/`` folder, no planted effects.

    Parameters
    ----------
    out : folder
        Must not exist or be empty.
    candidate : str
        The candidate's name (shown in the brief, the notebooks and the scorecard).
    seed : int, optional
        Decides the company (:func:`case_design`). Default: a random nine-digit seed -- small seeds can be
        guessed by generating companies until one matches.
    n_customers : int
        People simulated (a few thousand: the candidate's laptop unifies them in well under a minute).
    months : int
        Months of history.
    progress : bool
        Progress bars.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = new_case(pathlib.Path(tempfile.mkdtemp()) / "a", "A. Candidate", seed=5, n_customers=300)
    >>> sorted(p.name for p in folder.iterdir())  # doctest: +NORMALIZE_WHITESPACE
    ['BRIEF.md', 'a-candidate-case.zip', 'answers.yml', 'case.ipynb', 'case.py', 'case.yml', 'data']
    >>> (folder / "data" / "truth").exists()
    False
    """
    from cxlib import io

    if not str(candidate).strip():
        raise DataError("a case needs the candidate's name (--candidate)")
    if n_customers < 100:
        raise DataError(f"a case needs at least 100 customers, got {n_customers}")
    seed = secrets.randbelow(900_000_000) + 100_000_000 if seed is None else seed
    design = case_design(seed)
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise DataError(f"{out} is not empty: a case goes into a new folder (it would overwrite another case)")
    data = out / "data"
    created = not out.exists()
    data.mkdir(parents=True)
    try:
        with tempfile.TemporaryDirectory(prefix="cxcase-") as tmp:
            _generate(Path(tmp), seed, n_customers, months, _START, progress)
            for p in sorted(Path(tmp).iterdir()):
                if p.is_file() and p.suffix in _SOURCE_SUFFIXES:  # the sources only: truth/ stays behind
                    shutil.copy2(p, data / p.name)
        report = io.load(data, progress=progress)
        key = {
            "candidate": str(candidate).strip(),
            "seed": int(seed),
            "case_format": CASE_FORMAT,
            "generator": {
                "cxlib": _version(),
                "n_customers": int(n_customers),
                "months": int(months),
                "start": _START,
                "block_size": synth.BLOCK_SIZE,
            },
            "data_fingerprint": _fingerprint(data),
            "created": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        }
        header = (
            "# The key to this hiring case: for the hiring manager only. Do NOT send it to the candidate:\n"
            "# with the seed and cxlib the answers can be re-derived. `cx case grade` reads it.\n"
        )
        (out / "case.yml").write_text(header + yaml.safe_dump(key, sort_keys=False, allow_unicode=True))
        summary = report.summary
        (out / "BRIEF.md").write_text(_brief(key["candidate"], design["company"], summary))
        (out / "case.py").write_text(_marimo_notebook(key["candidate"], design["company"]))
        (out / "case.ipynb").write_text(_jupyter_notebook(key["candidate"], design["company"]))
        (out / "answers.yml").write_text(_answer_template(key["candidate"]))
        _zip(out, f"{_slug(key['candidate'])}-case")
    except BaseException:
        # nothing half-made is left behind: a failed case would look like a case, and block the next try
        if created:
            shutil.rmtree(out, ignore_errors=True)
        else:
            for p in out.iterdir():
                if p.is_dir():
                    shutil.rmtree(p, ignore_errors=True)
                else:
                    p.unlink(missing_ok=True)
        raise
    return out


def _version() -> str:
    from cxlib import __version__

    return __version__


def _zip(out: Path, name: str) -> Path:
    """Zip the bundle for the candidate: everything but the key (and any scorecard)."""
    path = out / f"{name}.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for p in sorted(out.rglob("*")):
            rel = p.relative_to(out)
            if p.is_dir() or p == path or rel.name in ("case.yml", "scorecard.html") or p.suffix == ".wal":
                continue
            z.write(p, f"{name}/{rel.as_posix()}")
    return path


# --- the candidate's documents ------------------------------------------------------------------------------


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


def _marimo_notebook(candidate: str, company: str) -> str:
    candidate = candidate.replace("\\", "/").replace('"', "'")  # it goes inside a string literal
    cells = [
        _mcell(
            ["mo"],
            f'    mo.md(r"""\n    # Hiring case: {company}\n\n    For **{candidate}**. Read `BRIEF.md` first. '
            "Each task below has a work cell (start there;\n    add as many cells as you like) and an **ANSWER** "
            "cell: type the values themselves (a number, a word\n    from the list, text in triple quotes), "
            'not expressions -- the answers are read, not run.\n    """)',
            [],
        ),
        _mcell(
            [],
            "    import os\n    from pathlib import Path\n\n    import marimo as mo\n    import pandas as pd\n\n"
            "    import cxlib\n    from cxlib import impact, journeys, personas, simulate, unify",
            ["Path", "cxlib", "impact", "journeys", "mo", "os", "pd", "personas", "simulate", "unify"],
        ),
        _mcell(
            ["Path", "mo", "os"],
            "    # the case's workspace: data/ next to this notebook (or the folder in CX_WORKSPACE)\n"
            '    folder = Path(os.environ.get("CX_WORKSPACE") or Path(mo.notebook_dir() or ".") / "data")\n'
            "    folder",
            ["folder"],
        ),
        _mcell(
            ["cxlib", "folder", "mo"],
            "    with cxlib.connect(folder, read_only=True) as _ws:\n        overview = _ws.summary()\n"
            '    mo.vstack([mo.md(f"**Workspace** `{folder}`: loaded, not unified yet."), overview])',
            ["overview"],
        ),
    ]
    answers = []
    for t in _TASK_TITLES:
        text = _task_text(t).replace('"""', "'''")
        text = "\n".join("    " + ln if ln else "" for ln in text.split("\n"))
        cells.append(_mcell(["mo"], f'    mo.md(r"""\n    ## Task {t}: {_TASK_TITLES[t]}\n\n{text}\n    """)', []))
        if t in _TASK_STARTERS:
            args, code = _TASK_STARTERS[t]
            hints = "".join(f"    # {h}\n" for h in _TASK_HINTS[t])
            code = "\n".join("    " + ln for ln in code.split("\n"))
            cells.append(_mcell(args, f"    # Task {t}: your work (add cells as you like). Useful:\n{hints}{code}", []))
        names = [q.variable for q in QUESTIONS if q.task == t]
        answers += names
        body = f"    # ======== ANSWER: task {t} ========\n" + _answer_assignments(t, "    ")
        cells.append(_mcell([], body, names))
    rows = ", ".join(f'("{q.key}", {q.variable})' for q in QUESTIONS)
    cells.append(
        _mcell(
            sorted([*answers, "mo", "pd"]),
            f"    _rows = [{rows}]\n"
            '    _filled = pd.DataFrame(_rows, columns=["answer", "value"])\n'
            '    mo.vstack([mo.md("## Your answers (as the grader will read them)"), _filled])',
            [],
        )
    )
    body = "\n\n\n".join(cells)
    return (
        f'import marimo\n\n__generated_with = "0.25.2"\napp = marimo.App(width="medium", '
        f'app_title="Hiring case: {company}")\n\n\n{body}\n\n\nif __name__ == "__main__":\n    app.run()\n'
    )


def _mcell(args: list[str], body: str, returns: list[str]) -> str:
    ret = "    return\n" if not returns else f"    return ({', '.join(returns)},)\n"
    return f"@app.cell\ndef _({', '.join(args)}):\n{body}\n{ret}".rstrip("\n")


def _jupyter_notebook(candidate: str, company: str) -> str:
    """The notebook as nbformat 4.5 JSON, written directly (so `cx case new` needs no Jupyter installed)."""
    cells: list[dict] = []

    def add(kind: str, source: str, tags: tuple[str, ...] = ()) -> None:
        cell: dict[str, Any] = {"cell_type": kind, "id": f"cell-{len(cells):02d}", "metadata": {}}
        if tags:
            cell["metadata"]["tags"] = list(tags)
        cell["source"] = source.splitlines(keepends=True)
        if kind == "code":
            cell |= {"execution_count": None, "outputs": []}
        cells.append(cell)

    add(
        "markdown",
        f"# Hiring case: {company}\n\nFor **{candidate}**. Read `BRIEF.md` first. Each task below has a work "
        "cell (start there; add as many cells as you like) and an **ANSWER** cell: type the values themselves "
        "(a number, a word from the list, text in triple quotes), not expressions -- the answers are read, not "
        "run.",
    )
    add(
        "code",
        "import os\nfrom pathlib import Path\n\nimport pandas as pd\n\nimport cxlib\n"
        "from cxlib import impact, journeys, personas, simulate, unify\n\n"
        "# the case's workspace: data/ next to this notebook (or the folder in CX_WORKSPACE)\n"
        'folder = Path(os.environ.get("CX_WORKSPACE") or "data")\n'
        "with cxlib.connect(folder, read_only=True) as ws:\n    overview = ws.summary()\noverview",
    )
    for t in _TASK_TITLES:
        add("markdown", f"## Task {t}: {_TASK_TITLES[t]}\n\n{_task_text(t)}")
        if t in _TASK_STARTERS:
            hints = "".join(f"# {h}\n" for h in _TASK_HINTS[t])
            add("code", f"# Task {t}: your work (add cells as you like). Useful:\n{hints}{_TASK_STARTERS[t][1]}")
        add("code", f"# ======== ANSWER: task {t} ========\n" + _answer_assignments(t, ""), tags=("answer",))
    rows = ", ".join(f'("{q.key}", {q.variable})' for q in QUESTIONS)
    add("markdown", "## Your answers (as the grader will read them)")
    add("code", f'pd.DataFrame([{rows}], columns=["answer", "value"])')
    nb = {
        "cells": cells,
        "metadata": {
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    return json.dumps(nb, indent=1, ensure_ascii=False) + "\n"


# --- the truth ----------------------------------------------------------------------------------------------


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


def case_truth(
    seed: int,
    n_customers: int = DEFAULT_CUSTOMERS,
    *,
    months: int = _MONTHS,
    reference: bool = True,
    progress: bool = False,
) -> dict[str, Any]:
    """The answer key of the case a seed makes, re-derived by regenerating the company.

    Regenerates the company (deterministic per seed) and measures, on its truth:

    - ``real_customers``: distinct people with a contact record or an e-mail, phone or contact reference in
      any source row;
    - ``dropoff``: people who reached each buyer step's start and never its end (the biggest is the
      answer) and the planted mechanisms' caused losses there (the larger one is the cause);
    - ``abandoners_share``: checkout abandoners whose unresolved pre-sale question came before their last
      checkout start (the generator's observable count);
    - ``personas``: revenue in the last 12 months and the share of buyers at risk or churned in the last
      month, by true persona;
    - ``levers``: each lever's true effect (the generator replays the same people with the lever in place,
      revenue of the last 12 months) -- the best lever is the answer -- and the simulator's estimate by the
      reference method of the brief (unify, journeys, ``JourneyModel()`` on ``history_from_workspace``,
      12 months), which the candidate's number is scored against.

    Takes about half a minute for a few thousand customers, most of it the reference analysis (it unifies
    the data); ``reference=False`` leaves it out (no ``simulator_*`` entries: grading needs them). The
    result is cached per process.

    Examples
    --------
    >>> t = case_truth(3, n_customers=300, months=12, reference=False)
    >>> t["dropoff"]["step"] in ("awareness_to_consideration", "consideration_to_purchase")
    True
    >>> t["levers"]["best"] in LEVERS
    True
    """
    return copy.deepcopy(_case_truth(int(seed), int(n_customers), int(months), reference, progress))


@functools.lru_cache(maxsize=8)
def _case_truth(seed: int, n_customers: int, months: int, reference: bool, progress: bool) -> dict[str, Any]:
    design = case_design(seed)
    fx = design["effects"]
    with tempfile.TemporaryDirectory(prefix="cxcase-truth-") as tmp:
        folder = _generate(Path(tmp), seed, n_customers, months, _START, progress)
        fingerprint = _fingerprint(folder)
        truth = synth.load_truth(folder)
        real = _real_customers(folder, truth.record_map)
        simulated = _reference(folder, fx, progress) if reference else {}
    planted = truth.planted
    hist = truth.stage_history.merge(truth.people[["person_id", "persona"]], on="person_id")
    reached = hist.groupby("person_id")["stage"].agg(lambda s: set(s.astype(str)))
    aw = reached.map(lambda s: "awareness" in s)
    co = reached.map(lambda s: "consideration" in s)
    pu = reached.map(lambda s: "purchase" in s)
    counts = {
        "awareness_to_consideration": int((aw & ~co).sum()),
        "consideration_to_purchase": int((co & ~pu).sum()),
    }
    step = max(counts, key=counts.get)
    caused = {"service": 0, "marketing": 0}
    if step == "consideration_to_purchase":
        caused["service"] = int(planted["service_failure"]["purchases_prevented_that_month"])
    if planted["marketing_failure"]["stage"][0] == ("awareness" if step.startswith("awareness") else "consideration"):
        caused["marketing"] = int(planted["marketing_failure"]["progressions_lost_caused"])
    cause = "service" if caused["service"] > caused["marketing"] else "marketing"
    months_all = sorted(hist["month"].unique())
    revenue = hist[hist["month"].isin(months_all[-12:])].groupby("persona")["revenue"].sum()
    buyers = set(hist.loc[hist["stage"].astype(str) == "purchase", "person_id"])
    last = hist[(hist["month"] == months_all[-1]) & hist["person_id"].isin(buyers)]
    at_risk = last.groupby("persona")["stage"].agg(lambda s: float(s.astype(str).isin(["at_risk", "churned"]).mean()))
    base_rev = float(hist[hist["month"].isin(months_all[-12:])]["revenue"].sum())
    causal = {
        lever: round(_last12(_counterfactual(seed, n_customers, months, fx, lever)) - base_rev, 2)
        for lever in ("fix_presale_service", "fix_campaign_targeting", "winback_rollout")
    }
    return {
        "seed": seed,
        "n_customers": n_customers,
        "months": months,
        "company": design["company"],
        "pattern": design["pattern"],
        "fingerprint": fingerprint,
        "real_customers": int(real),
        "dropoff": {"step": step, "cause": cause, "dropped": counts, "caused": caused},
        "abandoners_share": float(planted["service_failure"]["abandoners_share_with_presale_failure"]),
        "personas": {
            "most_valuable": str(revenue.idxmax()),
            "most_at_risk": str(at_risk.idxmax()),
            "revenue_12m": {k: round(float(v), 2) for k, v in revenue.sort_values(ascending=False).items()},
            "at_risk_share": {k: round(float(v), 4) for k, v in at_risk.sort_values(ascending=False).items()},
        },
        "levers": {
            "best": max(causal, key=causal.get),
            "true_gain_12m": causal,
            "true_baseline_12m": round(base_rev, 2),
            **simulated,
        },
        "winback_true_uplift": float(fx.winback_uplift),
    }


def _last12(company: synth.SyntheticCompany) -> float:
    h = company.truth.stage_history
    months = sorted(h["month"].unique())
    return float(h.loc[h["month"].isin(months[-12:]), "revenue"].sum())


def _counterfactual(seed: int, n: int, months: int, fx: synth.PlantedEffects, lever: str) -> synth.SyntheticCompany:
    """The same people with the lever in place all along (common random numbers: the difference is its effect)."""
    kw: dict[str, Any] = {"effects": fx}
    if lever == "fix_presale_service":
        kw["scenario"] = synth.Counterfactual(lever, fix_service_failure=True)
    elif lever == "fix_campaign_targeting":
        kw["effects"] = dataclasses.replace(fx, blitz_factor=1.0)
    else:
        kw["effects"] = dataclasses.replace(fx, winback_rollout=True)
    return synth.generate(n_customers=n, seed=seed, months=months, start=_START, **kw)


def _real_customers(folder: Path, record_map: pd.DataFrame) -> int:
    """Distinct people behind a contact record or a row carrying an e-mail, phone or contact reference."""
    keys = {"contacts": "record_id", "events": "event_id", "orders": "order_id", "tickets": "ticket_id"}
    keys["surveys"] = "response_id"
    rm = record_map.dropna(subset=["person_id"])
    people: set[str] = set()
    for name, key in keys.items():
        path = next((p for p in (folder / f"{name}.csv", folder / f"{name}.parquet") if p.exists()), None)
        if path is None:
            continue
        df = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path, dtype=str)
        known = pd.Series(name == "contacts", index=df.index)
        for c in ("email", "phone", "contact_ref"):
            if c in df.columns:
                known |= df[c].notna() & (df[c].astype(str).str.strip() != "")
        rows = set(df.loc[known, key].dropna().astype(str))
        m = rm[(rm["table_name"] == name) & rm["record_key"].isin(rows)]
        people |= set(m["person_id"])
    return len(people)


def _reference(folder: Path, fx: synth.PlantedEffects, progress: bool) -> dict[str, Any]:
    """The simulator's 12-month gain per lever, by the method the brief prescribes, on the case's data."""
    import cxlib
    from cxlib import impact, journeys, unify
    from cxlib import simulate as sim

    cxlib.load(folder, progress=progress)
    unify.unify(folder, progress=progress)
    journeys.build(folder)
    h = sim.history_from_workspace(folder, by=None)
    with cxlib.connect(folder, read_only=True) as ws:
        tp = ws.table("touchpoints")
        campaign = tp.filter(tp.campaign == "social_blitz").select("customer_id").distinct().to_pandas()
        groups = impact.campaign_groups(tp)
    h["campaign_customer"] = h["customer_id"].isin(set(campaign["customer_id"]))
    uplift = impact.uplift(groups, value=None).set_index("metric").loc["conversion_rate", "uplift"]
    src, dst = ("awareness", "consideration") if fx.blitz_stage == "awareness" else ("consideration", "purchase")
    scenarios = [
        sim.Scenario("fix_presale_service", sim.service_failure_lever(h)),
        sim.Scenario("fix_campaign_targeting", sim.service_failure_lever(h, "campaign_customer", src, dst)),
        sim.Scenario("winback_rollout", [sim.Scenario.shift("at_risk", "repeat", float(uplift))]),
    ]
    model = sim.JourneyModel().fit(h)
    ranked = sim.compare(sim.simulate(model, scenarios, months=12, draws=1000, random_state=0))
    gains = ranked.set_index("scenario")["gain"]
    baseline = float(ranked.loc[ranked["scenario"] == "baseline", "revenue"].iloc[0])
    return {
        "simulator_gain_12m": {s.name: round(float(gains[s.name]), 2) for s in scenarios},
        "simulator_baseline_12m": round(baseline, 2),
        "measured_winback_uplift": round(float(uplift), 4),
    }


def perfect_answers(truth: Mapping[str, Any]) -> dict[str, Any]:
    """The answer sheet that scores full marks on the quantitative answers (for tests and for the guide).

    Examples
    --------
    >>> t = {"real_customers": 2000, "dropoff": {"step": "consideration_to_purchase", "cause": "service"},
    ...      "abandoners_share": 0.7, "personas": {"most_valuable": "loyal_app", "most_at_risk": "window_shopper"},
    ...      "levers": {"best": "fix_presale_service", "simulator_gain_12m": {"fix_presale_service": 9000.0}}}
    >>> perfect_answers(t)["revenue_impact_12m"]
    9000.0
    """
    best = truth["levers"]["best"]
    return {
        "real_customers": truth["real_customers"],
        "dropoff_step": truth["dropoff"]["step"],
        "dropoff_cause": truth["dropoff"]["cause"],
        "abandoners_share": truth["abandoners_share"],
        "most_valuable_persona": truth["personas"]["most_valuable"],
        "most_at_risk_persona": truth["personas"]["most_at_risk"],
        "priority": "",
        "lever": best,
        "revenue_impact_12m": truth["levers"].get("simulator_gain_12m", {}).get(best),
        "strategy": "",
        "activation_plan": "",
    }


# --- reading the answers -------------------------------------------------------------------------------------


def _blank(v: Any) -> bool:
    return v is None or (isinstance(v, str) and not v.strip()) or (isinstance(v, float) and np.isnan(v))


def _assignments(source: str, where: str) -> tuple[dict[str, Any], list[str]]:
    """``answer_*`` literal assignments in Python source, read with :mod:`ast` (the code is never run)."""
    notes: list[str] = []
    # notebook magics and shell escapes are not Python
    source = "\n".join("" if ln.lstrip().startswith(("%", "!")) else ln for ln in source.splitlines())
    try:
        tree = ast.parse(source)
    except SyntaxError as e:
        return {}, [f"{where}: not valid Python (line {e.lineno}): answers there not read"]
    found: dict[str, Any] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for t in targets:
                if isinstance(t, ast.Name) and t.id.startswith("answer_") and node.value is not None:
                    key = t.id.removeprefix("answer_")
                    try:
                        found[key] = ast.literal_eval(node.value)
                    except ValueError:
                        notes.append(f"{where}: {t.id} is an expression, not a value: not read (type the value)")
    return found, notes


def _from_ipynb(path: Path) -> tuple[dict[str, Any], list[str]]:
    try:
        nb = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        return {}, [f"{path.name}: not a readable notebook ({e}): answers there not read"]
    found: dict[str, Any] = {}
    notes: list[str] = []
    for i, cell in enumerate(nb.get("cells", [])):
        if cell.get("cell_type") != "code":
            continue
        src = cell.get("source", "")
        src = "".join(src) if isinstance(src, list) else str(src)
        if "answer_" in src:
            f, n = _assignments(src, f"{path.name} cell {i + 1}")
            found.update(f)
            notes += n
    return found, notes


def read_answers(folder: str | Path) -> pd.DataFrame:
    """The candidate's answers: ``item, answer, source, note``, one row per question.

    Precedence, answer by answer: the first non-blank of ``answers.yml``, ``case.py`` (marimo answer
    cells), ``case.ipynb`` (answer cells). Answer cells are parsed with :mod:`ast`, never run: an answer
    must be a literal (a number, a string, ``None``). Different non-blank answers in two places are noted.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "answers.yml").write_text("real_customers: 2,050\\n")
    >>> _ = (d / "case.py").write_text("answer_real_customers = 1999\\nanswer_dropoff_cause = 'service'\\n")
    >>> read_answers(d).set_index("item").loc[["real_customers", "dropoff_cause"], ["answer", "source"]].values.tolist()
    [['2,050', 'answers.yml'], ['service', 'case.py']]
    """
    folder = Path(folder)
    sources: list[tuple[str, dict[str, Any]]] = []
    notes: list[str] = []
    yml = folder / "answers.yml"
    if yml.exists():
        try:
            data = yaml.safe_load(yml.read_text()) or {}
            if not isinstance(data, dict):
                raise yaml.YAMLError("the top level is not a mapping of answer: value")
            sources.append(("answers.yml", {str(k).removeprefix("answer_"): v for k, v in data.items()}))
        except yaml.YAMLError as e:
            notes.append(f"answers.yml: not valid YAML, not read ({str(e).splitlines()[0]})")
    if (folder / "case.py").exists():
        found, n = _assignments((folder / "case.py").read_text(), "case.py")
        sources.append(("case.py", found))
        notes += n
    if (folder / "case.ipynb").exists():
        found, n = _from_ipynb(folder / "case.ipynb")
        sources.append(("case.ipynb", found))
        notes += n
    rows = []
    for q in QUESTIONS:
        filled = [(name, found[q.key]) for name, found in sources if q.key in found and not _blank(found[q.key])]
        answer, source, note = (filled[0][1], filled[0][0], "") if filled else (None, "", "")
        others = {str(v).strip() for _, v in filled[1:]} - {str(answer).strip()}
        if others:
            note = f"also answered differently in {', '.join(n for n, v in filled[1:] if str(v).strip() in others)}"
        rows.append({"item": q.key, "answer": answer, "source": source, "note": note})
    out = pd.DataFrame(rows)
    out.attrs["notes"] = notes
    return out


# --- scoring ------------------------------------------------------------------------------------------------

_SUFFIX = {"k": 1e3, "m": 1e6, "mn": 1e6, "bn": 1e9}


def _number(v: Any) -> float | None:
    """A number from what a person types: 2,050 / £13.5k / 27% / 1.2m (percent stays a percent: 27)."""
    if isinstance(v, bool):
        return None
    if isinstance(v, int | float | np.integer | np.floating):
        return float(v)
    s = str(v).strip().lower().replace(",", "").replace("_", "").replace(" ", "")
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
        if 1 < x <= 100:
            x, note = x / 100, "read as a percentage; "
        err = abs(x - expected)
        return expected, _within(err, q.full, q.half), f"{note}{(x - expected) * 100:+.1f} points off"
    # money: the simulator's gain for the lever the candidate chose (the best lever if they chose none)
    lever = _money_lever(truth)
    if expected is None:
        return None, 0.0, f"no reference for lever {lever or '(none)'}: to be judged by the interviewer"
    base = abs(truth["levers"]["simulator_baseline_12m"])
    full = max(q.full * abs(expected), _MONEY_FLOOR[0] * base)
    half = max(q.half * abs(expected), _MONEY_FLOOR[1] * base)
    d = abs(x - expected)
    share = 1.0 if d <= full else 0.5 if d <= half else 0.0
    rel = f" ({d / abs(expected):.0%} off)" if expected else ""
    return expected, share, f"reference for lever {lever}: {x - expected:+,.0f}{rel}"


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


# --- the scorecard ------------------------------------------------------------------------------------------


def write_scorecard(folder: str | Path, table: pd.DataFrame | None = None, total: float | None = None) -> Path:
    """Write ``scorecard.html`` into the case folder: scores, answers next to the truth, the rubric.

    A self-contained page built with :class:`cxlib.report.Report` (opens offline) for the hiring manager:
    the candidate's name is in the title; nothing in it describes real people, so small-group suppression
    is off. Grades the case first unless ``table`` (from :func:`grade_case`) is given.
    """
    import plotly.graph_objects as go

    from cxlib.report import Report

    folder = Path(folder)
    if table is None:
        table, total = grade_case(folder)
    total = float(table["score"].sum()) if total is None else total
    a, truth = table.attrs, table.attrs["truth"]
    r = Report(
        f"Hiring case scorecard: {a['candidate']}",
        sources=[f"{truth['company']} (generated, seed {a['seed']}, {truth['n_customers']:,} people)"],
        min_group_size=0,
    )
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
    for t in _TASK_TITLES:
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
    r.section("How grading works")
    r.markdown(_grading_text())
    return r.save(folder / "scorecard.html")


def _short(v: Any, n: int = 160) -> str:
    if _blank(v):
        return ""
    if isinstance(v, float | np.floating):
        s = f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.4g}"
    else:
        s = str(v)
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
