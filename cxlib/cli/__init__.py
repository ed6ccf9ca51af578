"""The ``cx`` command line: every command takes the workspace folder.

Examples
--------
::

    cx generate --customers 20000 --seed 7 --out data/demo
    cx sources data/exports --write
    cx validate data/demo
    cx load data/demo
    cx summary data/demo
    cx report data/demo
    cx demo --no-serve
"""

from __future__ import annotations

from cxlib.cli import hiring, mapping, serving, steps  # noqa: F401 - each registers its commands on `app`
from cxlib.cli.base import Folder, app
from cxlib.cli.serving import notebooks_dir

__all__ = ["Folder", "app", "main", "notebooks_dir"]


def main() -> None:  # pragma: no cover - the console script
    """Run ``cx``: an interrupt (Ctrl-C) inside an engine query, or the engine out of memory in a command that
    holds no step, is said in a line, not a traceback (a step's own are said by the step: :func:`_exclusive`)."""
    import sys

    from cxlib.cli.base import _out_of_memory
    from cxlib.schema import DataError

    try:
        app()
    except DataError as e:  # a command that does not catch its own (a setting read before any step starts)
        sys.stderr.write(f"error: {e}\n")
        raise SystemExit(2) from None
    except Exception as e:
        kind = type(e).__name__
        interrupted = kind == "InterruptException" or (isinstance(e, RuntimeError) and "Query interrupted" in str(e))
        if interrupted:  # DuckDB's answer to Ctrl-C in a query (a RuntimeError): a step swaps nothing in
            sys.stderr.write("interrupted: the command stopped; the workspace is as it was before it\n")
            raise SystemExit(130) from None
        if kind == "OutOfMemoryException":
            command = next((a for a in sys.argv[1:] if not a.startswith("-")), "?")
            sys.stderr.write(f"error: {_out_of_memory(command, e)}\n")
            raise SystemExit(2) from None
        raise
