import marimo

__generated_with = "0.25.2"
app = marimo.App(width="medium", app_title="CX Workspace: do we know our customers?")


@app.cell
def _():
    from pathlib import Path

    import marimo as mo

    import cxlib
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
    return Path, cxlib, folder, metrics, mo, notebook, report, synth, unify


@app.cell
def _(folder, notebook):
    notebook.stale_note(folder)  # a line when a step is older than its inputs: readers say so
    return


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
        notebook.stat(headline, "records_linked", "source records linked"),
        notebook.stat(headline, "customers_known", "known customers"),
        notebook.stat(headline, "customers_anonymous", "anonymous customers"),
        notebook.stat(headline, "records_probabilistic", "rows joined by probabilistic match"),
    ])
    return


@app.cell
def _(folder, links, mo, unify):
    mo.stop(links.empty)
    _overlap = unify.source_overlap(folder.value)
    overlap_fig = unify.overlap_figure(_overlap)  # None: one system alone, nothing to overlap
    _one = unify.one_system_words(_overlap)  # as the report says it
    mo.vstack([mo.md("## Which systems know which customers"), mo.md(f"_{_one}_") if _one else overlap_fig])
    return (overlap_fig,)


@app.cell
def _(demoted, links, mo, notebook):
    rules = links.groupby("rule").size().rename("rows").reset_index()
    mo.vstack([
        mo.md("## How records were joined"),
        notebook.table(rules),
        mo.md("## Identifiers kept out by the over-merge guard"),
        notebook.table(demoted) if len(demoted) else mo.md("None demoted."),
    ])
    return (rules,)


@app.cell
def _(mo):
    threshold = mo.ui.slider(0.5, 0.999, step=0.005, value=0.95, label="Match threshold", show_value=True)
    return (threshold,)


@app.cell
def _(Path, folder, links, mo, notebook, synth, unify):
    # what does not depend on the threshold (5 CPU s on the demo) stays out of the slider's cells below
    _truth_dir = Path(folder.value) / "truth"
    mo.stop(not _truth_dir.exists(), mo.md("_No truth in this workspace: match quality needs a generated company._"))
    truth = synth.load_truth(folder.value).record_map
    _all = unify.evaluate(links, truth)
    _known = unify.evaluate(links[links["customer_id"].str.startswith("C")], truth)
    _steps = unify.rule_contribution(folder.value, truth)
    mo.vstack([
        mo.md("## Match quality against the generator's truth"),
        # the scope first: at the end it stood past the table's right edge, and the two tables read the same
        notebook.table(_all.assign(rows_scope="all rows")[["rows_scope", *_all.columns]]),
        notebook.table(_known.assign(rows_scope="identified customers")[["rows_scope", *_known.columns]]),
        mo.md("What the probabilistic step adds over the deterministic graph alone (contact records):"),
        notebook.table(_steps),
    ])
    return (truth,)


@app.cell
def _(folder, mo, notebook, threshold, truth, unify):
    # the slider's own cell: a move re-clusters the scored pairs at the new threshold, nothing else
    mo.vstack([threshold, notebook.table(unify.threshold_curve(folder.value, truth, thresholds=[threshold.value]))])
    return


@app.cell
def _(cxlib, folder, mo, unify):
    try:
        _hist, hist_fig = unify.match_weight_histogram(folder.value)
    except cxlib.DataError as _e:
        hist_fig = None
        _why = str(_e)
    mo.stop(hist_fig is None, mo.md(f"_No match diagnostics: {_why}_") if hist_fig is None else None)
    mo.vstack([
        mo.md("## Is the matching sound? Diagnostics that need no truth"),
        mo.md("How sure the model is about the pairs it scored: a mass of sure pairs far from the threshold is "
              "healthy; many pairs near it mean the threshold decides many merges."),
        hist_fig,
    ])
    return (hist_fig,)


