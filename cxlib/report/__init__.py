"""Self-contained, privacy-safe HTML reports that open offline.

A :class:`Report` collects sections, prose (Markdown), metrics, plotly figures and tables, and
:meth:`Report.save` writes **one HTML file**: plotly.js inlined once, no request of any kind leaves the
page, a table of contents, the data date, the generation time and the data sources. Tables sort on a
click without a network.

Privacy is on by default. Unless ``include_pii=True``:

- columns that hold direct identifiers (:data:`DIRECT_IDENTIFIERS`: names, emails, phones, street,
  postcode, birth date, raw record and customer ids, free-text comments) are removed from tables;
- e-mail addresses and phone numbers left in any text (prose, table cells, figure labels) are masked;
- any table row or chart element that describes fewer than ``min_group_size`` customers is merged into
  "other" (tables) or left out (charts), a table cell that counts fewer of them beside its row's main count
  (:data:`PERSON_COUNT_COLUMNS`: a persona's high-value customers, a funnel step's drop-outs) reads "fewer than
  10", and the report says so in its privacy note.

:func:`standard_report` builds the executive report from whatever steps a workspace holds;
:func:`attribution_paths` is the one attribution input set that it and notebook 04 show.

The parts: :mod:`~cxlib.report.privacy` (identifiers, masking, small groups), :mod:`~cxlib.report.page`
(:class:`Report` and its page; the template, CSS and JS are package data in ``assets/``),
:mod:`~cxlib.report.inputs` (inputs shared by several pages) and :mod:`~cxlib.report.standard`.

Examples
--------
>>> import pandas as pd, plotly.graph_objects as go, tempfile, pathlib
>>> r = Report("Quarterly journey review", as_of="2026-09-30", sources=["crm", "web"])
>>> r.section("Customers")
>>> r.metric("Customers", 12_345, delta="+4% on last quarter")
>>> r.markdown("Most customers arrive through **search**. Contact: jane@example.com")
>>> r.table(pd.DataFrame({"channel": ["search", "social", "tv"], "customers": [900, 120, 3]}))
>>> r.figure(go.Figure(go.Bar(x=["a", "b"], y=[1, 2])), caption="A chart")
>>> path = r.save(pathlib.Path(tempfile.mkdtemp()) / "r.html")
>>> html = path.read_text()
>>> "jane@example.com" in html, html.count("Plotly.newPlot"), "merged into" in html
(False, 1, True)
"""

from __future__ import annotations

from cxlib.report.inputs import attribution_paths
from cxlib.report.page import Report
from cxlib.report.privacy import COUNT_COLUMNS, DIRECT_IDENTIFIERS, PERSON_COUNT_COLUMNS, redact_text
from cxlib.report.standard import standard_report

__all__ = [
    "DIRECT_IDENTIFIERS",
    "COUNT_COLUMNS",
    "PERSON_COUNT_COLUMNS",
    "Report",
    "attribution_paths",
    "redact_text",
    "standard_report",
]
