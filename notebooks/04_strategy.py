import marimo

__generated_with = "0.25.2"
app = marimo.App(width="medium", app_title="CX Workspace: the strategy room")


@app.cell
def _():
    import marimo as mo
    import pandas as pd

    from cxlib import attribution, impact, metrics, notebook, report, simulate
    from cxlib.schema import stage_label

    folder = notebook.workspace_folder()
    notebook.opening(
        """
        # The strategy room: what is a journey change worth?

        A journey model fitted to the workspace's monthly stage history (per persona when personas exist): the
        chance of moving from each stage to the next each month, and the revenue a customer brings in each stage.
        Pull the levers below and see the next twelve months' revenue against the baseline, with its 5-95% band,
        and the future-state journey beside today's. The model assumes the future moves like the past did, with
        the lever applied; the band covers what the data leaves uncertain, not every surprise. The workspace is
        the folder in `CX_WORKSPACE` (what `cx app FOLDER` sets), else the demo.
        """,
        folder,
    )
    return attribution, folder, impact, metrics, mo, notebook, pd, report, simulate, stage_label


@app.cell
def _(folder, notebook):
    notebook.stale_note(folder)  # a line when a step is older than its inputs: readers say so
    return


@app.cell
def _(folder, metrics, mo, notebook, simulate):
    with notebook.connect(folder, "touchpoints") as _ws:
        history = simulate.complete_history(_ws)  # up to the last complete month
        # the model held against the company's own past: the backtest `cx simulate` stored (the report shows
        # it too), else the same one computed here (None: too short a history to hold any month out)
        backtest = simulate.stored_backtest(_ws)
        backtest_stored = _stored = backtest is not None
        if not _stored:
            backtest = simulate.workspace_backtest(_ws, history)
        currency = metrics.currency(_ws)  # of the orders' amounts, as every page and the report show it
    # the headline numbers this page shows, from the metrics layer (the report shows the same)
    headline = notebook.headline(folder, "stages", "attribution", "levers")
    return backtest, backtest_stored, currency, headline, history


@app.cell
def _(backtest, backtest_stored, headline, history, mo, notebook, simulate):
    # too short a history stops the model's cells with what is missing; attribution and impact below go on
    _stored = backtest_stored
    # per persona when there are personas (prospect stages shared, thin personas pooled toward everyone)
    with notebook.stops_with_the_reason("No journey model, so no forecast on this page."):
        simulate.check_history(history, "In this workspace", revenue=True)  # as `cx simulate` checks it
        model = simulate.persona_model(history)
    try:  # before the first purchase: one estimate
        failure_levers = simulate.service_failure_lever(history)
    except ValueError:  # no consideration -> purchase moves to estimate it on (an orders-only shop)
        failure_levers = []
    mo.vstack([
        mo.hstack([
            notebook.stat(headline, "journey_customers", "customers the model is fitted on (their monthly stages), "
                          + ("per persona" if "persona" in history.columns else "one chain (cx personas: one each)")
                          + ("; the new arrivals apart" if model.by == "segment" else "")),
            *([notebook.stat(headline, "backtest_error")] if _stored else []),
        ], justify="start", gap=4),
        mo.md(f"New customers a month: **{simulate.choose_arrivals(model)}**. " + simulate.backtest_words(backtest)
              + ("" if _stored or backtest is None else " (Computed here: `cx simulate` stores it for the report.)")),
        mo.md(f"What the forecast's purchase history keeps apart: {simulate.purchase_words(model)}."),
        *([simulate.backtest_figure(backtest)] if backtest is not None else []),  # (None would show as "None")
        # the new customers the forecast adds, beside the arrivals they continue (as the report shows them)
        simulate.arrivals_figure(simulate.arrivals_table(model)),
    ])
    return failure_levers, model