@app.cell
def _(folder, hist_fig, mo, notebook, threshold, unify):
    # the slider redraws this cell (a small query), not the diagnostics around it
    _ths = sorted({0.5, 0.8, 0.9, 0.95, 0.99, round(threshold.value, 3)})
    mo.vstack([
        mo.md(f"The model's own precision and recall by threshold (no labels; the slider's {threshold.value} is "
              "one row). Pairs of records, before the graph joins them. Where many pairs score between 0.5 and 0.9 the "
              "model is usually too sure of them: precision there is overstated, so recall above is understated."),
        notebook.table(unify.estimated_threshold_curve(folder.value, _ths).round(3)),
    ]) if hist_fig is not None else None
    return


@app.cell
def _(folder, hist_fig, mo, notebook, unify):
    mo.stop(hist_fig is None)
    _params = unify.model_parameters(folder.value).round(3)
    _sizes, _sizes_fig = unify.cluster_sizes(folder.value)
    _pairs = unify.doubtful_pairs(folder.value, n=12)
    pair = mo.ui.dropdown(
        {f"{r.record_a} & {r.record_b} (p = {r.match_probability:.3f}, {r.decision})": (r.record_a, r.record_b)
         for r in _pairs.itertuples(index=False)},
        label="Why this score? A pair near the threshold",
    )
    mo.vstack([
        mo.md("What each comparison level is worth (m and u probabilities; match weight = log2 m/u):"),
        notebook.table(_params, page_size=12),
        mo.md("Contact records per customer: a long tail of very large customers is the sign of over-merging."),
        _sizes_fig,
        pair,
    ])
    return (pair,)


@app.cell
def _(folder, mo, notebook, pair, unify):
    mo.stop(pair.value is None, mo.md("_Pick a pair above to see why the model scores it so._"))
    _table, _fig = unify.waterfall(folder.value, *pair.value)
    mo.vstack([_fig, notebook.table(_table.round(3))])
    return


@app.cell
def _(folder, mo, notebook, unify):
    _top = unify.largest_clusters(folder.value, n=5)
    mo.stop(_top.empty, mo.md("_No contact records were loaded (no CRM or sign-up list): no customer's records to "
                              "review for over-merging._"))
    mo.accordion({"The five largest customers, record by record (review for over-merging)": notebook.table(
        _top, page_size=15)})
    return


@app.cell
def _(mo):
    query = mo.ui.text(placeholder="email, phone or customer id", label="Customer 360", full_width=True)
    query
    return (query,)


@app.cell
def _(folder, mo, notebook, query, unify):
    _q = query.value.strip()
    mo.stop(not _q, mo.md("_Search by e-mail, phone or customer id: nothing is shown before a search._"))
    _golden, _timeline = unify.search(folder.value, _q)
    mo.stop(_golden.empty, mo.md(f"No customer for `{_q}`."))
    _table, _fig = unify.explain(folder.value, _golden["customer_id"].iloc[0])
    mo.vstack([notebook.table(_golden), notebook.table(_timeline),
               mo.md("### Why these records are one customer"), _fig, notebook.table(_table)])
    return


@app.cell
def _(demoted, folder, headline, links, metrics, notebook, overlap_fig, report, rules):
    def _report():
        r = report.Report("Unified customers", sources=sorted(links["source"].unique()))
        r.section("Customers")
        for _name in ("records_linked", "customers_known", "customers_anonymous", "records_probabilistic"):
            metrics.card(r, headline, _name)
        r.table(rules, "Source rows by the rule that joined them")
        if overlap_fig is not None:
            r.figure(overlap_fig, "Customers known to both systems")
        r.section("Over-merge guard")
        r.table(demoted.drop(columns=["id_value"]), "Identifier types kept out of the graph")
        return r

    # a download button; `CX_EXPORT=1 python notebooks/01_unify.py` writes FOLDER/reports/ instead
    notebook.export(_report, folder, "01_unify")
    return


if __name__ == "__main__":
    app.run()
