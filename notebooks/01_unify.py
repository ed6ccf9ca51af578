import marimo

__generated_with = "0.25.2"
app = marimo.App(width="medium", app_title="CX Workspace: do we know our customers?")


@app.cell
def _(mo):
    mo.md("""
    # Do we know our customers?

    One profile per real person, built from every system. This notebook shows which systems know which
    customers, how records were merged (and which junk identifiers were kept out), how good the matching is
    when the truth is known (generated companies), and a customer-360 search. Run `cx unify` on the
    workspace first; the folder defaults to `CX_WORKSPACE` or the demo.
    """)
    return


@app.cell
def _():
    import os
    from pathlib import Path

    import marimo as mo
    import plotly.express as px

    import cxlib
    from cxlib import report, synth, unify

    return Path, cxlib, mo, os, px, report, synth, unify


@app.cell
def _(Path, mo, os):
    folder = mo.ui.text(value=os.environ.get("CX_WORKSPACE", str(Path("data/demo"))), label="Workspace folder",
                        full_width=True)
    folder
    return (folder,)


@app.cell
def _(Path, cxlib, folder, mo):
    mo.stop(not (Path(folder.value) / "workspace.duckdb").exists(),
            mo.md(f"**No workspace at `{folder.value}`.** Build one with `make demo`."))
    with cxlib.connect(folder.value, read_only=True) as _ws:
        mo.stop(not _ws.has("identity_links"), mo.md(f"**Not unified yet.** Run `cx unify {folder.value}`."))
        links = _ws.table("identity_links").to_pandas()
        customers = _ws.table("customers").to_pandas()
        demoted = _ws.table("unify_demoted").to_pandas()
    return customers, demoted, links


@app.cell
def _(customers, links, mo):
    _known = int((~customers["is_anonymous"]).sum())
    mo.hstack([
        mo.stat(f"{len(links):,}", label="source rows"),
        mo.stat(f"{_known:,}", label="known customers"),
        mo.stat(f"{int(customers['is_anonymous'].sum()):,}", label="anonymous visitors"),
        mo.stat(f"{(links['rule'] == 'probabilistic').sum():,}", label="rows joined by probabilistic match"),
    ])
    return


@app.cell
def _(folder, links, mo, px, unify):
    mo.stop(links.empty)
    _overlap = unify.source_overlap(folder.value)
    overlap_fig = px.density_heatmap(_overlap, x="source_a", y="source_b", z="customers", text_auto=True,
                                     title="Customers known to both systems")
    mo.vstack([mo.md("## Which systems know which customers"), overlap_fig])
    return (overlap_fig,)


@app.cell
def _(demoted, links, mo):
    rules = links.groupby("rule").size().rename("rows").reset_index()
    mo.vstack([
        mo.md("## How records were joined"),
        mo.ui.table(rules, selection=None),
        mo.md("## Identifiers kept out by the over-merge guard"),
        mo.ui.table(demoted, selection=None) if len(demoted) else mo.md("None demoted."),
    ])
    return (rules,)


@app.cell
def _(mo):
    threshold = mo.ui.slider(0.5, 0.999, step=0.005, value=0.95, label="Match threshold", show_value=True)
    return (threshold,)


@app.cell
def _(Path, folder, links, mo, synth, threshold, unify):
    _truth_dir = Path(folder.value) / "truth"
    mo.stop(not _truth_dir.exists(), mo.md("_No truth in this workspace: match quality needs a generated company._"))
    truth = synth.load_truth(folder.value).record_map
    _all = unify.evaluate(links, truth)
    _known = unify.evaluate(links[links["customer_id"].str.startswith("C")], truth)
    _curve = unify.threshold_curve(folder.value, truth, thresholds=[threshold.value])
    _steps = unify.rule_contribution(folder.value, truth)
    mo.vstack([
        mo.md("## Match quality against the generator's truth"),
        mo.ui.table(_all.assign(rows_scope="all rows"), selection=None),
        mo.ui.table(_known.assign(rows_scope="identified customers"), selection=None),
        mo.md("What the probabilistic step adds over the deterministic graph alone (contact records):"),
        mo.ui.table(_steps, selection=None),
        threshold,
        mo.ui.table(_curve, selection=None),
    ])
    return


@app.cell
def _(mo):
    query = mo.ui.text(placeholder="email, phone or customer id", label="Customer 360", full_width=True)
    query
    return (query,)


@app.cell
def _(customers, folder, mo, query, unify):
    _q = query.value.strip() or str(customers.loc[~customers["is_anonymous"], "customer_id"].iloc[0])
    _golden, _timeline = unify.search(folder.value, _q)
    mo.stop(_golden.empty, mo.md(f"No customer for `{_q}`."))
    _table, _fig = unify.explain(folder.value, _golden["customer_id"].iloc[0])
    mo.vstack([mo.ui.table(_golden, selection=None), mo.ui.table(_timeline, selection=None),
               mo.md("### Why these records are one customer"), _fig, mo.ui.table(_table, selection=None)])
    return


@app.cell
def _(mo):
    export = mo.ui.run_button(label="Export this page as a report (one HTML file, offline, no personal data)")
    export
    return (export,)


@app.cell
def _(Path, customers, demoted, export, folder, links, mo, os, overlap_fig, report, rules):
    # CX_EXPORT=1 python notebooks/01_unify.py exports without a click
    mo.stop(not (export.value or os.environ.get("CX_EXPORT")))
    _r = report.Report("Unified customers", sources=sorted(links["source"].unique()))
    _r.section("Customers")
    _r.metric("Source rows", len(links))
    _r.metric("Known customers", int((~customers["is_anonymous"]).sum()))
    _r.table(rules, "Source rows by the rule that joined them")
    _r.figure(overlap_fig, "Customers known to both systems")
    _r.section("Over-merge guard")
    _r.table(demoted.drop(columns=["id_value"]), "Identifier types kept out of the graph")
    _path = _r.save(Path(folder.value) / "reports" / "01_unify.html")
    mo.md(f"Report written to `{_path}`: it opens offline; identifiers and groups under 10 left out.")
    return


if __name__ == "__main__":
    app.run()
