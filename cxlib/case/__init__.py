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

The parts, in the order a case goes through them: :mod:`~cxlib.case.questions` (the archetypes, levers,
questions, tolerances and rubric), :mod:`~cxlib.case.design` (the seed decides the company),
:mod:`~cxlib.case.documents` and :mod:`~cxlib.case.notebooks` (what the candidate reads and fills in),
:mod:`~cxlib.case.bundle` (:func:`new_case`), :mod:`~cxlib.case.truth` (the key, re-derived),
:mod:`~cxlib.case.answers` (reading the answers), :mod:`~cxlib.case.grading` and
:mod:`~cxlib.case.scorecard`.

Examples
--------
>>> from cxlib import case
>>> [q.key for q in case.QUESTIONS if q.task == 2]
['dropoff_step', 'dropoff_cause', 'abandoners_share']
>>> case.case_design(1234)["biggest_dropoff"] != case.case_design(7)["biggest_dropoff"]
True
"""

from __future__ import annotations

from cxlib.case.answers import read_answers
from cxlib.case.bundle import new_case
from cxlib.case.design import CASE_FORMAT, case_design
from cxlib.case.design import DEFAULT_CUSTOMERS as DEFAULT_CUSTOMERS
from cxlib.case.design import _fingerprint as _fingerprint  # tests compare the key's fingerprint
from cxlib.case.grading import grade_case
from cxlib.case.questions import LEVERS, PERSONA_ARCHETYPES, QUESTIONS, RUBRIC, Question
from cxlib.case.scorecard import print_scores, write_scorecard
from cxlib.case.truth import case_truth, perfect_answers

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
