"""The stage map: which rules turn touchpoints into journey stages, and which map applies.

A :class:`StageMap` is a documented dict (:data:`DEFAULT_STAGE_MAP`), editable as YAML. **One** function,
:func:`resolve_stage_map`, says which map applies to a call: the one passed, else the one the rows were
staged with (:func:`~cxlib.journeys.staged_touchpoints` records it), else the workspace's ``stage_map.yml``,
else the default. Every entry point of :mod:`cxlib.journeys` calls it.

Examples
--------
>>> resolve_stage_map({"inactivity": {"at_risk_days": 20}}).inactivity["at_risk_days"]
20
>>> resolve_stage_map(None).outbound_events == OUTBOUND_EVENTS
True
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ibis
from ibis.expr import operations as ops

from cxlib.engine import Workspace
from cxlib.schema import STAGES, DataError

__all__ = [
    "BUYER_STAGES",
    "CUSTOMER_STAGES",
    "DEFAULT_STAGE_MAP",
    "OUTBOUND_EVENTS",
    "StageMap",
    "StageMapLike",
    "record_stage_map",
    "resolve_stage_map",
    "workspace_stage_map",
]

BUYER_STAGES: tuple[str, ...] = ("awareness", "consideration", "purchase", "lost")
CUSTOMER_STAGES: tuple[str, ...] = ("onboarding", "repeat", "advocate", "at_risk", "churned", "win_back")
#: Stage codes: a stage's position in :data:`~cxlib.schema.STAGES` (the engine computes on codes, names last).
CODE: dict[str, int] = {s: i for i, s in enumerate(STAGES)}

#: Company-initiated touches: they carry a stage but do not count as the customer being active. The one
#: definition: the stage map's default ``outbound_events``, and what :mod:`cxlib.simulate` should import.
OUTBOUND_EVENTS: tuple[str, ...] = ("email_sent", "email_holdout")

#: The default stage map. Conditions in a rule are combined with AND; lists mean "one of".
DEFAULT_STAGE_MAP: dict[str, Any] = {
    # Company-initiated touches: they carry a stage but do not count as the customer being active.
    "outbound_events": list(OUTBOUND_EVENTS),
    # What counts as a purchase (any one of these). The first one ends the buyer journey.
    "purchase": [
        {"table_name": ["orders"], "status": ["completed", "returned"]},
        {"event": ["purchase"]},
    ],
    # Buyer journey, first match wins; the stage only moves forward until the first purchase.
    "buyer": [
        {
            "stage": "consideration",
            "event": ["product_view", "add_to_cart", "checkout_start", "login", "app_open", "store_visit"],
        },
        {"stage": "consideration", "topic": ["pre_sale_question"]},
        {"stage": "consideration", "event": ["email_click"]},
        {"stage": "awareness"},
    ],
    # Customer journey, first match wins. Special keys: ``after_gap_days`` (an inbound touch after that long
    # without one starts the stage, which lasts ``for_days``), ``within_days`` (a matching touch in the last
    # N days), ``max_days_since_first_purchase`` and ``min_purchases``.
    "customer": [
        {"stage": "win_back", "after_gap_days": 120, "for_days": 90},
        {"stage": "advocate", "event": ["referral"], "within_days": 180},
        {"stage": "advocate", "nps_min": 9, "within_days": 180},
        {"stage": "onboarding", "max_days_since_first_purchase": 30},
        {"stage": "repeat"},
    ],
    # Days since the last inbound touch after which a customer is at risk or churned, and a prospect lost.
    "inactivity": {"at_risk_days": 60, "churned_days": 120, "lost_days": 120},
}

ROW_CONDITIONS = ("event", "channel", "table_name", "source", "status", "topic", "campaign", "return_reason")
_RULE_KEYS = {
    "stage",
    *ROW_CONDITIONS,
    "resolved",
    "nps_min",
    "nps_max",
    "csat_min",
    "csat_max",
    "within_days",
    "after_gap_days",
    "for_days",
    "max_days_since_first_purchase",
    "min_purchases",
}


@dataclass(frozen=True)
class StageMap:
    """A validated stage map: how touchpoints map to journey stages (see :data:`DEFAULT_STAGE_MAP`).

    Examples
    --------
    >>> sm = StageMap.from_any({"inactivity": {"at_risk_days": 45}})
    >>> sm.inactivity["at_risk_days"], sm.inactivity["churned_days"]
    (45, 120)
    """

    outbound_events: tuple[str, ...]
    purchase: tuple[dict, ...]
    buyer: tuple[dict, ...]
    customer: tuple[dict, ...]
    inactivity: dict

    @classmethod
    def from_any(cls, spec: StageMap | Mapping | str | Path | None = None) -> StageMap:
        """Build from ``None`` (the default), a dict (merged over the default, key by key) or a YAML file."""
        if isinstance(spec, StageMap):
            return spec
        if isinstance(spec, (str, Path)):
            import yaml

            spec = yaml.safe_load(Path(spec).read_text()) or {}
        merged = copy.deepcopy(DEFAULT_STAGE_MAP)
        for k, v in (spec or {}).items():
            if k not in merged:
                raise DataError(f"stage map: unknown key {k!r}; expected one of {sorted(merged)}")
            merged[k] = {**merged[k], **v} if isinstance(merged[k], dict) else v
        for part in ("buyer", "customer"):
            allowed = BUYER_STAGES if part == "buyer" else CUSTOMER_STAGES
            for rule in merged[part]:
                bad = set(rule) - _RULE_KEYS
                if bad:
                    raise DataError(f"stage map: {part} rule {rule} has unknown keys {sorted(bad)}")
                if rule.get("stage") not in allowed:
                    raise DataError(
                        f"stage map: {part} rule {rule} names stage {rule.get('stage')!r}; "
                        f"the {part} journey has {list(allowed)}"
                    )
        return cls(
            outbound_events=tuple(merged["outbound_events"]),
            purchase=tuple(merged["purchase"]),
            buyer=tuple(merged["buyer"]),
            customer=tuple(merged["customer"]),
            inactivity=dict(merged["inactivity"]),
        )

    def to_dict(self) -> dict:
        """The map as plain data (what ``yaml.safe_dump`` writes)."""
        return {
            "outbound_events": list(self.outbound_events),
            "purchase": [dict(r) for r in self.purchase],
            "buyer": [dict(r) for r in self.buyer],
            "customer": [dict(r) for r in self.customer],
            "inactivity": dict(self.inactivity),
        }


#: What a ``stage_map`` argument may be: a :class:`StageMap`, a dict merged over the default, a YAML path, None.
StageMapLike = StageMap | Mapping | str | Path | None

#: The map each staged table was staged with, by its source table (see :func:`record_stage_map`).
_STAGED_WITH: dict[ops.Node, StageMap] = {}


def record_stage_map(staged: ibis.Table, stage_map: StageMap) -> ibis.Table:
    """Remember that the rows of the materialised table ``staged`` carry stages of ``stage_map``.

    Any expression built on ``staged`` (a filter, a selection) then resolves to that map, so a function
    given those rows judges time (inactivity windows, onboarding) with the map they were staged with.
    """
    for node in staged.op().find(ops.DatabaseTable):
        _STAGED_WITH[node] = stage_map
    return staged


def _recorded(rows: Any) -> StageMap | None:
    if not isinstance(rows, ibis.Table):
        return None
    found = [_STAGED_WITH[n] for n in rows.op().find(ops.DatabaseTable) if n in _STAGED_WITH]
    return found[0] if found and all(f == found[0] for f in found) else None


def workspace_stage_map(workspace: Workspace | None) -> Path | None:
    """The workspace folder's ``stage_map.yml``, when it has one."""
    folder = getattr(workspace, "folder", None)
    path = Path(folder) / "stage_map.yml" if folder is not None else None
    return path if path is not None and path.exists() else None


def resolve_stage_map(
    stage_map: StageMapLike = None, rows: Any = None, workspace: Workspace | None = None
) -> StageMap:
    """The stage map that applies: ``stage_map`` when given, else the map ``rows`` were staged with, else the
    workspace's ``stage_map.yml``, else :data:`DEFAULT_STAGE_MAP`.

    Examples
    --------
    >>> resolve_stage_map().inactivity["churned_days"]
    120
    """
    if stage_map is not None:
        return StageMap.from_any(stage_map)
    recorded = _recorded(rows)
    if recorded is not None:
        return recorded
    return StageMap.from_any(workspace_stage_map(workspace))
