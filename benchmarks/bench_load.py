"""``cx load`` alone, canonical layout and export style side by side, beside the plain-ingest floor; prints a table.

Usage::

    python benchmarks/bench_load.py [N ...]   (default: 100000)

The same company is generated once per style (not timed): the canonical layout (``cx generate``) and the
export style (``cx generate --style exports``: GA4 nested Parquet by day, invoice lines with credit notes,
Zendesk, HubSpot, Qualtrics and Klaviyo files). For each, in the same run: the plain DuckDB ingest of the same
files (the floor), ``cx sources --write`` (export style only: it writes the ``sources.yml`` the load reads)
and ``cx load``, each as its own process, with wall time, CPU time, peak memory and temporary disk. This is
:mod:`bench_pipeline` stopped after the load (``bench_pipeline.py N --style both --until load``).
Speed is never a timed assertion in tests; this prints what to quote.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_pipeline import main  # noqa: E402

if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [100_000], ["canonical", "exports"], until="load")
