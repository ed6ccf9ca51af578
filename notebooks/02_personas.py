import marimo

__generated_with = "0.25.2"
app = marimo.App(width="medium", app_title="CX Workspace: who are our customers?")


@app.cell
def _():
    import marimo as mo
    import plotly.express as px

    from cxlib import metrics, notebook, personas, report

    folder = notebook.workspace_folder()
    notebook.opening(
        """
        # Who are our customers? Personas

        Behavioural personas of the unified customers: what each group does, what it is worth, and how it
        differs from the others -- something a marketing and a service leader can agree on. Pick the features
        and the number of personas (or let the data choose), read the profiles, explore customers on the map,
        compare two personas side by side, and see who the high-value customers are. Run `cx unify` on the
        workspace first; the folder is `CX_WORKSPACE` (what `cx app FOLDER` sets) or the demo.
        """,
        folder,
    )
    return folder, metrics, mo, notebook, personas, px, report


@app.cell
def _(folder, notebook):
    notebook.stale_note(folder)  # a line when a step is older than its inputs: readers say so
    return


@app.cell
def _(folder, mo, notebook, personas):
    features = notebook.persona_features(folder)  # once per server: a second tab has them at once
    buyers = notebook.persona_buyers(folder)  # those with orders: what the model is fitted on
    # `cx personas`' own line (personas.MIN_TO_FIT): the page fits what the command would store
    mo.stop(len(buyers) < personas.MIN_TO_FIT, mo.md(notebook.too_few_buyers(folder, len(buyers))))
    return buyers, features


@app.cell
def _(buyers, folder, mo, notebook):
    _ = buyers  # where there are buyers: a week of orders still fits and names groups, so say what they stand on
    _note = notebook.persona_evidence(folder)
    mo.callout(mo.md(_note), kind="warn") if _note else None
    return


@app.cell
def _(buyers, mo, notebook, personas):
    _numeric = [c for c in buyers.columns if c in personas.FEATURES and buyers[c].dtype.kind == "f"]
    _words = notebook.in_words(_numeric)  # shown in words ("avg order value"), the names kept
    _named = {c: w for w, c in _words.items()}
    chosen = mo.ui.multiselect(options=_words, value=[_named[c] for c in personas.MODEL_FEATURES if c in _named],
                               label="Features")  # in `cx personas`' order: the same model
    # no more personas than buyers to split (a week of orders may have a handful)
    k = mo.ui.dropdown(options=["auto"] + [str(i) for i in range(2, min(10, len(buyers)) + 1)], value="auto",
                       label="Personas")
    method = mo.ui.dropdown(options=["kmeans", "gmm"], value="kmeans", label="Method")
    mo.vstack([mo.md("## Model"), mo.hstack([k, method]), chosen])
    return chosen, k, method


@app.cell
def _(chosen, folder, k, method, mo, notebook):
    mo.stop(not chosen.value, mo.md("Pick at least one feature."))
    # fitted on the customers with orders once per server and choice (a choice made before is at hand)
    model = notebook.persona_fit(folder, list(chosen.value), "auto" if k.value == "auto" else int(k.value),
                                 method.value)
    return (model,)


@app.cell
def _(features, folder, metrics, mo, model, notebook, px):
    money_unit = metrics.currency(notebook.require(folder))  # the orders' currency: value is revenue per customer
    selection_fig = px.line(model.selection_, x="k", y="silhouette", markers=True,
                     title="Mean silhouette by number of personas (auto: fewest within one standard error of the best)")
    profile_table = model.profiles_[["name", "description", "size", "share", "value", "revenue_share",
                                     "distinguishing", "main_channels"]]
    mo.vstack([
        mo.hstack([
            mo.stat(f"{model.n_personas_}", label="personas"),
            mo.stat(f"{len(model.labels_):,}", label="customers with orders (fitted)"),
            mo.stat(f"{len(features) - len(model.labels_):,}", label="prospects (no order yet)"),
        ]),
        mo.md("## Personas"),
        notebook.table(profile_table, percent=("share", "revenue_share"), money=("value",), currency=money_unit),
        selection_fig,
    ])
    return money_unit, profile_table, selection_fig


@app.cell
def _(buyers, mo, model, personas):
    heatmap = personas.profile_heatmap(model, features=list(model.feature_names_in_) + ["monetary", "return_rate",
                                                                                      "share_web", "nps_mean"])
    mo.vstack([
        mo.md("## What sets each persona apart"),
        heatmap,
        mo.md("## Customers on the map"),
        personas.persona_map(buyers, model),
    ])
    return (heatmap,)


@app.cell
def _(mo, model):
    first = mo.ui.dropdown(options=model.names_, value=model.names_[0], label="Persona")
    second = mo.ui.dropdown(options=model.names_, value=model.names_[-1], label="versus")
    mo.vstack([mo.md("## Two personas side by side"), mo.hstack([first, second])])
    return first, second


@app.cell
def _(buyers, first, mo, model, notebook, personas, second):
    notebook.table(personas.compare_personas(buyers, model, first.value, second.value).round(3), events=("feature",))
    return


@app.cell
def _(buyers, mo):
    _ = buyers  # the tier is of the buyers: no controls where there are none to rank
    tier_method = mo.ui.dropdown(options=["observed", "predicted"], value="observed",
                                 label="High-value by revenue to date, or predicted 12-month value")
    top = mo.ui.slider(0.05, 0.5, step=0.05, value=0.2, label="High-value share", show_value=True)
    mo.vstack([mo.md("## The high-value tier"), mo.hstack([tier_method, top])])
    return tier_method, top


@app.cell
def _(buyers, model, money_unit, notebook, personas, tier_method, top):
    _tiers = personas.value_tiers(buyers, method=tier_method.value, top=top.value)
    _labelled = buyers[["customer_id"]].assign(persona_name=[model.names_[i] for i in model.labels_])
    value_crosstab = personas.persona_value_crosstab(_labelled, _tiers)
    # money and shares as the personas table above shows them
    notebook.table(value_crosstab, money=("value",), currency=money_unit, percent=("high_share", "value_share"))
    return (value_crosstab,)


@app.cell
def _(folder, heatmap, model, notebook, profile_table, report, selection_fig, value_crosstab):
    def _report():
        r = report.Report("Personas")
        r.section("Personas")
        r.metric("Personas", model.n_personas_)
        r.metric("Customers with orders", len(model.labels_))
        if _note := notebook.persona_evidence(folder):  # what the personas stand on, as the page says it
            r.markdown(f"*{_note}*")
        r.table(profile_table, "Personas: size, value, what sets them apart")
        r.figure(heatmap, "What sets each persona apart")
        r.figure(selection_fig, "How the number of personas was chosen")
        r.section("High-value customers")
        r.table(value_crosstab, "Personas by value tier")
        return r

    # a download button; `CX_EXPORT=1 python notebooks/02_personas.py` writes FOLDER/reports/ instead
    notebook.export(_report, folder, "02_personas")
    return


if __name__ == "__main__":
    app.run()