@app.cell
def _(failure_levers, mo):
    conversion = mo.ui.slider(-20, 50, value=10, step=5, label="Consideration → purchase (% change)", show_value=True)
    churn = mo.ui.slider(0, 20, value=0, step=1, label="Cut at-risk → churned (points)", show_value=True)
    aov = mo.ui.slider(-10, 20, value=0, step=1, label="Average order value (% change)", show_value=True)
    fix = mo.ui.checkbox(
        value=False,
        label="Fix the pre-sale service failure (resolve every pre-sale question)"
        + ("" if failure_levers else ": no prospects' journeys in this data to estimate it on"),
        disabled=not failure_levers,
    )
    months = mo.ui.slider(3, 24, value=12, label="Months ahead", show_value=True)
    mo.vstack([conversion, churn, aov, fix, months])
    return aov, churn, conversion, fix, months


@app.cell
def _(aov, churn, conversion, failure_levers, fix, simulate):
    _levers = []
    if conversion.value:
        _levers.append(simulate.Scenario.scale("consideration", "purchase", 1 + conversion.value / 100))
    if churn.value:
        _levers.append(simulate.Scenario.cut("at_risk", "churned", churn.value / 100))
    if aov.value:
        _levers.append(simulate.Scenario.aov(1 + aov.value / 100))
    if fix.value:
        _levers += failure_levers
    # named by the levers it pulls ("conversion +10%, AOV +5%"), not by the ones left at zero
    _parts = [f"conversion {conversion.value:+d}%" if conversion.value else "",
              f"at-risk churn -{churn.value} pts" if churn.value else "",
              f"AOV {aov.value:+d}%" if aov.value else "", "service fix" if fix.value else ""]
    plan = simulate.Scenario("your plan: " + (", ".join(p for p in _parts if p) or "no change"), _levers)
    return (plan,)


@app.cell
def _(folder, mo, notebook, simulate):
    # the plans saved to compare side by side: kept in the workspace (plans.json), so a reload keeps them
    get_saved, set_saved = mo.state(simulate.saved_plans(notebook.require(folder)))
    get_note, set_note = mo.state("")
    return get_note, get_saved, set_note, set_saved


@app.cell
def _(folder, get_saved, mo, notebook, plan, set_note, set_saved):
    def _save(_):
        try:  # in the editor into the workspace; in an app for this page only (a viewer writes nothing there)
            _kept, _said = notebook.keep_plan(folder, plan, get_saved())
        except (OSError, ValueError) as _e:
            set_note(f"Not saved: {_e}")
            return
        set_saved(_kept)
        set_note(_said)

    save = mo.ui.button(label="Save this plan to the scenario table", on_click=_save)
    save
    return


@app.cell
def _(get_note, mo):
    mo.md(get_note()) if get_note() else None
    return


@app.cell
def _(folder, history, model, months, notebook, simulate):
    # the preset strategies (and the pre-sale fix, as `cx simulate` has them) change only with the horizon, not
    # with the levers: at `cx simulate`'s horizon the ones it stored (the report's lever gains, read in a moment),
    # at another one computed here once
    _todo = simulate.workspace_scenarios(history)
    with notebook.connect(folder) as _ws:
        presets = simulate.stored_scenarios(_ws, [s.name for s in _todo], months.value)
    if presets is None:
        presets = simulate.simulate(model, _todo, months=months.value, draws=2000)
    return (presets,)


@app.cell
def _(get_saved, model, months, simulate):
    # the saved plans, simulated when one is saved or the horizon changes -- not when a lever moves
    _kept = get_saved()
    saved_results = simulate.simulate(model, _kept, months=months.value, draws=2000) if _kept else None
    return (saved_results,)


@app.cell
def _(model, months, pd, plan, presets, saved_results, simulate):
    # what a lever change recomputes: your plan alone (the baseline's path and the posterior draws are kept
    # with the model), beside the saved plans and the presets
    _mine = simulate.simulate(model, [plan], months=months.value, draws=2000)
    _others = [f[~f["scenario"].isin(["baseline", plan.name])] for f in (saved_results, presets) if f is not None]
    results = pd.concat([_mine, *_others], ignore_index=True)
    ranked = simulate.compare(results)
    return ranked, results


@app.cell
def _(backtest, mo, plan, ranked, simulate):
    # what the user's own plan is worth, held against the forecast's error -- not the largest preset's gain
    _text, _clear = simulate.plan_verdict(ranked, plan.name, backtest)
    mo.callout(mo.md(_text), kind="success" if _clear else "warn")
    return


