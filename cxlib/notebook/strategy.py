"""The strategy page's own glue: keeping the plans a viewer saves."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import marimo as mo

import cxlib.notebook as nb
from cxlib.notebook import Folder

__all__ = ["keep_plan"]


def keep_plan(folder: Folder | str | Path, plan: Any, kept: list) -> tuple[list, str]:
    """Keep a strategy page's ``plan`` beside the plans ``kept``: returns every plan kept and what to tell.

    In marimo's editor (``cx edit``) or a script the plan is saved in the workspace (``plans.json``,
    :func:`cxlib.simulate.save_plan`), so a reload keeps it. An app's viewer writes nothing on the server: the
    plan is kept for this page only (a plan saved in an app once went into the workspace, for every viewer).

    Examples
    --------
    >>> from cxlib import simulate
    >>> plans, said = keep_plan("unused", simulate.Scenario("a", [simulate.Scenario.aov(1.05)]), [])
    >>> [p.name for p in plans], said.startswith("Kept **a** for this page")
    (['a'], True)
    """
    from cxlib import simulate

    if nb.editable() or mo.app_meta().mode == "script" and os.environ.get("CX_EXPORT"):
        plans = simulate.save_plan(nb.require(folder), plan)
        return plans, f"Saved **{plan.name}**: {len(plans)} plan(s) kept in the workspace, compared below."
    plans = [p for p in kept if p.name != plan.name] + [plan]
    return plans, (f"Kept **{plan.name}** for this page: {len(plans)} plan(s), compared below (an app writes "
                   "nothing in the workspace; to keep plans for everyone, save them in the editor: `cx edit`).")
