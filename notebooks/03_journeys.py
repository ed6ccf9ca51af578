import marimo

__generated_with = "0.25.2"
app = marimo.App(width="medium", app_title="CX Workspace: where are our customers in their journey?")


@app.cell
def _():
    import marimo as mo

    from cxlib import journeys, metrics, notebook, report

    folder = notebook.workspace_folder()
    notebook.opening(
        """
        # Where is each customer, and where do they fall out?

        The journey explorer: every touchpoint mapped to a stage (buyer journey, then customer journey), flows as a
        Sankey, a funnel builder, how many customers are at each stage now and over time, and why people who
        considered did not buy. The channel and persona filters apply to the Sankey, the funnel, the journey map
        and its service table, the dates to the Sankey and the funnel; the stage counts and the reasons people did
        not buy are for every customer, as in the report. Run `cx unify` (and `cx journeys`) on the workspace
        first; the folder is `CX_WORKSPACE` (what `cx app FOLDER` sets) or the demo. Journey statistics describe
        association, not cause.
        """,
        folder,
    )
    return folder, journeys, metrics, mo, notebook, report


@app.cell
def _(folder, notebook):
    notebook.stale_note(folder)  # a line when a step is older than its inputs: readers say so
    return


@app.cell
def _(folder, notebook):
    # the controls' choices and the first Sankey from what `cx journeys` kept: nothing is staged before the first
    # view; the staged copy (made on first use, shared by every tab of the server) serves the cells below
    start = notebook.journey_start(folder)
    return (start,)


@app.cell
def _(mo, start):
    channel = mo.ui.multiselect(options=start.channels, label="Channels (all when empty)")
    persona = mo.ui.multiselect(options=start.personas, label="Personas (all when empty)")  # names shown, numbers kept
    dates = mo.ui.date_range(start=start.lo.date(), stop=start.hi.date(), label="Dates")
    view = mo.ui.radio(
        options=["stages by step", "moves between stages", "events by step"], value="stages by step", label="Sankey of"
    )
    steps = mo.ui.slider(3, 8, value=5, label="Steps", show_value=True)
    mo.hstack([channel, persona, dates, view, steps], wrap=True)
    return channel, dates, persona, steps, view


@app.cell
def _(channel, dates, persona):
    filters = {}
    if channel.value:
        filters["channel"] = channel.value
    if persona.value:
        filters["persona"] = persona.value
    window = {"start": str(dates.value[0]), "end": f"{dates.value[1]} 23:59:59"}
    return filters, window


@app.cell
def _(filters, folder, journeys, notebook, start, steps, view, window):
    _by_step = not view.value.startswith("moves")
    sankey_args = dict(
        on="event" if view.value.startswith("events") else "stage",
        collapse=not view.value.startswith("events"),
        max_steps=steps.value,
        filters=filters,
        **window,
    )
    # the flows once: the figure draws them and the list below names their nodes and links (same counts)
    flows = start.sankey_links(folder, **sankey_args) if _by_step else None
    sankey_fig = (
        journeys.sankey(None, align="step", links=flows, **sankey_args)
        if _by_step
        else notebook.on_staged(folder, journeys.sankey, align="stage", **sankey_args)
    )
    sankey_fig
    return flows, sankey_args, sankey_fig


@app.cell
def _(flows, journeys, mo, notebook):
    mo.stop(flows is None, mo.md("_Pick a Sankey by step to list the customers behind one of its nodes or links._"))
    sankey_choices = journeys.sankey_choices(flows)
    behind = notebook.sankey_picker(sankey_choices)
    behind
    return behind, sankey_choices


@app.cell
def _(behind, folder, journeys, mo, notebook, sankey_args, sankey_choices, start):
    mo.stop(behind.value is None)
    _pick = sankey_choices.loc[behind.value]
    _ids = start.sankey_customers(folder, **_pick["args"], **sankey_args)  # from the kept steps: no pass over the rows
    _who = notebook.on_staged(
        folder, journeys.customer_details, _ids, workspace=notebook.require(folder), keep=False
    )
    mo.vstack([mo.md(f"**{_pick['label']}**"), notebook.customer_list(_who, _pick["name"])])
    return


@app.cell
def _(mo):
    mo.md("""
    ## Funnel builder
    Pick the steps in order and a conversion window. People who stopped at a step: where they went instead.
    """)
    return


@app.cell
def _(mo, notebook, start):
    _events = notebook.in_words(start.events)  # shown in words, the event names kept
    funnel_steps = mo.ui.multiselect(
        options=_events,
        value=[w for w in ("product view", "add to cart", "checkout start", "purchase") if w in _events],
        label="Steps (in order)",
    )
    within = mo.ui.slider(1, 90, value=30, label="Window (days)", show_value=True)
    mo.hstack([funnel_steps, within])
    return funnel_steps, within


@app.cell
def _(folder, funnel_filters, funnel_steps, funnel_window, journeys, mo, notebook, within):
    if not funnel_steps.value:  # no step picked (or none in the data: an orders-only shop): the page goes on
        funnel, funnel_fig = None, None
        _out = mo.md("Pick at least one step." if funnel_steps.options else "_No funnel events in this data._")
    else:
        # computed once per server for each choice (notebook.on_staged): a choice made before, in any tab, is at
        # hand
        funnel = notebook.on_staged(
            folder, journeys.funnel, funnel_steps.value, within=within.value, filters=funnel_filters, **funnel_window
        )
        funnel_fig = journeys.funnel_figure(funnel)
        _out = mo.vstack([funnel_fig, notebook.table(funnel, digits=1, events=("name",),
                                                     percent=("conversion_from_previous", "conversion_from_start"))])
    _out
    return funnel, funnel_fig


