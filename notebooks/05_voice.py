import marimo

__generated_with = "0.25.2"
app = marimo.App(width="medium", app_title="CX Workspace: what do customers say?")


@app.cell
def _(mo):
    mo.md("""
    # What do customers say, and which of it goes with leaving?

    Every ticket, survey comment and return reason: the topics found in the text (with redacted quotes), how
    they trend, where in the journey they come up, which of them go with churn, drop-off before purchase,
    returns and low NPS, and the customers whose negative feedback nobody resolved. Run `cx unify` (and
    `cx journeys`, `cx voice`) on the workspace first; the folder defaults to `CX_WORKSPACE` or the demo.
    Drivers describe association, not cause.
    """)
    return


@app.cell
def _():
    import os
    from pathlib import Path

    import marimo as mo
    import plotly.express as px

    import cxlib
    from cxlib import report, voice

    return Path, cxlib, mo, os, px, report, voice


@app.cell
def _(Path, mo, os):
    folder = mo.ui.text(value=os.environ.get("CX_WORKSPACE", str(Path("data/demo"))), label="Workspace folder",
                        full_width=True)
    folder
    return (folder,)


@app.cell
def _(Path, cxlib, folder, mo, voice):
    mo.stop(not (Path(folder.value) / "workspace.duckdb").exists(),
            mo.md(f"**No workspace at `{folder.value}`.** Build one with `make demo`."))
    with cxlib.connect(folder.value, read_only=True) as _ws:
        mo.stop(not _ws.has("touchpoints"), mo.md(f"**Not unified yet.** Run `cx unify {folder.value}`."))
        if _ws.has("topics"):  # written by `cx voice`
            tables = {n: _ws.table(n).to_pandas() for n in ("verbatims", "topics", "topic_months",
                                                              "feedback_drivers", "follow_up")}
        else:  # not written yet: computed here, in memory
            _res = voice.analyse(_ws)
            tables = {n: getattr(_res, n) for n in ("verbatims", "topics", "topic_months", "feedback_drivers",
                                                    "follow_up")}
    return (tables,)


@app.cell
def _(mo, tables):
    _v = tables["verbatims"]
    _lang = _v["language"].fillna("none").value_counts()
    mo.md(f"**{len(_v):,}** verbatims; **{len(tables['topics'])}** topics; "
          f"languages: {', '.join(f'{k} {n:,}' for k, n in _lang.items())} (only English is topic-modelled); "
          f"**{len(tables['follow_up']):,}** customers with unresolved negative feedback.")
    return


@app.cell
def _(mo, tables):
    mo.md("## Topics and their quotes (redacted)")
    topics_view = tables["topics"][["label", "side", "verbatims", "customers", "mean_sentiment", "mean_nps",
                                    "mean_csat", "trend", "top_stage", "quote_1", "quote_2", "quote_3"]]
    topics_view
    return (topics_view,)


@app.cell
def _(px, tables):
    _tm = tables["topic_months"].merge(tables["topics"][["topic", "label"]], on="topic")
    trend_fig = px.line(_tm, x="month", y="share", color="label", title="Share of verbatims by topic, month by month")
    trend_fig
    return (trend_fig,)


@app.cell
def _(px, tables):
    _v = tables["verbatims"]
    _v = _v[_v["topic"] >= 0].merge(tables["topics"][["topic", "label"]], on="topic")
    _heat = _v.pivot_table(index="stage", columns="label", values="verbatim_id", aggfunc="count").fillna(0)
    heat_fig = px.imshow(_heat, aspect="auto", color_continuous_scale="Blues",
                         title="What customers write about, by journey stage")
    heat_fig
    return (heat_fig,)


@app.cell
def _(mo):
    outcome = mo.ui.dropdown(options=["churn", "dropoff", "returns", "low_nps"], value="churn", label="Outcome")
    outcome
    return (outcome,)


@app.cell
def _(outcome, tables):
    drivers_view = tables["feedback_drivers"].query("outcome == @outcome.value")[
        ["rank", "label", "side", "customers", "rate", "rate_others", "lift", "lift_low", "lift_high",
         "excess_customers", "revenue_at_stake", "see_also"]]
    drivers_view
    return (drivers_view,)


@app.cell
def _(mo, tables):
    mo.md("## Who to call back: unresolved negative feedback, highest value first")
    follow_view = tables["follow_up"].head(200)
    follow_view
    return (follow_view,)


@app.cell
def _(mo):
    export = mo.ui.run_button(label="Export this page as a report")
    export
    return (export,)


@app.cell
def _(Path, drivers_view, export, folder, heat_fig, mo, os, report, tables, topics_view, trend_fig):
    # CX_EXPORT=1 python notebooks/05_voice.py exports without a click
    mo.stop(not (export.value or os.environ.get("CX_EXPORT")))
    _r = report.Report("Voice of the customer")
    _r.section("Topics")
    _r.table(topics_view, "Topics: size, sentiment, ratings and quotes (redacted)")
    _r.figure(trend_fig, "Topic trends")
    _r.figure(heat_fig, "Topics by journey stage")
    _r.section("Drivers")
    _r.table(drivers_view, "Topics most associated with the outcome (lift, 95% CI)")
    _r.metric("Customers to call back", len(tables["follow_up"]))
    _path = _r.save(Path(folder.value) / "reports" / "05_voice.html")
    mo.md(f"Report written to `{_path}`: it opens offline; identifiers and groups under 10 left out.")
    return


if __name__ == "__main__":
    app.run()
