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
    app()
