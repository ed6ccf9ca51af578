"""Creating a case: the bundle a candidate gets (data loaded, not unified; the documents) and its zip.

The key (``case.yml``) is written next to the bundle and left out of the zip; no truth is written at all.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import secrets
import shutil
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from cxlib import synth
from cxlib.case.design import (
    _MONTHS,
    _SOURCE_SUFFIXES,
    _START,
    CASE_FORMAT,
    DEFAULT_CUSTOMERS,
    GUESSABLE_SEEDS,
    _fingerprint,
    _generate,
    case_design,
)
from cxlib.case.documents import _answer_template, _brief
from cxlib.case.notebooks import _jupyter_notebook, _marimo_notebook
from cxlib.schema import DataError


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
    if seed is not None and seed < GUESSABLE_SEEDS:
        logging.getLogger("cxlib.case").warning(
            "seed %s is small: a candidate who runs the generator over small seeds finds the company and its "
            "answers; leave the seed out for a random 9-digit one", seed)
    seed = secrets.randbelow(900_000_000) + 100_000_000 if seed is None else seed
    design = case_design(seed)
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise DataError(f"{out} is not empty: a case goes into a new folder (it would overwrite another case)")
    data = out / "data"
    created = not out.exists()
    data.mkdir(parents=True)
    try:
        _copy_sources(data, seed, n_customers, months, progress)
        report = io.load(data, progress=progress)
        key = _write_key(out, str(candidate).strip(), seed, n_customers, months)
        _write_documents(out, key["candidate"], design["company"], report.summary)
        _zip(out, f"{_slug(key['candidate'])}-case")
    except BaseException:
        # nothing half-made is left behind: a failed case would look like a case, and block the next try
        _clear(out, created)
        raise
    return out


def _copy_sources(data: Path, seed: int, n_customers: int, months: int, progress: bool) -> None:
    """Generate the company in a scratch folder and copy its source files only: ``truth/`` stays behind."""
    with tempfile.TemporaryDirectory(prefix="cxcase-") as tmp:
        _generate(Path(tmp), seed, n_customers, months, _START, progress)
        for p in sorted(Path(tmp).iterdir()):
            if p.is_file() and p.suffix in _SOURCE_SUFFIXES:
                shutil.copy2(p, data / p.name)


def _write_key(out: Path, candidate: str, seed: int, n_customers: int, months: int) -> dict[str, Any]:
    """Write ``case.yml``, the hiring manager's key (candidate, seed, generator settings, data fingerprint)."""
    key = {
        "candidate": candidate,
        "seed": int(seed),
        "case_format": CASE_FORMAT,
        "generator": {
            "cxlib": _version(),
            "n_customers": int(n_customers),
            "months": int(months),
            "start": _START,
            "block_size": synth.BLOCK_SIZE,
        },
        "data_fingerprint": _fingerprint(out / "data"),
        "created": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }
    header = (
        "# The key to this hiring case: for the hiring manager only. Do NOT send it to the candidate:\n"
        "# with the seed and cxlib the answers can be re-derived. `cx case grade` reads it.\n"
    )
    (out / "case.yml").write_text(header + yaml.safe_dump(key, sort_keys=False, allow_unicode=True))
    return key


def _write_documents(out: Path, candidate: str, company: str, summary: pd.DataFrame) -> None:
    """Write the candidate's documents: ``BRIEF.md``, the two notebooks, the blank ``answers.yml``."""
    (out / "BRIEF.md").write_text(_brief(candidate, company, summary))
    (out / "case.py").write_text(_marimo_notebook(candidate, company))
    (out / "case.ipynb").write_text(_jupyter_notebook(candidate, company))
    (out / "answers.yml").write_text(_answer_template(candidate))


def _clear(out: Path, created: bool) -> None:
    """Remove what a failed :func:`new_case` made: the folder it created, or the contents of the empty one given."""
    if created:
        shutil.rmtree(out, ignore_errors=True)
    else:
        for p in out.iterdir():
            if p.is_dir():
                shutil.rmtree(p, ignore_errors=True)
            else:
                p.unlink(missing_ok=True)


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "candidate"


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
