"""Strategy: a journey model fitted from stage histories, and journey changes simulated against revenue.

:class:`JourneyModel` estimates, per segment (e.g. persona), the monthly stage-to-stage transition
probabilities with a Dirichlet posterior on the transition counts, and the revenue per customer-month in each
stage with a conjugate normal posterior on its mean. :func:`simulate` propagates the stage distribution
exactly (matrix products, no per-customer Monte Carlo) under each :class:`Scenario`, for every posterior
draw at once, and reports revenue and customers by stage with 5-95% bands and the difference to the baseline
(computed draw by draw, so that shared uncertainty cancels). The absorbing-chain algebra (``(I - Q)^-1``)
gives the expected months to absorption and the customer lifetime value per stage.

The parts: :mod:`~cxlib.simulate.model` (the journey model), :mod:`~cxlib.simulate.scenarios` (levers and
presets), :mod:`~cxlib.simulate.run` (propagating scenarios, comparing them), :mod:`~cxlib.simulate.arrivals`
(new customers: a model of the observed arrival series, chosen by backtest), :mod:`~cxlib.simulate.backtest`
(the forecast held against what happened, beside naive forecasts and BG/NBD), :mod:`~cxlib.simulate.figures`
and :mod:`~cxlib.simulate.workspace` (the panel from a workspace, the model ``cx simulate`` fits, the step).

Examples
--------
>>> import pandas as pd
>>> from cxlib import simulate
>>> h = pd.DataFrame({"customer_id": ["a", "a", "a", "b", "b"],
...                   "month": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-03-01"] * 1 + ["2024-01-01",
...                                            "2024-02-01"]),
...                   "stage": ["consideration", "purchase", "onboarding", "consideration", "lost"],
...                   "revenue": [0.0, 50.0, 0.0, 0.0, 0.0]})
>>> m = simulate.JourneyModel(prior=0.0).fit(h)
>>> round(float(m.transition_matrix_.loc["consideration", "purchase"]), 2)
0.5
"""

from __future__ import annotations

from cxlib.simulate.arrivals import arrival_history, arrivals_table, choose_arrivals, parse_arrivals
from cxlib.simulate.backtest import (
    backtest,
    backtest_error,
    backtest_months,
    backtest_words,
    error_words,
    plan_verdict,
    stored_backtest,
    workspace_backtest,
)
from cxlib.simulate.figures import arrivals_figure, backtest_figure, fan_chart, future_state_figure
from cxlib.simulate.model import POOL, PROSPECT_STAGES, JourneyModel
from cxlib.simulate.plans import PLANS_FILE, delete_plan, save_plan, saved_plans
from cxlib.simulate.purchase_choice import choose_purchases, purchase_words
from cxlib.simulate.run import MONEY_COLUMNS, WHOLE_COLUMNS, compare, simulate
from cxlib.simulate.scenarios import (
    PRESETS,
    Scenario,
    baseline_customers,
    lever_reach,
    lever_size,
    reach_words,
    service_failure_lever,
)
from cxlib.simulate.workspace import (
    SERVICE_FIX,
    build,
    check_history,
    cohort_segments,
    complete_history,
    history_from_workspace,
    last_complete_month,
    persona_model,
    stored_scenarios,
    workspace_scenarios,
)

__all__ = [
    "SERVICE_FIX",
    "MONEY_COLUMNS",
    "WHOLE_COLUMNS",
    "PLANS_FILE",
    "POOL",
    "PRESETS",
    "PROSPECT_STAGES",
    "JourneyModel",
    "Scenario",
    "arrival_history",
    "arrivals_figure",
    "arrivals_table",
    "backtest",
    "backtest_error",
    "backtest_months",
    "backtest_words",
    "error_words",
    "plan_verdict",
    "stored_backtest",
    "stored_scenarios",
    "workspace_scenarios",
    "workspace_backtest",
    "backtest_figure",
    "parse_arrivals",
    "check_history",
    "choose_arrivals",
    "choose_purchases",
    "purchase_words",
    "cohort_segments",
    "complete_history",
    "last_complete_month",
    "baseline_customers",
    "lever_reach",
    "lever_size",
    "reach_words",
    "compare",
    "delete_plan",
    "fan_chart",
    "future_state_figure",
    "history_from_workspace",
    "build",
    "persona_model",
    "save_plan",
    "saved_plans",
    "service_failure_lever",
    "simulate",
]