@app.cell
def _(currency, mo, notebook, plan, ranked, results, simulate):
    _reach = simulate.reach_words(ranked)
    mo.vstack([
        simulate.fan_chart(results, "cumulative_revenue"),
        notebook.table(ranked, digits=1, money=simulate.MONEY_COLUMNS, currency=currency,
                       whole=simulate.WHOLE_COLUMNS),
        *([mo.md(_reach)] if _reach else []),
        simulate.future_state_figure(results, plan.name),
    ])
    return


@app.cell
def _(mo):
    mo.md("""
    ## Move new customers between acquisition channels
    The same model fitted by acquisition channel (the channel of each customer's first touch): moving a share
    of each month's new customers from one channel to another, who then behave like that channel's customers.
    """)
    return


@app.cell
def _(history, mo, model, simulate):
    # the persona model's seed (and no section without it: too short a history stops both, with one message)
    channel_model = simulate.JourneyModel(by="acquisition_channel", random_state=model.random_state).fit(history)
    _ch = channel_model.segments_
    move_from = mo.ui.dropdown(_ch, value=_ch[0], label="Move new customers from")
    move_to = mo.ui.dropdown(_ch, value=_ch[-1], label="to")
    move_share = mo.ui.slider(0, 100, value=20, step=5, label="Share moved (%)", show_value=True)
    mo.hstack([move_from, move_to, move_share])
    return channel_model, move_from, move_share, move_to


@app.cell
def _(channel_model, currency, mo, months, move_from, move_share, move_to, notebook, ranked,
      simulate):
    _move = simulate.Scenario(
        f"move {move_share.value}% {move_from.value} -> {move_to.value}",
        [simulate.Scenario.move(move_from.value, move_to.value, move_share.value / 100)],
    )
    _moved = simulate.compare(simulate.simulate(channel_model, [_move], months=months.value, draws=2000))
    _none = simulate.choose_arrivals(channel_model) == "none"  # a closed cohort: nobody new to move
    # one baseline on the page: the channel model's own forecast level is not shown as a second "baseline
    # revenue" beside the persona model's above; its gain is what this section is for
    _own = float(_moved.loc[_moved["scenario"] == "baseline", "revenue"].iloc[0])
    _main = float(ranked.loc[ranked["scenario"] == "baseline", "revenue"].iloc[0])
    _said = [
        "_The forecast has no new customers (the arrival model the backtest chose is **none**): moving them "
        "between channels changes nothing._" if _none else "",
        # one channel (an orders-only shop's "unknown"): nothing to move between
        f"_The customers came through one acquisition channel only (**{move_from.value}**): there is nothing to move "
        "between._" if len(channel_model.segments_) < 2 else "",
    ]
    mo.vstack([  # (no None in a stack: marimo shows it as the text "None")
        *[mo.md(t) for t in _said if t],
        mo.md(f"The gain comes from the model by acquisition channel, held against its own baseline "
              f"({_own:,.0f} {currency} over {months.value} months, where the persona model above forecasts "
              f"{_main:,.0f}): read the gain, not the level."),
        notebook.table(_moved.drop(columns=["revenue"]), digits=1, money=simulate.MONEY_COLUMNS, currency=currency,
                       whole=simulate.WHOLE_COLUMNS),
    ])
    return


@app.cell
def _(mo):
    mo.md("""
    ## Customer lifetime value by stage
    Expected discounted revenue (10% a year) from a customer in each stage, per segment. An empty column: no
    customer was in that stage at a month end (the model moves month to month), so there is nothing to value it by.
    """)
    return


@app.cell
def _(currency, model, notebook, stage_label):
    # one column per stage, headed by its label (At risk); the rows are segments
    _clv = model.clv_table().rename(columns=stage_label).rename_axis("segment").reset_index()
    notebook.table(_clv, money=tuple(c for c in _clv.columns if c != "segment"), currency=currency)
    return


@app.cell
def _(mo):
    mo.md("""
    ## Which touchpoints go with revenue? (attribution)
    Credit for orders shared among the channels on the way to them, by several models side by side. **This is
    association, not causal effect**: a channel that shows up before many orders may be where buyers already
    were. For what a change *causes*, use a holdout (below) or the simulator above.
    """)
    return


