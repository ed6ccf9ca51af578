"""``python -m cxlib.cli``: the ``cx`` command line."""

from cxlib.cli import main

main()
