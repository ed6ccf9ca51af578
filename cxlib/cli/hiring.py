"""The hiring case: cx case new / cx case grade."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from cxlib.cli.base import _fail, app
from cxlib.schema import DataError

case_app = typer.Typer(
    help="The hiring case: a generated company per candidate, graded against its truth.\n\n"
    'Example: cx case new --candidate "A. Candidate" --out cases/a-candidate/',
    no_args_is_help=True,
)
app.add_typer(case_app, name="case")


@case_app.command("new")
def case_new(
    candidate: Annotated[str, typer.Option(help="The candidate's name (brief, notebooks, scorecard).")],
    out: Annotated[Path, typer.Option(help="A new folder for the case bundle.")],
    seed: Annotated[
        int | None,
        typer.Option(help="Decides the company and its right answers (default: a random 9-digit seed; give one only "
                     "to remake a case: a small one a candidate can find by trying)."),
    ] = None,
    customers: Annotated[int, typer.Option(help="People to simulate (a few thousand: runs in seconds).")] = 3_000,
    progress: Annotated[bool, typer.Option(help="Show progress bars.")] = False,
) -> None:
    """Create a candidate's case: data (loaded, not unified), BRIEF.md, case.py, case.ipynb, answers.yml.

    The key (case.yml: candidate, seed) stays with you; send the zip, which leaves it out.

    Example: cx case new --candidate "A. Candidate" --out cases/a-candidate/
    """
    from cxlib import case as _case

    t0 = time.perf_counter()
    try:
        folder = _case.new_case(out, candidate, seed=seed, n_customers=customers, progress=progress)
    except (DataError, ValueError) as e:
        _fail(e)
    z = next(folder.glob("*-case.zip"))
    typer.echo(f"case for {candidate} written to {folder} in {time.perf_counter() - t0:.1f}s")
    typer.echo(f"  send the candidate: {z} (everything but case.yml)")
    typer.echo(f"  keep: {folder / 'case.yml'} (the seed: with it the answers can be re-derived)")
    typer.echo(f"  grade: copy their answers.yml / case.py / case.ipynb (only those) into {folder} and run "
               f"`cx case grade {folder}`")


@case_app.command("grade")
def case_grade(
    folder: Annotated[Path, typer.Argument(help="The case folder (with case.yml and the candidate's answers).")],
    scorecard: Annotated[bool, typer.Option(help="Write FOLDER/scorecard.html.")] = True,
) -> None:
    """Score the candidate's answers against the truth regenerated from the seed; write scorecard.html.

    Example: cx case grade cases/a-candidate/
    """
    from cxlib import case as _case

    t0 = time.perf_counter()
    try:
        table, total = _case.grade_case(folder)
    except (DataError, ValueError) as e:
        _fail(e)
    for note in table.attrs.get("notes", []):
        typer.secho(f"note: {note}", fg=typer.colors.YELLOW, err=True)
    _case.print_scores(table, total, typer.echo)
    if scorecard:
        typer.echo(f"scorecard written to {_case.write_scorecard(folder, table, total)}")
    typer.echo(f"graded in {time.perf_counter() - t0:.1f}s")
