"""The candidate notebooks: ``case.py`` (marimo) and ``case.ipynb`` (JupyterLab), written as text.

Each states the tasks as the brief does, has a work cell per task and one marked **ANSWER** cell per task
whose ``answer_*`` assignments the grader reads (:mod:`cxlib.case.answers`).

Examples
--------
>>> from cxlib.case.notebooks import _marimo_notebook
>>> _marimo_notebook("A. Candidate", "Pebble Lane").count("# ======== ANSWER: task")
5
"""

from __future__ import annotations

import json
from typing import Any

from cxlib.case.documents import _TASK_HINTS, _TASK_STARTERS, _TASK_TITLES, _answer_assignments, _task_text
from cxlib.case.questions import QUESTIONS


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
