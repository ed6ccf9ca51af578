"""The exercise: the archetypes and levers a candidate answers with, the questions, their tolerances, the rubric.

Every other part of the case reads these: the documents state them, the grader scores against them, the
scorecard prints them.

Examples
--------
>>> from cxlib.case.questions import QUESTIONS, RUBRIC
>>> [q.variable for q in QUESTIONS if q.task == 1]
['answer_real_customers']
>>> sorted(RUBRIC) == sorted(q.key for q in QUESTIONS if q.kind == "written")
True
"""

from __future__ import annotations

from dataclasses import dataclass

#: The persona archetypes a candidate answers with (task 3), described by behaviour only.
PERSONA_ARCHETYPES: dict[str, str] = {
    "loyal_app": "app loyalists: order often, mostly through the app",
    "deal_seeker": "deal seekers: subscribe to and open the marketing e-mails, mid-sized baskets",
    "service_reliant": "service-reliant customers: contact support often, before and after buying",
    "big_ticket": "big-ticket buyers: rare, large orders, often in a store",
    "window_shopper": "window shoppers: browse the website a lot, rarely buy, small baskets",
}

#: The levers a candidate chooses from (task 4).
LEVERS: dict[str, str] = {
    "fix_presale_service": "resolve every pre-sale question (customers with one convert like the others)",
    "fix_campaign_targeting": "fix or replace the acquisition campaign whose customers progress worst "
    "(they progress like everyone else)",
    "winback_rollout": "send the win-back offer to every at-risk customer, every month",
    "other": "something else: describe it in your strategy (the interviewer scores it)",
}

_STEPS = {
    "awareness_to_consideration": "awareness → consideration",
    "consideration_to_purchase": "consideration → purchase",
}
_CAUSES = {"marketing": "marketing (traffic or targeting)", "service": "service (let down before buying)"}


@dataclass(frozen=True)
class Question:
    """One answer the candidate gives: where it goes, what it is, how it is scored.

    ``kind`` is ``count`` (relative tolerance), ``share`` (absolute tolerance, 0-1), ``money`` (relative
    tolerance with a floor), ``choice`` (one of ``choices``) or ``written`` (the interviewer scores it).
    ``full`` and ``half`` are the tolerances for full and half points.
    """

    key: str
    task: int
    kind: str
    points: float
    prompt: str
    hint: str = ""
    choices: tuple[str, ...] = ()
    full: float = 0.0
    half: float = 0.0

    @property
    def variable(self) -> str:
        """The name of the answer variable in the notebooks."""
        return f"answer_{self.key}"


#: Every answer, in order. Quantitative ones are scored automatically; written ones by the interviewer.
QUESTIONS: tuple[Question, ...] = (
    Question(
        "real_customers",
        1,
        "count",
        2,
        "How many real customers does the company have?",
        "a whole number",
        full=0.05,
        half=0.15,
    ),
    Question(
        "dropoff_step",
        2,
        "choice",
        1,
        "At which step of the buyer journey do the most people drop out?",
        "one of: " + ", ".join(_STEPS),
        choices=tuple(_STEPS),
    ),
    Question(
        "dropoff_cause",
        2,
        "choice",
        1,
        "Is the excess drop-off at that step caused by marketing or by service?",
        "marketing or service",
        choices=tuple(_CAUSES),
    ),
    Question(
        "abandoners_share",
        2,
        "share",
        1,
        "What share of checkout abandoners had an unresolved pre-sale question before abandoning?",
        "a share between 0 and 1, e.g. 0.25 for 25%",
        full=0.05,
        half=0.15,
    ),
    Question(
        "most_valuable_persona",
        3,
        "choice",
        1,
        "Which persona is most valuable?",
        "one of: " + ", ".join(PERSONA_ARCHETYPES),
        choices=tuple(PERSONA_ARCHETYPES),
    ),
    Question(
        "most_at_risk_persona",
        3,
        "choice",
        1,
        "Which persona is most at risk?",
        "one of: " + ", ".join(PERSONA_ARCHETYPES),
        choices=tuple(PERSONA_ARCHETYPES),
    ),
    Question(
        "priority",
        3,
        "written",
        2,
        "Which persona do you prioritise, and why?",
        "a few sentences, with the numbers behind them",
    ),
    Question(
        "lever",
        4,
        "choice",
        1,
        "Which lever do you pull first?",
        "one of: " + ", ".join(LEVERS),
        choices=tuple(LEVERS),
    ),
    Question(
        "revenue_impact_12m",
        4,
        "money",
        2,
        "Its 12-month revenue impact according to the simulator (mean gain over the baseline)",
        "a number in the data's amount units",
        full=0.20,
        half=0.50,
    ),
    Question(
        "strategy",
        4,
        "written",
        3,
        "Your strategy: why this lever, the assumptions, the uncertainty band, the alternatives.",
        "a short paragraph or bullet points",
    ),
    Question(
        "activation_plan",
        5,
        "written",
        4,
        "The activation plan: who does what across marketing and service, and how impact will be measured.",
        "bullet points: owners, actions, order, measurement",
    ),
)
_BY_KEY = {q.key: q for q in QUESTIONS}
#: Money answers within this share of the baseline's 12-month revenue score as if within the tolerance
#: (full, half): a lever worth almost nothing must not demand a precise almost-nothing.
_MONEY_FLOOR = (0.005, 0.015)

#: What a strong, adequate and weak written answer contains (shown to the interviewer on the scorecard).
RUBRIC: dict[str, dict[str, str]] = {
    "priority": {
        "strong": "Picks one persona and defends it with numbers for both value and risk (its revenue share, "
        "its share of customers at risk); names the trade-off (protect the most valuable or rescue the "
        "most at risk) and what prioritising means in practice (budget, service level, journey fixes).",
        "adequate": "Picks a persona with one supporting number, or argues value or risk but not both.",
        "weak": "No numbers; a persona chosen by its name or a stereotype; prospects confused with customers.",
    },
    "strategy": {
        "strong": "The lever follows from the diagnosis of task 2; it is expressed as simulator levers with "
        "the assumption stated (e.g. affected customers convert like the others); the gain comes with its "
        "5-95% band and what the band does not cover (the model assumes the future moves like the past); at "
        "least one alternative is compared; the win-back campaign's measured uplift is read with its "
        "interval (not significant at this size is a valid finding).",
        "adequate": "A sensible lever and a number, without the band, the assumptions or an alternative.",
        "weak": "A lever unrelated to the findings; a number without a method; attribution read as causal.",
    },
    "activation_plan": {
        "strong": "Named owners in marketing, service and analytics/product with concrete actions and an "
        "order (30/60/90 days); a measurement plan with a randomised holdout or a staged rollout, a primary "
        "metric tied to the drop-off (e.g. consideration -> purchase conversion of customers who asked a "
        "pre-sale question, or of the campaign's customers), guardrail metrics, a readout date and how the "
        "result updates the journey map; how the departments share one view of the customer.",
        "adequate": "Owners and actions, but vague measurement (before/after without a comparison group).",
        "weak": "A generic list without owners, order or measurement.",
    },
}
