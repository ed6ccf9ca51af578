"""Reading the candidate's answers: ``answers.yml`` and the notebooks' answer cells, parsed, never run.

Examples
--------
>>> from cxlib.case.answers import _assignments
>>> _assignments("answer_real_customers = 2050\\nanswer_lever = open('x')\\n", "case.py")
({'real_customers': 2050}, ['case.py: answer_lever is an expression, not a value: not read (type the value)'])
"""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from cxlib.case.questions import QUESTIONS

#: The largest answer file read (the blank sheet and notebooks are a few kB; a notebook with its outputs, a few MB).
MAX_ANSWER_BYTES = 20 * 1024 * 1024
#: A written answer longer than this is cut (with a note): a page of text is 3,000 characters.
MAX_ANSWER_CHARS = 20_000


class _NoAliases(yaml.SafeLoader):
    """YAML without aliases (``*name``): an answer sheet needs none, and aliases of aliases turn 374 bytes into
    millions of strings (81 s and 1.7 GB to grade)."""

    def compose_node(self, parent: Any, index: Any) -> Any:  # noqa: ANN401 - PyYAML's own signature
        if self.check_event(yaml.AliasEvent):
            raise yaml.YAMLError("it uses an alias (*name); type each answer out")
        return super().compose_node(parent, index)


def _text(path: Path, notes: list[str]) -> str | None:
    """The text of answer file ``path`` (UTF-8, with or without a BOM; else Windows-1252, noted), or None with a
    note when it cannot be read (a folder, too large, unreadable)."""
    try:
        if not path.is_file():
            notes.append(f"{path.name}: not a file: answers there not read")
            return None
        if path.stat().st_size > MAX_ANSWER_BYTES:
            notes.append(f"{path.name}: larger than {MAX_ANSWER_BYTES >> 20} MB: answers there not read")
            return None
        raw = path.read_bytes()
    except OSError as e:
        notes.append(f"{path.name}: cannot be read ({e.strerror or e}): answers there not read")
        return None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        notes.append(f"{path.name}: not UTF-8; read as Windows-1252 (check its accents and currency signs)")
        return raw.decode("cp1252", errors="replace")


def _value(v: Any, where: str, notes: list[str]) -> Any:  # noqa: ANN401 - an answer is any literal
    """An answer as the grader takes it: a long text cut to :data:`MAX_ANSWER_CHARS` (noted)."""
    if isinstance(v, str) and len(v) > MAX_ANSWER_CHARS:
        notes.append(f"{where}: cut to its first {MAX_ANSWER_CHARS:,} characters")
        return v[:MAX_ANSWER_CHARS]
    return v


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
    except (ValueError, MemoryError, RecursionError) as e:  # a NUL byte; 200,000 minus signs in a row
        return {}, [f"{where}: cannot be read as Python ({type(e).__name__}): answers there not read"]
    found: dict[str, Any] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for t in targets:
                if isinstance(t, ast.Name) and t.id.startswith("answer_") and node.value is not None:
                    key = t.id.removeprefix("answer_")
                    try:
                        found[key] = _value(ast.literal_eval(node.value), f"{where}: {t.id}", notes)
                    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
                        notes.append(f"{where}: {t.id} is an expression, not a value: not read (type the value)")
    return found, notes


def _from_ipynb(path: Path) -> tuple[dict[str, Any], list[str]]:
    notes: list[str] = []
    text = _text(path, notes)
    if text is None:
        return {}, notes
    try:
        nb = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as e:
        return {}, [*notes, f"{path.name}: not a readable notebook ({type(e).__name__}): answers there not read"]
    cells = nb.get("cells") if isinstance(nb, dict) else None
    if not isinstance(cells, list):
        return {}, [*notes, f"{path.name}: not a notebook (no list of cells): answers there not read"]
    found: dict[str, Any] = {}
    for i, cell in enumerate(cells):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
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
    sources, notes = _answer_sources(Path(folder))
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


def _answer_sources(folder: Path) -> tuple[list[tuple[str, dict[str, Any]]], list[str]]:
    """``(file name, answers found)`` per answer file present, in precedence order, and the reading notes."""
    sources: list[tuple[str, dict[str, Any]]] = []
    notes: list[str] = []
    yml = folder / "answers.yml"
    text = _text(yml, notes) if yml.exists() else None
    if text is not None:
        try:
            data = yaml.load(text, Loader=_NoAliases) or {}  # noqa: S506 - a SafeLoader without aliases
            if not isinstance(data, dict):
                raise yaml.YAMLError("the top level is not a mapping of answer: value")
            sources.append(("answers.yml", {str(k).removeprefix("answer_"): _value(v, f"answers.yml: {k}", notes)
                                            for k, v in data.items()}))
        except yaml.YAMLError as e:
            notes.append(f"answers.yml: not valid YAML, not read ({str(e).splitlines()[0]})")
    text = _text(folder / "case.py", notes) if (folder / "case.py").exists() else None
    if text is not None:
        found, n = _assignments(text, "case.py")
        sources.append(("case.py", found))
        notes += n
    if (folder / "case.ipynb").exists():
        found, n = _from_ipynb(folder / "case.ipynb")
        sources.append(("case.ipynb", found))
        notes += n
    return sources, notes
