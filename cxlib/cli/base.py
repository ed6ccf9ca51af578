"""What every ``cx`` command shares: the Typer app, the folder argument, errors, the one-writer rule."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cxlib.schema import DataError

app = typer.Typer(
    name="cx",
    help="CX Workspace: from raw customer data to journey decisions. Every command takes a workspace folder.\n\n"
    "Example: cx demo --no-serve",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

Folder = Annotated[Path, typer.Argument(help="The workspace folder (source files + workspace.duckdb).")]


def _fail(e: Exception) -> None:
    typer.secho(f"error: {e}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code=2)


def _exclusive(step: str):
    """Run a command that writes the workspace with :func:`cxlib.engine.busy` held: a second step on the same
    workspace stops with "the workspace is busy: `cx STEP` (pid N) started at T" (exit 2), not a lock traceback."""
    import functools

    def deco(f):
        @functools.wraps(f)
        def inner(*args, **kwargs):
            from cxlib import lineage
            from cxlib.engine import busy

            folder = kwargs["folder"] if "folder" in kwargs else args[0]
            token = lineage.OPTIONS.set(_options_text(kwargs))  # kept in the step's lineage row: cx refresh
            try:
                with busy(folder, step):
                    _warn_stale(folder, upstream_of=step)
                    return f(*args, **kwargs)
            except DataError as e:
                _fail(e)
            except Exception as e:  # noqa: BLE001 - the engine out of memory: said, not a traceback
                _fail_if_out_of_memory(step, e)
            finally:
                lineage.OPTIONS.reset(token)

        return inner

    return deco


#: Options ``cx refresh`` does not replay: how a step shows its work (not what it builds), and what it writes
#: outside the workspace (a call-back list with personal data, written where the command was run).
_NOT_REPLAYED = frozenset({"folder", "progress", "follow_up", "personal"})


def _options_text(kwargs: dict) -> str:
    """The options a step's command was given, as JSON (values as JSON has them, a path made absolute -- a
    refresh may run from another folder -- anything else as text)."""
    import json
    from pathlib import PurePath

    def kept(v: object) -> object:
        if isinstance(v, PurePath):
            return str(Path(v).resolve())
        return v if isinstance(v, (bool, int, float, str, type(None))) else str(v)

    return json.dumps({k: kept(v) for k, v in kwargs.items() if k not in _NOT_REPLAYED}, sort_keys=True)


def _fail_if_out_of_memory(step: str, e: Exception) -> None:
    """Say ``e`` and exit 2 when it is the engine out of memory during ``cx STEP``; raise it again otherwise."""
    if type(e).__name__ != "OutOfMemoryException":
        raise e
    _fail(DataError(_out_of_memory(step, e)))


def _out_of_memory(step: str, e: Exception) -> str:
    """What to say when DuckDB ran out of its memory (or of room to spill) during ``cx STEP``."""
    from cxlib.memory import duckdb_config

    limit = duckdb_config().get("memory_limit", "?")
    return (
        f"`cx {step}` ran out of the engine's memory ({limit}; {str(e).splitlines()[0][:160]}). The workspace is "
        "unchanged. Set CX_DUCKDB_MEMORY_LIMIT higher (e.g. 8GB) if the machine has it, and CX_TEMP_DIR to a folder "
        "on a disk with room for the engine to spill to."
    )


def _warn_stale(folder: Path, upstream_of: str | None = None) -> list:
    """Print the stale steps of ``folder`` (only those ``upstream_of`` reads from, when given)."""
    from cxlib import lineage

    stale = lineage.stale_in_folder(folder)
    if upstream_of is not None:
        stale = [s for s in stale if s.step in lineage.STEPS.get(upstream_of, ())]
    for s in stale:
        typer.secho(f"warning: {s.in_folder(folder)}", fg=typer.colors.YELLOW, err=True)
    return stale