@app.cell
def _(attribution, folder, impact, notebook, report):
    with notebook.connect(folder, "touchpoints") as _ws:
        paths = report.attribution_paths(_ws)  # the one attribution input set: the report shows the same
        uplift = impact.campaign_uplift(_ws.table("touchpoints"))  # None: no campaign with a holdout
    comparison = attribution.compare(paths)
    # no chart of nothing (an orders-only shop, a CRM without orders): the reason is said below
    _nothing = attribution.nothing_to_attribute(paths) is not None
    attribution_fig = None if _nothing else attribution.compare_figure(comparison)
    attribution_fig
    return attribution_fig, comparison, paths, uplift


@app.cell
def _(attribution, comparison, currency, headline, mo, notebook, paths):
    _why_not = attribution.nothing_to_attribute(paths)  # as the report says it (an orders-only shop)
    mo.vstack([
        *([mo.callout(mo.md(_why_not), kind="warn")] if _why_not else []),
        mo.hstack([notebook.stat(headline, "attribution_conversions"), notebook.stat(headline, "attribution_value")]),
        # formatted for a reader (it showed 16-digit floats, dtype labels and NaN); the download keeps the values
        notebook.table(attribution.in_words(comparison), money=("value",), currency=currency),
    ])
    return


@app.cell
def _(mo):
    mo.md("""
    ## Did the win-back campaign work? (measured impact)
    Customers who got the offer against the randomly held-out group: the difference is the campaign's effect,
    with its 95% interval.
    """)
    return


@app.cell
def _(currency, impact, mo, notebook, uplift):
    # the verdict in words first; the numbers behind it below
    uplift_verdict = impact.uplift_verdict(uplift, currency)
    _numbers = [notebook.table(uplift)] if uplift is not None else []
    mo.vstack([mo.callout(mo.md(uplift_verdict), kind="info"), *_numbers])
    return (uplift_verdict,)


@app.cell
def _(attribution, attribution_fig, backtest, backtest_stored, folder, headline, metrics, model, months, notebook,
      paths, plan, ranked, report, results, simulate, uplift, uplift_verdict):
    def _report():
        r = report.Report("Strategy: what moves revenue")
        r.section("Held against the past")
        if backtest_stored:
            metrics.card(r, headline, "backtest_error")
        r.markdown(simulate.backtest_words(backtest))
        r.markdown(f"What the forecast's purchase history keeps apart: {simulate.purchase_words(model)}.")
        if backtest is not None:
            r.figure(simulate.backtest_figure(backtest), "Backtest: revenue forecast by month against what happened")
        r.section("Scenarios")
        r.markdown(simulate.plan_verdict(ranked, plan.name, backtest)[0])
        r.markdown(f"The other scenarios compared here over {months.value} months are examples of levers, not a "
                   "plan: they differ in size, and the gain per 1% of each lever puts them side by side.")
        r.table(ranked, "Scenarios ranked by revenue gain (5-95% band)", money=simulate.MONEY_COLUMNS,
                whole=simulate.WHOLE_COLUMNS)
        r.figure(simulate.fan_chart(results, "cumulative_revenue"), "Cumulative revenue gain over baseline")
        r.figure(simulate.future_state_figure(results, plan.name), f"Future state under “{plan.name}”")
        r.section("Attribution and measured impact")
        r.markdown("Attribution is association, not causal effect; the holdout uplift below is causal.")
        metrics.card(r, headline, "attribution_conversions")
        metrics.card(r, headline, "attribution_value")
        if attribution_fig is not None:
            r.figure(attribution_fig, "Attributed revenue by channel and model")
        else:  # as the page says it
            r.markdown(f"*{attribution.nothing_to_attribute(paths)}*")
        r.markdown(f"**Did the win-back campaign work?** {uplift_verdict}")
        if uplift is not None:
            r.table(uplift, "Win-back campaign: uplift against the random holdout")
        return r

    # a download button; `CX_EXPORT=1 python notebooks/04_strategy.py` writes FOLDER/reports/ instead
    notebook.export(_report, folder, "04_strategy")
    return


if __name__ == "__main__":
    app.run()
