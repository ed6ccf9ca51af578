import marimo

__generated_with = "0.25.2"
app = marimo.App(width="medium", app_title="CX Workspace: what the workspace holds")


@app.cell
def _():
    import marimo as mo
    import plotly.express as px

    from cxlib import metrics, notebook, report
    from cxlib.schema import PALETTE

    folder = notebook.workspace_folder()
    notebook.opening(
        """
        # What the workspace holds

        The source systems loaded into this workspace: rows per table and source, the date range each covers,
        and the rows the loader quarantined or repaired, with the reason. The workspace is the folder in
        `CX_WORKSPACE` (what `cx app FOLDER` sets), else the demo company (`make demo`).
        """,
        folder,
    )
    return PALETTE, folder, metrics, mo, notebook, px, report


@app.cell
def _(folder, notebook):
    notebook.stale_note(folder)  # a line when a step is older than its inputs: readers say so
    return


@app.cell
def _(folder, notebook):
    with notebook.connect(folder) as _ws:
        summary = _ws.summary()
        by_source = _ws.rows_by_source()
        activity = _ws.monthly_activity()
        reasons = _ws.quarantine_reasons()
    headline = notebook.headline(folder, "load")  # the headline numbers the report and `cx summary` show
    return activity, by_source, headline, reasons, summary


@app.cell
def _(headline, mo, notebook, reasons, summary):
    _quarantined = int(reasons.loc[reasons["action"] == "quarantined", "rows"].sum()) if len(reasons) else 0
    _nulled = int(reasons.loc[reasons["action"] == "nulled", "rows"].sum()) if len(reasons) else 0
    mo.hstack(
        [
            notebook.stat(headline, "rows_loaded", "rows loaded"),
            notebook.stat(headline, "source_systems", "source systems"),
            mo.stat(f"{len(summary)}", label="tables"),
            mo.stat(f"{_quarantined:,}", label="problems that quarantined a row"),
            mo.stat(f"{_nulled:,}", label="bad optional values set to null"),
            mo.stat(f"{summary['first_ts'].min():%Y-%m-%d} → {summary['last_ts'].max():%Y-%m-%d}", label="date range"),
        ]
    )
    return


@app.cell
def _(mo, notebook, summary):
    mo.vstack([mo.md("## Tables"), notebook.table(summary)])
    return


@app.cell
def _(PALETTE, by_source, mo, px):
    # 18 colours: a workspace's dozen source systems each in its own (plotly's 10 gave three pairs one colour)
    sources_fig = px.bar(
        by_source, x="rows", y="table_name", color="source", orientation="h", title="Rows per table and source system",
        color_discrete_sequence=PALETTE, labels={"table_name": "table", "source": "source system"},
    )
    mo.vstack([mo.md("## Sources"), sources_fig])
    return (sources_fig,)


@app.cell
def _(PALETTE, activity, mo, px):
    activity_fig = px.line(activity, x="month", y="rows", color="table_name", title="Rows per month", markers=True,
                           color_discrete_sequence=PALETTE, labels={"table_name": "table"})
    mo.vstack([mo.md("## Activity over time"), activity_fig])
    return (activity_fig,)


@app.cell
def _(mo, notebook, reasons):
    mo.vstack(
        [
            mo.md(
                "## Quarantined rows and repaired values\n\n"
                "`quarantined`: the row was not loaded (its original is in the `quarantine` table, `raw_row`). "
                "`nulled`: the row was loaded with this value empty; the original is logged."
            ),
            notebook.table(reasons) if len(reasons) else mo.md("No problems found."),
        ]
    )
    return


@app.cell
def _(activity_fig, by_source, folder, headline, metrics, notebook, reasons, report, sources_fig, summary):
    def _report():
        r = report.Report("Workspace overview", as_of=summary["last_ts"].max(), sources=sorted(by_source["source"]))
        r.section("Tables")
        metrics.card(r, headline, "rows_loaded")
        metrics.card(r, headline, "source_systems")
        r.table(summary, "Rows and date range per table")
        r.section("Sources and activity")
        r.figure(sources_fig, "Rows per table and source system")
        r.figure(activity_fig, "Rows per month")
        r.section("Data quality")
        r.table(reasons, "Quarantined rows and repaired values")
        return r

    # a download button; `CX_EXPORT=1 python notebooks/00_workspace.py` writes FOLDER/reports/ instead
    notebook.export(_report, folder, "00_workspace")
    return


if __name__ == "__main__":
    app.run()