@app.cell
def _(folder, notebook):
    # the headline numbers (every customer, as `cx journeys` staged them): the same as the report's; a cell of
    # their own, placed after the Sankey, so that the first view does not wait for them
    headline = notebook.headline(folder, "stages", "funnel")
    return (headline,)


@app.cell
def _(mo):
    mo.md("""
    ## Where everyone is now, and over time
    """)
    return


@app.cell
def _(folder, headline, journeys, metrics, mo, notebook):
    now_fig = journeys.stage_now_figure({s: metrics.value(headline, f"stage_now.{s}") or 0 for s in journeys.STAGES})
    over_time_fig = journeys.stage_counts_figure(notebook.on_staged(folder, journeys.stage_counts))
    mo.vstack(
        [
            mo.hstack(
                [
                    notebook.stat(headline, "journey_customers"),
                    notebook.stat(headline, "funnel_conversion", "purchase funnel, 30-day window, everyone",
                                  missing="needs every step's events: " + " → ".join(metrics.FUNNEL_STEPS)),
                ]
            ),
            now_fig,
            over_time_fig,  # one under the other: side by side, the second ran off the column, legend and all
        ]
    )
    return now_fig, over_time_fig


@app.cell
def _(mo):
    mo.md("""
    ## Why did they not buy? Why did they send it back?
    """)
    return


@app.cell
def _(folder, journeys, metrics, mo, notebook):
    dropoff = notebook.on_staged(folder, journeys.diagnose_dropoff)
    returns = notebook.on_staged(folder, journeys.diagnose_returns)
    _money = metrics.currency(notebook.require(folder))
    mo.vstack([mo.callout(mo.md(journeys.dropoff_verdict(dropoff)), kind="info"),
               notebook.table(dropoff, percent=("share", "conversion"), money=("revenue_at_stake",), currency=_money),
               notebook.table(returns, percent=("share",), money=("value",), currency=_money)])
    return dropoff, returns


@app.cell
def _(mo):
    mo.md("""
    ## The journey map
    One column per stage: who reaches it, how many move on, how long they stay, what they do there and what
    hurts. Service quality by stage sits below it.
    """)
    return


@app.cell
def _(filters, folder, journeys, mo, notebook):
    _jm = notebook.journey_map(folder, filters)  # a persona filter: a lookup in parts computed once
    # the customers the map above counts (the same filters); "customers" here: those with a touchpoint in the stage
    _service = notebook.on_staged(folder, journeys.service_by_stage, filters=filters).rename_axis("stage")
    _service = _service.reset_index().rename(columns={"customers": "customers with a touchpoint in it"})
    mo.vstack([journeys.journey_map_figure(_jm), notebook.table(_service, digits=2, percent=("unresolved_share",))])
    return


@app.cell
def _(filters, window):
    # the filters handed to the funnel by a cell placed after the journey map: marimo runs the cells a control
    # reaches in page order, so a channel, persona or date change redraws the journey map (a lookup) before the
    # funnel (0.5-0.9 s of small queries) rather than after it
    funnel_filters, funnel_window = filters, window
    return funnel_filters, funnel_window


@app.cell
def _(
    dropoff,
    filters,
    folder,
    funnel,
    funnel_fig,
    headline,
    journeys,
    metrics,
    notebook,
    now_fig,
    over_time_fig,
    report,
    returns,
    sankey_fig,
    window,
    within,
):
    def _report():
        r = report.Report("Journeys", as_of=window["end"])
        r.section("Headline numbers")
        metrics.card(r, headline, "journey_customers")
        metrics.card(r, headline, "funnel_conversion")
        _now = {s: metrics.value(headline, f"stage_now.{s}") or 0 for s in journeys.STAGES}
        r.markdown(
            "Every customer, whatever the filters below. Customers in each stage now: "
            + ", ".join(
                journeys.stage_label(s).lower() + " " + (
                    metrics.ref(r, headline, f"stage_now.{s}") if n >= r.min_group_size
                    else "none" if n == 0 else f"fewer than {r.min_group_size}"
                )
                for s, n in _now.items()
            )
            + "."
        )
        r.markdown(
            f"Filters: {filters or 'none'}; dates {window['start'][:10]} to {window['end'][:10]}; "
            f"funnel window {within.value} days."
        )
        r.section("Flows and funnel")
        r.figure(sankey_fig, "Journey flows", counts=True)
        if funnel is not None:
            r.figure(funnel_fig, "Funnel", counts=True)
            r.table(journeys.funnel_table(funnel), "Funnel steps")
        r.section("Stages now and over time")
        r.figure(now_fig, "Customers at each stage now", counts=True)
        r.figure(over_time_fig, "Customers at each stage over time", counts=True)
        r.section("Why they did not buy, why they sent it back")
        r.markdown(journeys.dropoff_verdict(dropoff))
        r.table(dropoff, "Drop-off: service failure vs marketing")
        r.table(returns, "Returns by cause")
        return r

    # a download button; `CX_EXPORT=1 python notebooks/03_journeys.py` writes FOLDER/reports/ instead
    notebook.export(_report, folder, "03_journeys")
    return


@app.cell
def _(folder, journeys, notebook, start):
    # once per server, in the background after the page is done: a persona filter's Sankey then sums these counts
    if start.personas:
        notebook.ahead(folder, journeys.sankey_parts)
    return


if __name__ == "__main__":
    app.run()
