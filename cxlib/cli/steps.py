"""The step commands: generate, validate, load, summary, refresh, unify, journeys, personas, simulate, voice,
report."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Annotated

import typer

from cxlib.cli.base import Folder, _exclusive, _fail, _fail_if_out_of_memory, _warn_stale, app
from cxlib.schema import DataError


def _print_summary(folder: Path, headline: bool = True) -> None:
    import pandas as pd

    from cxlib import metrics
    from cxlib.engine import connect

    with connect(folder, read_only=True) as ws:
        s = ws.summary()
        log = ws.table("load_log").to_pandas() if ws.has("load_log") else pd.DataFrame()
        if s.empty:  # a load that was interrupted (its transaction rolled back) or never ran
            raise DataError(
                f"{folder}: the workspace holds no loaded tables (the last `cx load` did not finish, or none ran); "
                f"run `cx load {folder}`"
            )
        h = metrics.headline(ws) if headline else pd.DataFrame()
    if not log.empty:
        s = s.merge(log[["table_name", "rows_in", "rows_quarantined", "values_nulled"]], on="table_name", how="left")
        s = s[["table_name", "rows_in", "rows", "rows_quarantined", "values_nulled", "first_ts", "last_ts"]]
        s = s.rename(columns={"rows": "rows_loaded"})
    with pd.option_context("display.width", 160, "display.max_columns", 20):
        typer.echo(s.to_string(index=False))
    if not s.empty:
        typer.echo(f"date range: {s['first_ts'].min()} .. {s['last_ts'].max()}")
    if not h.empty:  # the headline numbers, as the notebooks and the report show them (cxlib.metrics)
        typer.echo("\nheadline numbers (cxlib.metrics):")
        width = int(h["metric"].str.len().max())
        for m in h.itertuples():
            typer.echo(f"  {m.metric:<{width}}  {metrics.shown(m.value, m.unit):>16}  {m.definition}")


@app.command()
def generate(
    out: Annotated[Path, typer.Option(help="Folder to write the company's source files to (truth goes to OUT/truth).")],
    customers: Annotated[int, typer.Option(help="People to simulate.")] = 20_000,
    seed: Annotated[int, typer.Option(help="Random seed; same arguments, same bytes.")] = 7,
    start: Annotated[str, typer.Option(help="First month, YYYY-MM-DD.")] = "2024-01-01",
    months: Annotated[int, typer.Option(help="Months to simulate.")] = 24,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
    file_format: Annotated[
        str, typer.Option("--format", help="mixed: events as Parquet, the rest as CSV; parquet: all Parquet.")
    ] = "mixed",
    style: Annotated[
        str,
        typer.Option(
            help="canonical: files named after the tables (streamed in blocks, any size); exports: as the systems "
            "export them (GA4 BigQuery Parquet, invoice lines, Zendesk, HubSpot, Qualtrics, Klaviyo; streamed "
            "in blocks too; map them with `cx sources --write`)."
        ),
    ] = "canonical",
) -> None:
    """Generate a synthetic company with known truth.

    Example: cx generate --customers 20000 --seed 7 --out data/demo
    Example: cx generate --style exports --customers 5000 --out data/exports && cx sources data/exports --write
    """
    from cxlib import synth

    if style not in ("canonical", "exports"):
        _fail(ValueError(f"--style must be canonical or exports, got {style!r}"))
    t0 = time.perf_counter()
    try:
        counts = synth.write_company(
            out, n_customers=customers, seed=seed, start=start, months=months, progress=progress, style=style
        )
    except ValueError as e:
        _fail(e)
    rows = ", ".join(f"{k} {v:,}" for k, v in counts.items())
    typer.echo(f"wrote {out} in {time.perf_counter() - t0:.1f}s: {rows} (truth in {out / 'truth'})")


@app.command()
def validate(folder: Folder) -> None:
    """Check the workspace's source files without loading them; exit 2 on a structural problem.

    Prints what each table would get, then per file: its table, rows, mapped and unmapped columns.

    Example: cx validate data/demo
    """
    from cxlib import io
    from cxlib.io.preview import file_views, format_views

    try:
        report = io.validate(folder)
        views = file_views(folder)
    except DataError as e:
        _fail(e)
    except Exception as e:  # noqa: BLE001 - the engine out of memory: said, not a traceback
        _fail_if_out_of_memory("validate", e)
    typer.echo(str(report))
    q = report.quarantine
    q = q[q["action"] == "quarantined"].drop_duplicates(["source_file", "row"])
    typer.echo(format_views(views, q["source_file"].value_counts().to_dict()))


@app.command()
@_exclusive("load")
def load(folder: Folder, progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True) -> None:
    """Validate the source files and load them into FOLDER/workspace.duckdb (quarantining bad rows).

    Example: cx load data/demo
    """
    from cxlib import io

    t0 = time.perf_counter()
    try:
        report = io.load(folder, progress=progress)
    except DataError as e:
        _fail(e)
    typer.echo(str(report))
    typer.echo(f"loaded in {time.perf_counter() - t0:.1f}s into {folder / io.DATABASE_NAME}")
    failures = report.failures()
    if failures:  # never a silent success: too many rows quarantined (max_quarantine in sources.yml)
        typer.echo("\n\n".join(["error: too many rows quarantined", *failures]), err=True)
        raise typer.Exit(3)


@app.command()
def summary(
    folder: Folder,
    headline: Annotated[bool, typer.Option(help="Also print the headline numbers, each with its definition.")] = True,
) -> None:
    """Print rows, rejected rows and date range of each table, then the workspace's headline numbers.

    Example: cx summary data/demo
    """
    try:
        _print_summary(folder, headline)
        _warn_stale(folder)
    except DataError as e:
        _fail(e)


@app.command()
def refresh(folder: Folder) -> None:
    """Rerun, in order, every step whose inputs changed since it ran (see `workspace_steps`).

    Example: cx refresh data/demo
    """
    from cxlib import lineage

    try:
        stale = _warn_stale(folder)
    except DataError as e:
        _fail(e)
    if not stale:
        typer.echo("every step is up to date")
        return
    for s in lineage.STEPS:  # run order; asked again each time, since a rerun step makes the later ones stale
        if s in _stale_names(folder):
            _refresh_one(folder, s)
    typer.echo("every step is up to date")


def _stale_names(folder: Path) -> set[str]:
    from cxlib import lineage
    from cxlib.engine import connect

    with connect(folder, read_only=True) as ws:
        return {x.step for x in lineage.stale_steps(ws)}


#: what reruns each step of cxlib.lineage.STEPS with its defaults: (module, function taking the folder)
def _refresh_one(folder: Path, step: str) -> None:
    """Rerun one step through its own command, with the options it last ran with (its lineage row keeps them):
    the same checks as when it is run by hand (a load that quarantines too much exits 3, the engine out of
    memory is said), and the same results (`cx unify --threshold 0.5` stays at 0.5)."""
    import inspect

    from cxlib import lineage
    from cxlib.engine import connect

    command = {"load": load, "unify": unify, "journeys": journeys, "personas": personas_command,
               "simulate": simulate, "voice": voice}[step]  # fmt: skip
    with connect(folder, read_only=True) as ws:
        saved = lineage.step_options(ws, step)
    params = inspect.signature(command).parameters
    options = {k: v for k, v in saved.items() if k in params and k != "folder"}
    given = [_flag(step, k, v) for k, v in options.items() if params[k].default != v]
    typer.echo(f"refreshing {step}" + (f" as it last ran ({', '.join(given)})" if given else "") + " ...")
    command(folder=folder, **options)


def _flag(step: str, name: str, value: object) -> str:
    """Option ``name`` (a Python parameter) of ``cx STEP`` as typed: ``--personas 3``, ``--no-probabilistic``."""
    import typer.main

    from cxlib.cli.base import app

    param = next(p for p in typer.main.get_command(app).commands[step].params if p.name == name)
    if isinstance(value, bool):
        return param.opts[0] if value or not param.secondary_opts else param.secondary_opts[0]
    return f"{param.opts[0]} {value}"


@app.command()
@_exclusive("unify")
def unify(
    folder: Folder,
    probabilistic: Annotated[bool, typer.Option(help="Run the probabilistic (splink) step.")] = True,
    threshold: Annotated[float, typer.Option(help="Match probability a probabilistic merge needs.")] = 0.95,
    incremental: Annotated[
        bool, typer.Option(help="Score only new contact records against existing customers (needs a full run).")
    ] = False,
    progress: Annotated[bool, typer.Option(help="Show progress bars.")] = True,
    source_priority: Annotated[
        str | None,
        typer.Option(
            help="Sources in order of trust, comma-separated: the golden record's ties, and which system's "
            "contacts a record id several systems use means (default crm,loyalty,shop,legacy_crm,helpdesk,"
            "email_platform; with --incremental, the last run's)."
        ),
    ] = None,
) -> None:
    """Resolve every source row to one customer: identity_links, customers, touchpoints.

    Example: cx unify data/demo
    """
    from cxlib import unify as _unify

    t0 = time.perf_counter()
    cfg = _unify.UnifyConfig(match_threshold=threshold)
    if source_priority is not None:
        order = tuple(s.strip() for s in source_priority.split(",") if s.strip())
        cfg = dataclasses.replace(cfg, source_priority=order)
    elif incremental:  # the last run's identifier settings, as its model is reused
        cfg = _unify.run_config(folder, cfg)
    try:
        result = _unify.unify(
            folder,
            cfg,
            probabilistic=probabilistic,
            progress=progress,
            incremental=incremental,
        )
    except DataError as e:
        _fail(e)
    typer.echo(str(result))
    typer.echo(f"unified in {time.perf_counter() - t0:.1f}s")


@app.command()
@_exclusive("journeys")
def journeys(
    folder: Folder,
    stage_map: Annotated[
        Path | None, typer.Option(help="A stage map YAML (default: FOLDER/stage_map.yml, else the built-in map).")
    ] = None,
    include_unidentified: Annotated[
        bool, typer.Option(help="Keep rows that carried no identifier at all (one-touch customers).")
    ] = False,
) -> None:
    """Assign journey stages: customer_stages (where each customer is now) and stage_history (month by month).

    Example: cx journeys data/demo
    """
    from cxlib import journeys as _journeys

    t0 = time.perf_counter()
    try:
        counts = _journeys.build(folder, stage_map, include_unidentified=include_unidentified)
    except DataError as e:
        _fail(e)
    typer.echo("customers at each stage now:")
    for row in counts.itertuples():
        typer.echo(f"  {row.stage:<14} {row.customers:>10,}")
    typer.echo(f"journeys built in {time.perf_counter() - t0:.1f}s")


@app.command()
@_exclusive("simulate")
def simulate(
    folder: Folder,
    months: Annotated[int, typer.Option(help="Months ahead.")] = 12,
    draws: Annotated[int, typer.Option(help="Posterior draws for the bands.")] = 2000,
    arrivals: Annotated[
        str, typer.Option(help="New customers a month: auto (chosen by backtest), none, recent, seasonal, or N.")
    ] = "auto",
    backtest: Annotated[
        bool, typer.Option("--backtest", help="Only hold the model against the past: fit up to a cutoff, compare.")
    ] = False,
    cutoff: Annotated[str | None, typer.Option(help="Last month the backtest fits on (YYYY-MM).")] = None,
    purchases: Annotated[
        str,
        typer.Option(
            help="What the purchase history keeps apart: auto (chosen by backtest), recency, count (one purchase "
            "from two or more) or gap (also close purchases from far-apart ones)."
        ),
    ] = "auto",
) -> None:
    """Fit the journey model and compare the preset strategies: journey_transitions and scenarios tables.

    Example: cx simulate data/demo --backtest
    """
    from cxlib import simulate as _simulate
    from cxlib.simulate.recency import KINDS

    t0 = time.perf_counter()
    try:
        how = _simulate.parse_arrivals(arrivals)
        if purchases not in ("auto", *KINDS):
            raise ValueError(f"--purchases must be auto, {', '.join(KINDS)}; not {purchases!r}")
        if backtest:
            months = months if cutoff else _months_to_hold(folder, months)
            bt = _simulate.backtest(folder, months=months, cutoff=cutoff, arrivals=how, purchases=purchases)
            _print_backtest(bt)
            return
        ranked = _simulate.build(folder, months=months, draws=draws, arrivals=how, purchases=purchases)
    except (DataError, ValueError) as e:
        _fail(e)
    typer.echo(
        f"revenue gain over {months} months vs baseline (5-95%), per 1% of the lever and the customers it reaches a "
        "month; examples, not a plan:"
    )
    for r in ranked.itertuples():
        per = getattr(r, "gain_per_pct", float("nan"))
        unit = f"  {per:,.0f} per 1%" if per == per else ""  # NaN: the baseline, or a plan of several levers
        reach = getattr(r, "customers_reached", float("nan"))
        unit += f", reaches {reach:,.0f} a month" if reach == reach else ""
        typer.echo(f"  {r.scenario:<32} {r.gain:>14,.0f}  [{r.gain_p5:,.0f} .. {r.gain_p95:,.0f}]{unit}")
    if few := _simulate.reach_words(ranked):
        typer.echo(few)
    typer.echo(_advice(folder, ranked, months))
    typer.echo(f"purchase history in the model: {ranked.attrs['purchases']}")
    typer.echo(f"simulated in {time.perf_counter() - t0:.1f}s")


def _months_to_hold(folder: Path, months: int) -> int:
    """The months a backtest without a cutoff holds out: ``months``, or as many as the history allows with the
    fit keeping its minimum -- the rule `cx simulate` stores its own backtest by (the default 12 on a 12-month
    history put the cutoff before the first buyer, and stopped on "0 buyers by then")."""
    from cxlib import simulate as _simulate
    from cxlib.engine import connect

    with connect(folder, read_only=True) as ws:
        held = _simulate.backtest_months(_simulate.complete_history(ws), months)
    if held < 1:
        raise DataError(f"{folder}: the history is too short to hold any month against the past; load more months")
    if held < months:
        typer.echo(f"the history leaves {held} months to hold against the past (not {months}): backtesting {held}")
    return held


def _advice(folder: Path, ranked, months: int) -> str:  # noqa: ANN001 - the frame simulate.build returns
    """What the report advises on these levers, held against the backtest `cx simulate` just stored."""
    from cxlib.engine import connect
    from cxlib.simulate.advice import strategy_advice

    with connect(folder, read_only=True) as ws:
        bt = ws.table("simulate_backtest").to_pandas() if ws.has("simulate_backtest") else None
    return strategy_advice(ranked, bt, months)[1]


def _print_backtest(bt) -> None:  # noqa: ANN001 - the frame simulate.backtest returns
    total = bt[bt["period"] == "total"]
    typer.echo(f"fitted up to {bt.attrs.get('cutoff')}, arrivals: {bt.attrs.get('arrivals')}; next months' revenue:")
    if bt.attrs.get("seasonality"):
        typer.echo(f"  calendar: {bt.attrs['seasonality']}")
    if bt.attrs.get("purchases"):
        typer.echo(f"  purchase history: {bt.attrs['purchases']}")
    for r in total.itertuples():
        typer.echo(f"  {r.model:<34} forecast {r.forecast:>14,.0f}  actual {r.actual:>14,.0f}  {r.pct_error:+.1%}")
    for model, why in (bt.attrs.get("skipped") or {}).items():
        typer.echo(f"  {model}: left out ({why})")


@app.command()
@_exclusive("voice")
def voice(
    folder: Folder,
    topics: Annotated[int | None, typer.Option(help="Number of topics (default: chosen by stability).")] = None,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    follow_up: Annotated[
        Path | None,
        typer.Option("--follow-up", help="Also write the customers to call back to this CSV (texts redacted)."),
    ] = None,
    personal: Annotated[
        bool,
        typer.Option(help="With --follow-up: keep the texts as written and add name, e-mail and phone."),
    ] = False,
) -> None:
    """What customers say: verbatims, topics, feedback drivers and the follow-up list (after cx unify).

    Example: cx voice data/demo --follow-up call_back.csv
    """
    from cxlib import voice as _voice
    from cxlib._frames import spreadsheet_safe

    t0 = time.perf_counter()
    try:
        result = _voice.build(folder, n_topics=topics, seed=seed)
    except DataError as e:
        _fail(e)
    typer.echo(result.summary())
    if follow_up is not None:
        calls = _voice.call_back_list(folder, result.follow_up, personal=personal)
        spreadsheet_safe(calls).to_csv(follow_up, index=False)  # a comment of "=HYPERLINK(...)" stays text
        kept = "with names, e-mails and phones" if personal else "texts redacted, no contact details"
        typer.echo(f"{len(calls):,} customers to call back written to {follow_up} ({kept})")
    typer.echo(f"voice built in {time.perf_counter() - t0:.1f}s")


@app.command()
def report(
    folder: Folder,
    out: Annotated[Path | None, typer.Option(help="HTML file to write.")] = None,
    title: Annotated[str, typer.Option(help="Report title.")] = "Customer journey report",
    include_pii: Annotated[
        bool, typer.Option("--include-pii", help="Keep names, e-mails, phones, addresses and raw ids.")
    ] = False,
    min_group_size: Annotated[
        int, typer.Option(help="Merge or leave out groups of fewer customers than this (0: off).")
    ] = 10,
) -> None:
    """Write the executive report: one HTML file that opens offline, personal data left out.

    Default output: FOLDER/reports/journey_report.html. Sections appear for the steps the workspace holds.

    Example: cx report data/demo --out reports/journey_report.html
    """
    from cxlib import report as _report
    from cxlib.io import has_workspace

    t0 = time.perf_counter()
    out = out or folder / "reports" / "journey_report.html"
    try:
        if not has_workspace(folder):
            raise DataError(f"{folder}: no workspace.duckdb; run `cx load {folder}` first")
        if _warn_stale(folder):  # said before the sections: what a stale step stored is worked out again (slower)
            typer.secho(f"the report works out again what a stale step stored (slower on a large workspace); "
                        f"`cx refresh {folder}` first brings every step up to date", fg=typer.colors.YELLOW, err=True)
        rep = _report.standard_report(
            folder, title=title, include_pii=include_pii, min_group_size=min_group_size, progress=True
        )
        path = rep.save(out)
    except (DataError, ValueError) as e:
        _fail(e)
    typer.echo(f"report written to {path} ({path.stat().st_size / 1e6:.1f} MB) in {time.perf_counter() - t0:.1f}s")
    if include_pii:
        typer.echo("warning: this report includes personal data; do not share it")


@app.command("personas")
@_exclusive("personas")
def personas_command(
    folder: Folder,
    n: Annotated[
        str, typer.Option("--personas", help="Number of personas, or 'auto' (chosen by silhouette).")
    ] = "auto",
    method: Annotated[str, typer.Option(help="kmeans or gmm.")] = "kmeans",
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
) -> None:
    """Find behavioural personas of the unified customers and write the `personas` table.

    Example: cx personas data/demo --personas auto
    """
    import pandas as pd

    from cxlib import personas as _personas

    t0 = time.perf_counter()
    try:
        k = n if n == "auto" else int(n)
        model = _personas.PersonaModel(n_personas=k, method=method, random_state=seed)
        model, profiles = _personas.write_personas(folder, model, random_state=seed)
    except (DataError, ValueError) as e:
        _fail(e)
    cols = ["name", "size", "share", "value", "revenue_share", "description"]
    with pd.option_context("display.width", 200, "display.max_colwidth", 90):
        typer.echo(profiles[cols].round(3).to_string(index=False))
    typer.echo(f"{model.n_personas_} personas written to table personas in {time.perf_counter() - t0:.1f}s")
    if note := _personas.thin_evidence(folder):  # a week of orders still fits and names groups: say what they stand on
        typer.echo(f"Note: {note}")
