import marimo

__generated_with = "0.25.2"
app = marimo.App(width="medium", app_title="CX Workspace: who are our customers?")


@app.cell
def _(mo):
    mo.md("""
    # Who are our customers? Personas

    Behavioural personas of the unified customers: what each group does, what it is worth, and how it
    differs from the others -- something a marketing and a service leader can agree on. Pick the features
    and the number of personas (or let the data choose), read the profiles, explore customers on the map,
    compare two personas side by side, and see who the high-value customers are. Run `cx unify` on the
    workspace first; the folder defaults to `CX_WORKSPACE` or the demo.
    """)
    return


@app.cell
def _():
    import os
    from pathlib import Path

    import marimo as mo
    import plotly.express as px

    from cxlib import personas, report

    return Path, mo, os, personas, px, report


@app.cell
def _(Path, mo, os):
    folder = mo.ui.text(value=os.environ.get("CX_WORKSPACE", str(Path("data/demo"))), label="Workspace folder",
                        full_width=True)
    folder
    return (folder,)


@app.cell
def _(Path, folder, mo, personas):
    mo.stop(not (Path(folder.value) / "workspace.duckdb").exists(),
            mo.md(f"**No workspace at `{folder.value}`.** Build one with `make demo`."))
    features = personas.customer_features(folder.value, anonymous=False)
    buyers = features[features["frequency"] > 0].reset_index(drop=True)
    mo.stop(len(buyers) < 10, mo.md("**Too few customers with orders for personas.** Run `cx unify` first."))
    return buyers, features


@app.cell
def _(buyers, mo, personas):
    _numeric = [c for c in buyers.columns if c in personas.FEATURES and buyers[c].dtype.kind == "f"]
    chosen = mo.ui.multiselect(options=_numeric, value=list(personas.MODEL_FEATURES), label="Features")
    k = mo.ui.dropdown(options=["auto"] + [str(i) for i in range(2, 11)], value="auto", label="Personas")
    method = mo.ui.dropdown(options=["kmeans", "gmm"], value="kmeans", label="Method")
    mo.vstack([mo.md("## Model"), mo.hstack([k, method]), chosen])
    return chosen, k, method


@app.cell
def _(buyers, chosen, k, method, mo, personas):
    mo.stop(not chosen.value, mo.md("Pick at least one feature."))
    model = personas.PersonaModel(n_personas="auto" if k.value == "auto" else int(k.value), method=method.value,
                                  features=list(chosen.value), random_state=0).fit(buyers)
    return (model,)


@app.cell
def _(features, mo, model, px):
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
        mo.ui.table(profile_table, selection=None),
        selection_fig,
    ])
    return profile_table, selection_fig


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
def _(buyers, first, mo, model, personas, second):
    mo.ui.table(personas.compare_personas(buyers, model, first.value, second.value).round(3), selection=None)
    return


@app.cell
def _(mo):
    tier_method = mo.ui.dropdown(options=["observed", "predicted"], value="observed",
                                 label="High-value by revenue to date, or predicted 12-month value")
    top = mo.ui.slider(0.05, 0.5, step=0.05, value=0.2, label="High-value share", show_value=True)
    mo.vstack([mo.md("## The high-value tier"), mo.hstack([tier_method, top])])
    return tier_method, top


@app.cell
def _(buyers, mo, model, personas, tier_method, top):
    _tiers = personas.value_tiers(buyers, method=tier_method.value, top=top.value)
    _labelled = buyers[["customer_id"]].assign(persona_name=[model.names_[i] for i in model.labels_])
    value_crosstab = personas.persona_value_crosstab(_labelled, _tiers)
    mo.ui.table(value_crosstab.round(3), selection=None)
    return (value_crosstab,)


@app.cell
def _(mo):
    export = mo.ui.run_button(label="Export this page as a report (one HTML file, offline, no personal data)")
    export
    return (export,)


@app.cell
def _(Path, export, folder, heatmap, mo, model, os, profile_table, report, selection_fig, value_crosstab):
    # CX_EXPORT=1 python notebooks/02_personas.py exports without a click
    mo.stop(not (export.value or os.environ.get("CX_EXPORT")))
    _r = report.Report("Personas")
    _r.section("Personas")
    _r.metric("Personas", model.n_personas_)
    _r.metric("Customers with orders", len(model.labels_))
    _r.table(profile_table, "Personas: size, value, what sets them apart")
    _r.figure(heatmap, "What sets each persona apart")
    _r.figure(selection_fig, "How the number of personas was chosen")
    _r.section("High-value customers")
    _r.table(value_crosstab, "Personas by value tier")
    _path = _r.save(Path(folder.value) / "reports" / "02_personas.html")
    mo.md(f"Report written to `{_path}`: it opens offline; identifiers and groups under 10 left out.")
    return


if __name__ == "__main__":
    app.run()
