"""The hiring case's parts without a company: design, documents, reading and scoring answers (the fast path)."""

from __future__ import annotations

import ast
import json

import pytest

from cxlib import case
from cxlib.case import documents, grading, notebooks, questions
from cxlib.schema import DataError

# a truth as case_truth returns it, with made-up numbers (nothing here is generated)
TRUTH = {
    "real_customers": 2000,
    "dropoff": {"step": "consideration_to_purchase", "cause": "service"},
    "abandoners_share": 0.7,
    "personas": {"most_valuable": "loyal_app", "most_at_risk": "window_shopper"},
    "levers": {
        "best": "fix_presale_service",
        "simulator_gain_12m": {"fix_presale_service": 9000.0, "fix_campaign_targeting": 100.0, "winback_rollout": 50.0},
        "simulator_baseline_12m": 100_000.0,
        "measured_winback_uplift": 0.1,
    },
    "winback_true_uplift": 0.12,
}


def test_the_design_is_the_seeds_and_only_the_seeds():
    assert case.case_design(42) == case.case_design(42)
    assert len({case.case_design(s)["pattern"] for s in range(30)}) == 3
    for bad in (-1, 1.5, True, "7"):
        with pytest.raises(DataError, match="non-negative whole number"):
            case.case_design(bad)
    fx = case.case_design(9)["effects"]
    assert sum(fx.persona_shares) == pytest.approx(1, abs=1e-3)


def test_the_documents_state_every_task_and_question():
    brief_tasks = [documents._task_text(t) for t in documents._TASK_TITLES]
    assert all(brief_tasks) and len(brief_tasks) == 5
    template = documents._answer_template("A. Candidate")
    assert [ln.removesuffix(":") for ln in template.splitlines() if ln.endswith(":") and ln[0] != "#"] == [
        q.key for q in case.QUESTIONS
    ]
    marimo = notebooks._marimo_notebook('A. "Quoted" Candidate', "Pebble Lane")
    ast.parse(marimo)  # a valid Python file
    assert all(f"{q.variable} = " in marimo for q in case.QUESTIONS)
    nb = json.loads(notebooks._jupyter_notebook("A. Candidate", "Pebble Lane"))
    assert sum("answer" in c["metadata"].get("tags", []) for c in nb["cells"]) == 5


def test_answer_files_are_read_in_order_and_never_run(tmp_path):
    (tmp_path / "answers.yml").write_text("real_customers: 2,050\nlever:\n")
    (tmp_path / "case.py").write_text("answer_real_customers = 1999\nanswer_lever = 'winback'\nanswer_priority = f()\n")
    got = case.read_answers(tmp_path).set_index("item")
    assert got.loc["real_customers", ["answer", "source"]].tolist() == ["2,050", "answers.yml"]
    assert got.loc["lever", ["answer", "source"]].tolist() == ["winback", "case.py"]
    assert "also answered differently in case.py" in got.loc["real_customers", "note"]
    assert any("answer_priority is an expression" in n for n in got.attrs["notes"])


@pytest.mark.parametrize(
    ("typed", "number"),
    [("2,050", 2050.0), ("£13.5k", 13500.0), ("27%", 27.0), ("1.2m", 1.2e6), ("EUR 3bn", 3e9)]
    + [(True, None), ("x", None)],
)
def test_numbers_as_people_type_them(typed, number):
    assert grading._number(typed) == number


def test_choices_as_people_type_them():
    q = questions._BY_KEY
    assert grading._choice(q["dropoff_step"], "Consideration -> Purchase") == "consideration_to_purchase"
    assert grading._choice(q["lever"], "Win-back rollout") == "winback_rollout"
    assert grading._choice(q["most_valuable_persona"], "Big spenders") == "big_ticket"
    assert grading._choice(q["most_valuable_persona"], "loyal big app") is None  # two matches: not read


def test_scoring_follows_the_tolerances():
    t = TRUTH | {"_answered_lever": None}
    q = questions._BY_KEY
    assert grading._score(q["real_customers"], 2090, t)[1] == 1.0  # 4.5% off
    assert grading._score(q["real_customers"], 2200, t)[1] == 0.5  # 10% off
    assert grading._score(q["abandoners_share"], "72%", t)[1:] == (1.0, "read as a percentage; +2.0 points off")
    assert grading._score(q["revenue_impact_12m"], 9000 * 1.35, t)[1] == 0.5
    big = t | {"levers": t["levers"] | {"simulator_baseline_12m": 1_000_000.0}}
    assert grading._score(q["revenue_impact_12m"], 9000 + 4_000, big)[1] == 1.0  # within 0.5% of the baseline
    assert grading._score(q["strategy"], "anything", t)[1] == 0.0
    assert grading._score(q["lever"], "other", t)[2] == "another lever: to be judged by the interviewer"


def test_perfect_answers_score_full_marks_without_a_company(tmp_path):
    import yaml

    (tmp_path / "case.yml").write_text(
        yaml.safe_dump({"candidate": "A", "seed": 1, "case_format": case.CASE_FORMAT, "generator": {}})
    )
    (tmp_path / "answers.yml").write_text(yaml.safe_dump(case.perfect_answers(TRUTH)))
    table, total = case.grade_case(tmp_path, truth=TRUTH)
    assert total == table.attrs["max_auto"] == 10 and table.attrs["max_written"] == 9
    with pytest.raises(DataError, match="reference analysis"):
        case.grade_case(tmp_path, truth={"levers": {}})
