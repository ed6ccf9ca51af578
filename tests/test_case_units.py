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
    assert grading._choice(q["lever"], "roll out the win-back campaign") == "winback_rollout"  # the brief's words
    assert grading._choice(q["lever"], "win-back or campaign targeting") is None  # two levers: not read
    assert grading._choice(q["most_valuable_persona"], "Big spenders") == "big_ticket"
    assert grading._choice(q["most_valuable_persona"], "loyal big app") is None  # two matches: not read


def test_scoring_follows_the_tolerances():
    t = TRUTH | {"_answered_lever": None}
    q = questions._BY_KEY
    assert grading._score(q["real_customers"], 2090, t)[1] == 1.0  # 4.5% off
    assert grading._score(q["real_customers"], 2200, t)[1] == 0.5  # 10% off
    assert grading._score(q["abandoners_share"], "72%", t)[1:] == (1.0, "read as a percentage; +2.0 points off")
    assert grading._score(q["abandoners_share"], 72, t)[1:] == (1.0, "read as a percentage; +2.0 points off")
    assert grading._score(q["abandoners_share"], "0.7%", t)[1] == 0.0  # 0.007, not 70% (was read as 0.7)
    assert grading._score(q["revenue_impact_12m"], 9000 * 1.35, t)[1] == 0.5
    big = t | {"levers": t["levers"] | {"simulator_baseline_12m": 1_000_000.0}}
    assert grading._score(q["revenue_impact_12m"], 9000 + 4_000, big)[1] == 1.0  # within 0.5% of the baseline
    assert grading._score(q["strategy"], "anything", t)[1] == 0.0
    assert grading._score(q["lever"], "other", t)[2] == "another lever: to be judged by the interviewer"


def test_perfect_answers_score_full_marks_without_a_company(tmp_path):
    import yaml

    (tmp_path / "case.yml").write_text(
        yaml.safe_dump({"candidate": "A", "seed": 1, "case_format": case.CASE_FORMAT, "generator": {},
                        "data_fingerprint": "made up: no data folder here"})
    )
    (tmp_path / "answers.yml").write_text(yaml.safe_dump(case.perfect_answers(TRUTH)))
    table, total = case.grade_case(tmp_path, truth=TRUTH)
    assert total == table.attrs["max_auto"] == 10 and table.attrs["max_written"] == 9
    with pytest.raises(DataError, match="reference analysis"):
        case.grade_case(tmp_path, truth={"levers": {}})


def test_a_key_that_is_not_the_datas_is_refused(tmp_path):
    """The grader took the seed from whatever case.yml was in the folder: a candidate's own company's key, sent
    back with the answers and copied in, graded them 10/10 against their own company."""
    import yaml

    from cxlib.case.design import _fingerprint

    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "contacts.csv").write_text("source,record_id\ncrm,1\n")
    key = {"candidate": "A", "seed": 1, "case_format": case.CASE_FORMAT, "generator": {}}
    (tmp_path / "answers.yml").write_text(yaml.safe_dump(case.perfect_answers(TRUTH)))
    for fingerprint, error in ((None, "has no data_fingerprint"), ("f" * 64, "is not the key of the data in")):
        (tmp_path / "case.yml").write_text(yaml.safe_dump(key | ({"data_fingerprint": fingerprint} if fingerprint
                                                                 else {})))
        with pytest.raises(DataError, match=error):
            case.grade_case(tmp_path, truth=TRUTH)
    (tmp_path / "case.yml").write_text(yaml.safe_dump(key | {"data_fingerprint": _fingerprint(tmp_path / "data")}))
    assert case.grade_case(tmp_path, truth=TRUTH)[1] == 10


def test_an_answer_of_nothing_earns_no_revenue_points():
    """"0" with no analysis scored 2/2 on a lever whose simulated gain was inside the floor (0.5% of the
    baseline): more than naming the right lever. A wrong lever's revenue is now held to 20% / 50% of its gain, and
    an answer of the other sign (or 0) scores nothing."""
    q = questions._BY_KEY["revenue_impact_12m"]
    for lever, answer in (("winback_rollout", 0), ("fix_presale_service", 0), ("winback_rollout", 400)):
        assert grading._score(q, answer, TRUTH | {"_answered_lever": lever})[1] == 0.0, (lever, answer)
    assert grading._score(q, 55, TRUTH | {"_answered_lever": "winback_rollout"})[1] == 1.0  # 10% off its gain
    assert grading._score(q, 9000 + 400, TRUTH | {"_answered_lever": None})[1] == 1.0  # the floor: right lever
    assert grading._number(10**400) is None and grading._number("9" * 500) is None


@pytest.mark.parametrize(
    ("name", "content", "note"),
    [
        ("answers.yml", "a: &a [x, x, x]\nb: &b [*a, *a, *a]\nreal_customers: 2050\n", "uses an alias"),
        ("case.py", "answer_real_customers = " + "-" * 200_000 + "1\n", "cannot be read as Python"),
        ("case.py", "answer_real_customers = " + "9" * 400 + "\n", None),
        ("case.ipynb", "[1, 2]", "not a notebook"),
        ("case.ipynb", '{"cells": [1, "x", {"cell_type": "code", "source": "answer_lever = 1"}]}', None),
    ],
)
def test_an_answer_file_that_does_not_read_is_a_note_and_the_rest_is_graded(tmp_path, name, content, note):
    """A 374-byte answers.yml of aliases took 81 s and 1.7 GB; 200,000 minus signs a MemoryError; a notebook
    whose top level is a list, an AttributeError; a 400-digit number, an OverflowError when scored."""
    import yaml

    (tmp_path / "case.yml").write_text(yaml.safe_dump(
        {"candidate": "A", "seed": 1, "case_format": case.CASE_FORMAT, "generator": {}, "data_fingerprint": "x"}))
    (tmp_path / name).write_text(content)
    if name != "answers.yml":
        (tmp_path / "answers.yml").write_text("dropoff_cause: service\n")
    table, _ = case.grade_case(tmp_path, truth=TRUTH)
    if note:
        assert any(note in n for n in table.attrs["notes"]), table.attrs["notes"]
    if name != "answers.yml":
        assert table.set_index("item").loc["dropoff_cause", "score"] == 1.0  # the other file still counts


def test_answer_files_in_other_encodings_or_that_are_folders(tmp_path):
    """A Windows-saved answers.yml ("£1,370") stopped the whole grade with a decoding error; a BOM in case.py lost
    every answer in it ("not valid Python"); an answers.yml that is a folder was an IsADirectoryError."""
    (tmp_path / "answers.yml").write_bytes("revenue_impact_12m: £1,370\n".encode("cp1252"))
    (tmp_path / "case.py").write_bytes("answer_real_customers = 2050\n".encode("utf-8-sig"))
    got = case.read_answers(tmp_path).set_index("item")
    assert got.loc["revenue_impact_12m", "answer"] == "£1,370" and got.loc["real_customers", "answer"] == 2050
    assert any("read as Windows-1252" in n for n in got.attrs["notes"])
    (tmp_path / "answers.yml").unlink()
    (tmp_path / "answers.yml").mkdir()
    assert any("answers.yml: not a file" in n for n in case.read_answers(tmp_path).attrs["notes"])


def test_the_scorecard_masks_a_long_answer_before_cutting_it():
    """A written answer was cut to 160 characters before the report masked it: ``jane.doe@examp…`` stayed."""
    from cxlib.case.scorecard import _short

    cut = _short("x" * 140 + " mail jane.doe@example.com please")
    assert "jane.doe" not in cut and "[email]" in cut
