"""``cx sources``: suggest a ``sources.yml`` for a folder of exports (see ``docs/sources.md``)."""

from __future__ import annotations

import shutil
from typing import Annotated

import typer

from cxlib.cli.base import Folder, _fail, app
from cxlib.schema import DataError


@app.command()
def sources(
    folder: Folder,
    write: Annotated[
        bool, typer.Option("--write/--print", help="Write FOLDER/sources.yml instead of printing the suggestion.")
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="With --write: replace an existing sources.yml (kept as sources.yml.bak).")
    ] = False,
) -> None:
    """Recognise the exports in FOLDER by their columns and suggest a commented sources.yml to review.

    Example: cx sources data/exports --write
    """
    from cxlib.io.recognise import suggest_sources
    from cxlib.io.suggest import check_suggestion

    try:
        text = suggest_sources(folder)
        check_suggestion(text)
    except DataError as e:
        _fail(e)
    if not write:
        typer.echo(text, nl=False)
        return
    target = folder / "sources.yml"
    if target.exists() and not force:
        _fail(DataError(f"{target} exists; review `cx sources {folder}` and use --write --force to replace it "
                        "(the old one is kept as sources.yml.bak)"))
    if target.exists():
        shutil.copy2(target, folder / "sources.yml.bak")
        typer.echo(f"kept the old one as {folder / 'sources.yml.bak'}")
    target.write_text(text, encoding="utf-8")
    typer.echo(f"wrote {target}: review it, then run `cx validate {folder}`")
