"""The lines under each page's opening: when a step is older than its inputs (readers say so), and when the
orders' amounts are in several currencies added as recorded (every money number on the page mixes them)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import marimo as mo

from cxlib.notebook import Folder, _path

__all__ = ["stale_note"]


def stale_note(folder: Folder | str | Path) -> Any:
    """A warning under the page's opening when a step is older than its inputs (``lineage.stale_steps``: the data
    was loaded again, or a step's code changed, since it ran), naming the command that brings it up to date, and
    one when the orders' amounts are in several currencies (:func:`cxlib.metrics.mixed_currencies`); an empty
    output otherwise, or without a workspace (the cells that read it say what to build). The report's
    "At a glance" and every ``cx`` command say the same.

    Examples
    --------
    >>> stale_note("no/such/folder").text == mo.md("").text
    True
    """
    from cxlib import lineage, metrics
    from cxlib.io import has_workspace

    path = _path(folder)
    notes = []
    stale = lineage.stale_in_folder(path)
    if stale:
        lines = "\n".join(f"- `{s.step}` is stale: {s.reason}" for s in stale)
        fix = (f"`cx refresh {path}` reruns them in order (or each step's own command, `{stale[0].command} {path}` "
               "first).")
        notes.append(mo.callout(mo.md(f"**Some of what this page shows is older than the data.**\n\n{lines}\n\n{fix}"),
                                kind="warn"))
    if has_workspace(path) and (money := metrics.mixed_currencies(path)):
        notes.append(mo.callout(mo.md(f"**Amounts in several currencies.** {money}"), kind="warn"))
    if not notes:
        return mo.md("")
    return notes[0] if len(notes) == 1 else mo.vstack(notes)
