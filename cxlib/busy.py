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
    # the same pid, another process: a killed step's pid given to a later one (in a container every run's
    # `cx` is pid 1, so a step killed there held the workspace for good, the asking process its "holder")
    recorded, now = info.get("proc_start"), _started(int(info["pid"]))
    if recorded is not None and now is not None and recorded != now:
        return None
    return info


def _started(pid: int) -> str | None:
    """When process ``pid`` started, as the system says (Linux: the boot and the clock ticks since it), else None."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
        stat = Path(f"/proc/{pid}/stat").read_text()
        return f"{boot}:{stat.rsplit(')', 1)[1].split()[19]}"  # field 22, counted after the command's name
    except (OSError, IndexError):
        return None


def busy_message(folder: Path, detail: str = "") -> str:
    """The error for a workspace another process holds: who holds it (from the mark of another process, or DuckDB's
    lock error ``detail``: a reader such as ``cx report`` holds the file without a mark) and what to do.

    Examples
    --------
    >>> import tempfile
    >>> busy_message(Path(tempfile.mkdtemp()), "Conflicting lock is held in /usr/bin/python3 (PID 999999999)")[-93:]
    'busy: another process (pid 999999999) is using it; wait for it to finish, then run this again'
    """
    import os
    import re

    info = _holder(folder)
    # our own mark, when DuckDB says who holds the file: the step that asks is not what holds it
    if info and not (detail and int(info["pid"]) == os.getpid()):
        who = f"`cx {info.get('step', '?')}` (pid {info['pid']}) started at {info.get('started', '?')}"
    else:
        pid = re.search(r"PID (\d+)", detail)
        who = f"another process{f' (pid {pid.group(1)}{_command(int(pid.group(1)))})' if pid else ''}"
    return f"the workspace {folder} is busy: {who} is using it; wait for it to finish, then run this again"


def _command(pid: int) -> str:
    """``: <its command line>`` of process ``pid`` where the system says (Linux), else nothing."""
    try:
        args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return ""
    words = [a.decode("utf-8", "replace") for a in args if a]
    if len(words) > 2 and words[1] == "-m":  # python -m cxlib.cli report FOLDER
        words = words[2:]
    elif words and Path(words[0]).name.startswith("python") and len(words) > 1:
        words = words[1:]
    text = " ".join(" ".join([Path(words[0]).name, *words[1:]]).split()) if words else ""
    return f": {text[:80]}" if text else ""


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
    info = {"step": step, "pid": os.getpid(), "started": dt.datetime.now().isoformat(timespec="seconds"),
            "proc_start": _started(os.getpid())}  # fmt: skip
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
