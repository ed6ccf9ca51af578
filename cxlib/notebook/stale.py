"""The line under each page's opening that says when a step is older than its inputs (readers say so)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import marimo as mo

from cxlib.notebook import Folder, _path

__all__ = ["stale_note"]


def stale_note(folder: Folder | str | Path) -> Any:
    """A warning under the page's opening when a step is older than its inputs (``lineage.stale_steps``: the data
    was loaded again, or a step's code changed, since it ran), naming the command that brings it up to date; an
    empty output otherwise, or without a workspace (the cells that read it say what to build). The report's
    "At a glance" and every ``cx`` command say the same.

    Examples
    --------
    >>> stale_note("no/such/folder").text == mo.md("").text
    True
    """
    from cxlib import lineage

    path = _path(folder)
    stale = lineage.stale_in_folder(path)
    if not stale:
        return mo.md("")
    lines = "\n".join(f"- `{s.step}` is stale: {s.reason}" for s in stale)
    fix = f"`cx refresh {path}` reruns them in order (or each step's own command, `{stale[0].command} {path}` first)."
    return mo.callout(mo.md(f"**Some of what this page shows is older than the data.**\n\n{lines}\n\n{fix}"),
                      kind="warn")
