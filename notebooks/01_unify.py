import marimo

__generated_with = "0.25.2"
app = marimo.App(width="medium", app_title="CX Workspace: do we know our customers?")


@app.cell
def _():
    from pathlib import Path

    import marimo as mo
    import plotly.express as px

    from cxlib import metrics, notebook, report, synth, unify

    folder = notebook.workspace_folder()
    notebook.opening(
        """
        # Do we know our customers?

        One profile per real person, built from every system. This notebook shows which systems know which
        customers, how records were merged (and which junk identifiers were kept out), how good the matching is
        when the truth is known (generated companies), and a customer-360 search. Run `cx unify` on the
        workspace first; the folder is `CX_WORKSPACE` (what `cx app FOLDER` sets) or the demo.
        """,
        folder,
    )
    return Path, folder, metrics, mo, notebook, px, report, synth, unify


@app.cell
def _(folder, notebook):
    with notebook.connect(folder, "identity_links") as _ws:
        links = _ws.table("identity_links").to_pandas()
        customers = _ws.table("customers").to_pandas()
        demoted = _ws.table("unify_demoted").to_pandas()
    headline = notebook.headline(folder, "load", "customers")  # the numbers the report and `cx summary` show
    return customers, demoted, headline, links


@app.cell
def _(headline, mo, notebook):
    mo.hstack([
        notebook.stat(headline, "records_linked", "source rows"),
        notebook.stat(headline, "customers_known", "known customers"),
        notebook.stat(headline, "customers_anonymous", "anonymous customers"),
        notebook.stat(headline, "records_probabilistic", "rows joined by probabilistic match"),
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
def _(demoted, folder, headline, links, metrics, notebook, overlap_fig, report, rules):
    def _report():
        r = report.Report("Unified customers", sources=sorted(links["source"].unique()))
        r.section("Customers")
        for _name in ("records_linked", "customers_known", "customers_anonymous", "records_probabilistic"):
            metrics.card(r, headline, _name)
        r.table(rules, "Source rows by the rule that joined them")
        r.figure(overlap_fig, "Customers known to both systems")
        r.section("Over-merge guard")
        r.table(demoted.drop(columns=["id_value"]), "Identifier types kept out of the graph")
        return r

    # a download button; `CX_EXPORT=1 python notebooks/01_unify.py` writes FOLDER/reports/ instead
    notebook.export(_report, folder, "01_unify")
    return


if __name__ == "__main__":
    app.run()
