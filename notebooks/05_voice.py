import marimo

__generated_with = "0.25.2"
app = marimo.App(width="medium", app_title="CX Workspace: what do customers say?")


@app.cell
def _():
    import marimo as mo
    import plotly.express as px

    from cxlib import notebook, report, voice
    from cxlib.schema import PALETTE, STAGES, stage_label

    folder = notebook.workspace_folder()
    notebook.opening(
        """
        # What do customers say, and which of it goes with leaving?

        Every ticket, survey comment and return reason: the topics found in the text (with redacted quotes), how
        they trend, where in the journey they come up, which of them go with churn, drop-off before purchase,
        returns and low NPS, and the customers whose negative feedback nobody resolved. Run `cx unify` (and
        `cx journeys`, `cx voice`) on the workspace first; the folder is `CX_WORKSPACE` (what `cx app FOLDER`
        sets) or the demo. Drivers describe association, not cause.
        """,
        folder,
    )
    return PALETTE, STAGES, folder, mo, notebook, px, report, stage_label, voice


@app.cell
def _(folder, notebook):
    notebook.stale_note(folder)  # a line when a step is older than its inputs: readers say so
    return


@app.cell
def _(folder, mo, notebook, voice):
    _names = ("verbatims", "topics", "topic_months", "feedback_drivers", "follow_up")
    with notebook.connect(folder, "touchpoints") as _ws:
        if _ws.has("topics"):  # written by `cx voice`
            tables = {n: _ws.table(n).to_pandas() for n in _names}
        else:  # not written yet: computed here, in memory
            try:
                _res = voice.analyse(_ws)
            except ValueError as _e:  # no customer text at all (an orders-only shop): say so, stop the page
                mo.stop(True, mo.md(f"**The workspace has no customer text yet** ({_e}). Add a helpdesk, survey "
                                    "or review export with its comments to `sources.yml`, then `cx load` again."))
            tables = {n: getattr(_res, n) for n in _names}
    return (tables,)


@app.cell
def _(mo, tables, voice):
    _v = tables["verbatims"]
    _lang = voice.in_words(_v["language"].value_counts(dropna=False), voice.MODELLED_LANGUAGES)
    mo.md(f"**{len(_v):,}** verbatims; **{len(tables['topics'])}** topics; languages: {_lang}; "
          f"**{len(tables['follow_up']):,}** customers with unresolved negative feedback.")
    return


@app.cell
def _(mo, notebook, tables):
    topics_view = tables["topics"][["label", "side", "verbatims", "customers", "mean_sentiment", "mean_nps",
                                    "mean_csat", "trend", "top_stage", "quote_1", "quote_2", "quote_3"]]
    mo.vstack([mo.md("## Topics and their quotes (redacted)"), notebook.table(topics_view, digits=2)])
    return (topics_view,)


@app.cell
def _(PALETTE, px, tables):
    _tm = tables["topic_months"].merge(tables["topics"][["topic", "label"]], on="topic")
    # each topic its own colour (a dozen topics: plotly's ten gave two pairs one colour); shares as percentages
    trend_fig = px.line(_tm, x="month", y="share", color="label", title="Share of verbatims by topic, month by month",
                        color_discrete_sequence=PALETTE, labels={"label": "topic"})
    trend_fig.update_yaxes(tickformat=".0%")
    trend_fig
    return (trend_fig,)


@app.cell
def _(STAGES, px, stage_label, tables):
    _v = tables["verbatims"]
    _v = _v[_v["topic"] >= 0].merge(tables["topics"][["topic", "label"]], on="topic")
    _heat = _v.pivot_table(index="stage", columns="label", values="verbatim_id", aggfunc="count").fillna(0)
    # the stages in journey order, named for a reader (the data keeps at_risk, the chart says At risk)
    _order = [s for s in STAGES if s in _heat.index] + [s for s in _heat.index if s not in STAGES]
    _heat = _heat.loc[_order].rename(index=stage_label)
    heat_fig = px.imshow(_heat, aspect="auto", color_continuous_scale="Blues",
                         title="What customers write about, by journey stage")
    heat_fig
    return (heat_fig,)


@app.cell
def _(mo, tables, voice):
    # the outcomes the drivers could be measured for (an NPS nobody gave has none), in words
    _options = voice.measured_outcomes(tables["feedback_drivers"])
    outcome = mo.ui.dropdown(options=_options or {"(none)": ""}, value=next(iter(_options), "(none)"),
                             label="Outcome")
    mo.output.replace(outcome if _options else mo.callout(mo.md(voice.NO_OUTCOME), kind="info"))
    return (outcome,)


@app.cell
def _(notebook, outcome, tables):
    drivers_view = tables["feedback_drivers"].query("outcome == @outcome.value")[
        ["rank", "label", "side", "customers", "rate", "rate_others", "lift", "lift_low", "lift_high",
         "excess_customers", "revenue_at_stake", "see_also"]]
    # nothing under the callout above when no outcome was measured (not an empty table)
    notebook.table(drivers_view, digits=2, money=("revenue_at_stake",), percent=("rate", "rate_others")) if len(
        drivers_view) else None
    return (drivers_view,)


@app.cell
def _(folder, mo, notebook, tables, voice):
    # the people to call, texts redacted (`cx voice --follow-up FILE --personal` gives the service team names,
    # e-mails and phones); the shared report keeps only the count
    with notebook.connect(folder, "touchpoints") as _ws:
        _calls = voice.call_back_list(_ws, tables["follow_up"])
    mo.vstack([mo.md("## Who to call back: unresolved negative feedback, highest value first"),
               notebook.customer_list(_calls.round({"sentiment": 2, "revenue_per_year": 2}), "call_back_list")])
    return


@app.cell
def _(drivers_view, folder, heat_fig, notebook, report, tables, topics_view, trend_fig, voice):
    def _report():
        r = report.Report("Voice of the customer")
        r.section("Topics")
        r.table(topics_view, "Topics: size, sentiment, ratings and quotes (redacted)")
        r.figure(trend_fig, "Topic trends")
        r.figure(heat_fig, "Topics by journey stage")
        r.section("Drivers")
        if len(drivers_view):
            r.table(drivers_view, "Topics most associated with the outcome (lift, 95% CI)")
        else:
            r.markdown(voice.NO_OUTCOME)
        r.metric("Customers to call back", len(tables["follow_up"]))
        return r

    # a download button; `CX_EXPORT=1 python notebooks/05_voice.py` writes FOLDER/reports/ instead
    notebook.export(_report, folder, "05_voice")
    return


if __name__ == "__main__":
    app.run()
