"""A workspace folder marked as in use by one ``cx`` step at a time: :func:`busy`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from cxlib.schema import DataError

__all__ = ["BUSY_FILE", "busy", "busy_message"]

#: The mark a running step leaves in the workspace folder (its pid, step and start time).
BUSY_FILE = ".cx-busy.json"


def _holder(folder: Path) -> dict[str, Any] | None:
    """What :func:`busy` recorded of the step running on ``folder``, if its process is still alive."""
    import json
    import os

    try:
        info = json.loads((folder / BUSY_FILE).read_text())
        os.kill(int(info["pid"]), 0)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return info


def busy_message(folder: Path, detail: str = "") -> str:
    """The error for a workspace another process holds: who holds it (from the mark, or DuckDB's lock error
    ``detail``) and what to do."""
    info = _holder(folder)
    if info:
        who = f"`cx {info.get('step', '?')}` (pid {info['pid']}) started at {info.get('started', '?')}"
    else:
        import re

        pid = re.search(r"PID (\d+)", detail)
        who = f"another process{f' (pid {pid.group(1)})' if pid else ''}"
    return f"the workspace {folder} is busy: {who} is using it; wait for it to finish, then run this again"


@contextmanager
def busy(folder: str | Path, step: str) -> Iterator[None]:
    """Mark ``folder`` as in use by ``cx STEP`` for the length of a ``with`` block.

    A second step on the same workspace stops at once with a :class:`DataError` that names the running one
    (``the workspace … is busy: `cx unify` (pid N) started at T``), instead of DuckDB's lock traceback. A mark
    left by a process that died is ignored and replaced.

    Examples
    --------
    >>> import tempfile
    >>> d = tempfile.mkdtemp()
    >>> with busy(d, "unify"):  # doctest: +ELLIPSIS
    ...     with busy(d, "journeys"):
    ...         pass
    Traceback (most recent call last):
    ...
    cxlib.schema.DataError: the workspace ... is busy: `cx unify` (pid ...) started at ...
    """
    import datetime as dt
    import json
    import os

    folder = Path(folder)
    mark = folder / BUSY_FILE
    info = {"step": step, "pid": os.getpid(), "started": dt.datetime.now().isoformat(timespec="seconds")}
    for _ in range(2):
        try:
            fd = os.open(mark, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        except FileExistsError:
            if _holder(folder) is not None:
                raise DataError(busy_message(folder)) from None
            mark.unlink(missing_ok=True)  # left by a process that is gone
            continue
        except OSError:
            break  # a read-only folder: nothing to mark, DuckDB's own lock still protects the file
        with os.fdopen(fd, "w") as f:
            json.dump(info, f)
        break
    try:
        yield
    finally:
        try:
            if json.loads(mark.read_text()).get("pid") == os.getpid():
                mark.unlink()
        except (OSError, ValueError):
            pass
