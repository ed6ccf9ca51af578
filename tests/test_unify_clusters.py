"""Over-merging of households: the household prior (``cxlib.unify.households``) and the refusal of joins that
chain conflicting birth dates (``cxlib.unify.clusters``), on small constructed cases."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from cxlib.unify import UnifyConfig
from cxlib.unify.clusters import (
    BELOW,
    BIRTH_DATES,
    CONTACT_POINTS,
    MERGED,
    accept,
    birth_dates_by_component,
    compatible_dates,
    compatible_many,
    contacts_by_component,
    decisions,
    join_components,
    kinds_held,
)
from cxlib.unify.households import (
    component_contacts,
    component_kinds,
    household_scores,
    household_share,
    household_shares,
)
from cxlib.unify.model import settings


def _matches(rows: list[tuple[str, str, str, str, float]]) -> pd.DataFrame:
    cols = ["record_a", "record_b", "component_a", "component_b", "match_probability"]
    return pd.DataFrame(rows, columns=cols)


# --- a household: Jean (born 1967) and Oscar (born 2000) Kowalski at one address, each with an email that
# links their own records; a helpdesk record of Jean's with the surname and the address only ------------------
HOUSEHOLD = pd.DataFrame(
    {
        "record": ["crm-jean", "hd-jean", "crm-oscar", "shop-oscar"],
        "component": ["email:jean", "email:jean", "email:oscar", "email:oscar"],
        "birth_date": ["19670409", None, "20000330", None],
    }
)


def test_a_record_without_birth_date_does_not_chain_two_people():
    dated = birth_dates_by_component(HOUSEHOLD)
    # the bare helpdesk record scores like a match with Oscar's records (same surname and address); Jean's and
    # Oscar's dated records were never scored as a match
    m = _matches([("crm-oscar", "hd-jean", "email:oscar", "email:jean", 0.9525),
                  ("hd-jean", "shop-oscar", "email:jean", "email:oscar", 0.9525)])
    assert not accept(m, 0.95, dated).any()
    assert accept(m, 0.95, None).all()  # without the check: one customer of two people


def test_a_conflict_the_model_weighed_itself_is_accepted():
    # a birth date entered wrongly (FEBRL's "value replaced"): the pair of the two dated records is itself a
    # strong match, so the model has weighed the conflict; a third record joins through either
    recs = pd.DataFrame({"record": ["org", "dup0", "dup1"], "component": ["org", "dup0", "dup1"],
                         "birth_date": ["19450603", "19820217", "19450603"]})
    m = _matches([("dup0", "org", "dup0", "org", 0.99999), ("dup1", "org", "dup1", "org", 0.999),
                  ("dup0", "dup1", "dup0", "dup1", 0.96)])
    assert accept(m, 0.95, birth_dates_by_component(recs)).all()


def test_a_record_without_contact_points_does_not_chain_two_customers_with_their_own():
    """Seed 25's two Samuel Browns at one address: each has a component with an e-mail and phone of their own
    (their CRM, shop and e-mail records) and no birth date on the first's; the acquired CRM's record of the
    second (names, address and birth date, no e-mail or phone) matches both -- its own person at 0.99999,
    the namesake's records at 0.993-0.996. It joins the stronger; the weaker join would make one customer
    of two that each hold an e-mail, and no match between those two was accepted."""
    recs = pd.DataFrame({
        "record": ["crm-1", "shop-1", "crm-2", "legacy-2"],
        "component": ["email:1", "email:1", "email:2", "record:legacy-2"],
        "email": ["samuelbrown@mail.example", "samuelbrown@mail.example", "samuelcollins@mail.example", None],
        "phone": ["441586679962", None, "447221607791", None],
    })  # fmt: skip
    kinds = component_kinds(recs)
    assert kinds.to_dict() == {"email:1": "email,phone", "email:2": "email,phone"}
    comps = recs.assign(contacts=recs["component"].map(kinds))
    held = contacts_by_component(comps)
    assert held == {"email:1": frozenset({"email", "phone"}), "email:2": frozenset({"email", "phone"})}
    m = _matches([("crm-2", "legacy-2", "email:2", "record:legacy-2", 0.999997),
                  ("legacy-2", "shop-1", "record:legacy-2", "email:1", 0.9961),
                  ("crm-1", "legacy-2", "email:1", "record:legacy-2", 0.9933)])
    assert accept(m, 0.95, {}, held).tolist() == [True, False, False]
    assert accept(m, 0.95, None, None).all()  # without the check: one customer of two people
    for frame in (m, m.iloc[::-1]):  # whatever the row order
        assert accept(frame, 0.95, {}, held).loc[[0, 1, 2]].tolist() == [True, False, False]
    # a match between the two customers themselves was accepted: the model weighed their contact points
    direct = pd.concat([m, _matches([("crm-1", "crm-2", "email:1", "email:2", 0.97)])], ignore_index=True)
    assert accept(direct, 0.95, {}, held).all()
    # one customer with an e-mail, the other with a phone only: nothing of the same kind to conflict
    assert accept(m, 0.95, {}, {"email:1": frozenset({"email"}), "email:2": frozenset({"phone"})}).all()


def test_the_strongest_match_decides_and_row_order_does_not():
    # a bare record h matches both a (0.97) and b (0.96), born decades apart: it joins a, b stays apart
    recs = pd.DataFrame({"record": ["a1", "h1", "b1"], "component": ["a", "h", "b"],
                         "birth_date": ["19670409", None, "20000330"]})
    m = _matches([("a1", "h1", "a", "h", 0.97), ("b1", "h1", "b", "h", 0.96)])
    dated = birth_dates_by_component(recs)
    assert join_components(m, dated).tolist() == [True, False]
    shuffled = m.iloc[::-1]
    assert join_components(shuffled, dated).loc[m.index].tolist() == [True, False]


@pytest.mark.parametrize(
    ("a", "b", "ok"),
    [
        ("19840307", "19840307", True),
        ("19840307", "19840703", True),  # day and month swapped
        ("19840307", "19840308", True),  # one typo
        ("19840307", "19850308", True),  # two typos
        ("19840307", "1984037", True),  # a digit lost in raw text
        ("19840307", "19610421", False),
        ("19670409", "20000330", False),
    ],
)
def test_compatible_birth_dates(a, b, ok):
    assert compatible_dates(a, b) is ok
    assert compatible_many([a, b], [b, a]).tolist() == [ok, ok]


def test_compatible_many_agrees_with_compatible_dates_pair_by_pair():
    """The vectorised check (numpy, no Python loop over pairs) gives what the per-pair one gives, on dates one
    to three random edits or swaps apart, day and month swapped, unrelated, of other lengths and characters."""
    rng = np.random.default_rng(3)

    def mutate(s: str) -> str:
        for _ in range(rng.integers(0, 4)):
            i, op, c = int(rng.integers(0, len(s) + 1)), rng.integers(0, 4), str(rng.integers(0, 10))
            s = [s[:i] + c + s[i:], s[:i] + s[i + 1 :], s[:i] + c + s[i + 1 :], s[:i] + s[i + 1 : i + 2] + s[i : i + 1]
                 + s[i + 2 :]][op]
        return s

    base = [f"19{rng.integers(10, 99)}{rng.integers(1, 13):02d}{rng.integers(1, 29):02d}" for _ in range(500)]
    a = base * 3 + ["", "1", "ü1984", "198403071234", "19840307"]
    b = [mutate(x) for x in base] + [x[:4] + x[6:] + x[4:6] for x in base] + list(rng.permutation(base))
    b += ["", "12", "1984", "19840307", "ü9840307"]
    expected = [compatible_dates(x, y) for x, y in zip(a, b, strict=True)]
    assert compatible_many(a, b).tolist() == expected
    assert compatible_many(pd.Series(a), pd.Series(b)).tolist() == expected
    assert 500 < sum(expected) < len(a) - 400  # both outcomes well represented
    assert compatible_many([], []).tolist() == []


def test_birth_dates_by_component_whatever_the_row_order():
    recs = pd.DataFrame({"record": ["r1", "r2", "r3", "r4", "r5"], "component": ["b", "a", "b", "c", "a"],
                         "birth_date": ["19670409", "20000330", None, "19500101", "20000303"]})
    pairs = pd.DataFrame({"component_a": ["a"], "component_b": ["b"]})
    for frame in (recs, recs.iloc[::-1]):
        dated = birth_dates_by_component(frame)
        assert {c: sorted(v) for c, v in dated.items()} == {
            "a": [("r2", "20000330"), ("r5", "20000303")], "b": [("r1", "19670409")], "c": [("r4", "19500101")]}
        assert dict(birth_dates_by_component(frame, pairs)) == {k: dated[k] for k in ("a", "b")}
        assert "z" not in dated and dated.get("z", ()) == ()


def _households(n: int, members: int, seed: int = 0) -> pd.DataFrame:
    """``n`` households of ``members`` people each (one record per person, each its own component) and, in
    each, a second record of the first member (same first name and birth date): of the pairs with the same
    surname and address, one in ``members * (members + 1) / 2`` is one person."""
    rng = np.random.default_rng(seed)
    rows = []
    for h in range(n):
        for p in range(members):
            born = f"{rng.integers(1940, 2005)}{rng.integers(1, 13):02d}{rng.integers(1, 29):02d}"
            person = {"first_name": f"name{h}x{p}", "birth_date": born}
            rows.append({"record": f"r{h}-{p}", **person})
            if p == 0:
                rows.append({"record": f"r{h}-{p}b", **person})
        for r in rows[-(members + 1):]:
            r.update(last_name=f"surname{h}", street_number="1", street="highst", postcode=f"AB{h}")
    return pd.DataFrame(rows).assign(component=lambda d: d["record"])


def test_the_household_share_is_estimated_from_the_data():
    # pairs of two-person households: 3 pairs each, 1 of them one person
    share = household_share(_households(200, 2))
    assert 1 / 3 < share < 1 / 3 + 0.1  # the upper end of its interval: a little above
    # a single person per address (FEBRL): no household, no correction
    assert household_share(_households(200, 1)) == 1.0
    # too few pairs to say: no correction
    assert household_share(_households(5, 2)) == 1.0


def _model(contact_points: bool = False) -> str:
    absent = frozenset() if contact_points else frozenset({"email", "phone"})
    model = settings(UnifyConfig(), absent).get_settings("duckdb").as_dict()
    for comp in model["comparisons"]:  # untrained: give every level an m and u
        for lvl in comp["comparison_levels"]:
            if not lvl.get("is_null_level"):
                exact = lvl.get("label_for_charts", "").startswith("Exact")
                lvl["m_probability"], lvl["u_probability"] = (0.6, 0.01) if exact else (0.05, 0.05)
                if comp["output_column_name"] in ("email", "phone") and not exact:  # different: 1 in 10 matches
                    lvl["m_probability"], lvl["u_probability"] = (0.1, 0.99)
    return json.dumps(model)


def test_namesakes_of_one_household_with_their_own_email_and_phone_stay_apart():
    """Two Ruby Taylors at one address (a parent and a child): the same names and address, a different e-mail
    and phone each. What a household does not share caps the score: the different contact points pull it
    under the threshold; without e-mails or phones on record the pair stays over it."""
    gammas = {"gamma_first_name": [6, 6], "gamma_birth_date": [-1, -1], "gamma_last_name": [5, 5],
              "gamma_address": [6, 6], "gamma_email": [0, -1], "gamma_phone": [0, -1]}  # fmt: skip
    pred = pd.DataFrame({"match_probability": [0.996, 0.996], **gammas})
    p = household_scores(pred, _model(contact_points=True), share=0.7)
    assert p[0] < 0.95 < p[1]


def test_the_share_is_lower_where_both_records_hold_a_contact_point():
    """Each member's record has an e-mail of their own; the first member's second record (another system's,
    the same first name and birth date) has none. Records in different components never share an e-mail, so
    the pairs whose records both hold one are members of one household, none of them one person: their
    share is near 0 while that of all pairs stays about 1 in 3."""
    recs = _households(200, 2)
    recs["email"] = np.where(recs["record"].str.endswith("b"), None, recs["record"] + "@mail.example")
    share, contact = household_shares(recs)
    assert share == household_share(recs) and 1 / 3 < share < 1 / 3 + 0.1
    assert 0 < contact < 0.1  # above 0: a few pairs never prove that no pair can be one person
    assert household_shares(recs.iloc[::-1]) == (share, contact)  # whatever the row order
    # no contact points, or too few pairs with them on both sides to say: one share for all
    assert household_shares(recs.drop(columns="email")) == (share, share)
    few = recs.assign(email=np.where(recs["record"].isin(["r0-0", "r0-1", "r1-0", "r1-1"]), recs["email"], None))
    assert household_shares(few) == (share, share)


def test_namesakes_each_with_their_own_email_and_no_birth_date_stay_apart():
    """The false merges left on the generator's seed 12 (two Rebecca Müllers, born 1958 and 1969, at one
    address): the same first name, surname and address, a different e-mail each, no birth date on either
    record. With the share of all same-address pairs (0.78) the first name outweighs the different e-mails;
    with the share of pairs that both hold an e-mail (0.17 there) it does not. A record without e-mail (the
    acquired CRM's) matching on the same evidence still merges."""
    gammas = {"gamma_first_name": [6, 6], "gamma_birth_date": [-1, -1], "gamma_last_name": [5, 5],
              "gamma_address": [6, 6], "gamma_email": [0, -1], "gamma_phone": [-1, -1]}  # fmt: skip
    pred = pd.DataFrame({"match_probability": [0.97, 0.97], **gammas})
    model = _model(contact_points=True)
    before = household_scores(pred, model, share=0.78)
    assert (before > 0.95).all()  # one share for all pairs: the namesakes merged
    p = household_scores(pred, model, share=0.78, contact_share=0.17)
    assert p[0] < 0.6 and p[1] == pytest.approx(0.97)
    # a birth date of the person on both sides still merges a pair with different e-mails
    dated = pred.assign(gamma_birth_date=6)
    assert household_scores(dated, model, share=0.78, contact_share=0.17)[0] == pytest.approx(0.97)


def test_namesakes_whose_components_each_hold_an_email_stay_apart():
    """Seed 23's two Thomas Bennetts at one address: the pair the model scored (0.995) is one's loyalty card
    (a birth date and a phone, no e-mail) and the other's shop account (an e-mail, no phone, no birth date),
    so the two records hold no contact point of the same kind -- but each record's component does: the
    loyalty card's holds the first Thomas's e-mail (his CRM record), the shop account's the second's. The
    customers each have their own e-mail, and the pair takes the share of such pairs."""
    recs = pd.DataFrame({
        "record": ["loy-1", "crm-1", "shop-2", "crm-2", "legacy-3"],
        "component": ["phone:1", "phone:1", "email:2", "email:2", "record:legacy-3"],
        "email": [None, "thomas.martin@mail.example", "thomas.bennett@mail.example", "thomas.bennett@mail.example",
                  None],
        "phone": ["447206217154", "447206217154", None, "447731382933", None],
    })  # fmt: skip
    held = component_contacts(recs)
    assert held.loc["loy-1"].tolist() == [True, True] and held.loc["legacy-3"].tolist() == [False, False]
    gammas = {"gamma_first_name": [6, 6], "gamma_birth_date": [-1, -1], "gamma_last_name": [5, 5],
              "gamma_address": [6, 6], "gamma_email": [-1, -1], "gamma_phone": [-1, -1]}  # fmt: skip
    pred = pd.DataFrame({"record_a": ["loy-1", "legacy-3"], "record_b": ["shop-2", "shop-2"],
                         "match_probability": [0.995, 0.995], **gammas})  # fmt: skip
    model = _model(contact_points=True)
    p = household_scores(pred, model, share=0.78, contact_share=0.1, held=held)
    assert p[0] < 0.95  # each customer with an e-mail of their own: apart
    assert p[1] > 0.95  # the acquired CRM's record (no e-mail or phone in its component) still merges
    assert (household_scores(pred, model, share=0.78, contact_share=0.1) > 0.95).all()  # by the records alone
    # the same by splink's own id columns (the waterfall's)
    ids = pred.rename(columns={"record_a": "unique_id_l", "record_b": "unique_id_r"})
    assert household_scores(ids, model, share=0.78, contact_share=0.1, held=held).tolist() == p.tolist()


def test_surname_and_address_alone_do_not_merge_in_a_household():
    # the bare record against a household member (no first name, no birth date: gamma -1), and a pair that
    # also agrees on the first name; both scored 0.96 by the model on surname and address
    pred = pd.DataFrame({"match_probability": [0.96, 0.96], "gamma_first_name": [-1, 6],
                         "gamma_birth_date": [-1, -1], "gamma_last_name": [5, 5], "gamma_address": [6, 6]})
    p = household_scores(pred, _model(), share=0.7)
    assert p[0] == pytest.approx(0.7) and p[1] == pytest.approx(0.96)
    # without households the model's scores stand
    assert household_scores(pred, _model(), share=1.0).tolist() == [0.96, 0.96]


def test_a_record_joins_a_customer_that_already_holds_its_birth_date():
    """splink's fake_1000, person 31: Oliver Atkinson's records share one e-mail, so they are one component
    already, born 2009-12-21 on three and 2010-01-20 on one (a typo). His record without the e-mail, born
    2009-12-21, matches them at 0.998: its date is one the component holds, so it adds no conflict. A record
    born decades apart still stays out."""
    recs = pd.DataFrame({"record": ["110", "112", "114", "111", "other"],
                         "component": ["email:oa", "email:oa", "email:oa", "record:111", "record:other"],
                         "birth_date": ["20091221", "20100120", "20091221", "20091221", "19610421"]})
    m = _matches([("111", "114", "record:111", "email:oa", 0.998), ("110", "other", "email:oa", "record:other", 0.97)])
    assert accept(m, 0.95, birth_dates_by_component(recs)).tolist() == [True, False]


def test_a_chain_of_matches_between_e_mail_holders_joins_them():
    """splink's fake_1000, person 34: three components, each holding an e-mail of its own (typos of one
    address: ``dmacdoald@riverb-glass.siz``, ``dmacdonald@rivers-glass.biz``, ``dmacdonald@rivers-glass.bi``),
    matched first-second and second-third. The third joins the customer of the first two: its match with the
    second, an e-mail holder of that customer, vouches for it. Two namesakes joined only through a record
    without contact points still stay apart (the Samuel Browns above)."""
    held = {c: frozenset({"email"}) for c in ("email:1", "email:2", "email:3")}
    m = _matches([("118", "119", "email:1", "email:2", 0.98), ("119", "121", "email:2", "email:3", 0.953)])
    assert accept(m, 0.95, {}, held).all()
    assert accept(m.iloc[::-1], 0.95, {}, held).all()
    bridged = _matches([("a", "r", "email:1", "record:r", 0.99), ("r", "b", "record:r", "email:2", 0.98)])
    assert accept(bridged, 0.95, {}, held).tolist() == [True, False]


def test_each_scored_pair_says_what_became_of_it():
    """``decisions``: merged, below the threshold, or which guard refused the join -- what ``unify_matches``
    keeps as ``decision`` so that a pair scored 0.99 and kept apart says why."""
    dated = birth_dates_by_component(HOUSEHOLD)
    m = _matches([("crm-oscar", "hd-jean", "email:oscar", "email:jean", 0.9525),
                  ("hd-jean", "shop-oscar", "email:jean", "email:oscar", 0.9525),
                  ("crm-jean", "x", "email:jean", "record:x", 0.7)])
    assert decisions(m, 0.95, dated).tolist() == [BIRTH_DATES, BIRTH_DATES, BELOW]
    held = {"email:1": frozenset({"email"}), "email:2": frozenset({"email"})}
    m = _matches([("crm-2", "legacy-2", "email:2", "record:legacy-2", 0.999997),
                  ("legacy-2", "shop-1", "record:legacy-2", "email:1", 0.9961)])
    assert decisions(m, 0.95, {}, held).tolist() == [MERGED, CONTACT_POINTS]
    assert (decisions(m, 0.95, {}, held) == MERGED).tolist() == accept(m, 0.95, {}, held).tolist()


@pytest.mark.parametrize("dtype", [object, "string"])
def test_kinds_held_is_each_components_own_set_of_kinds(dtype):
    """One frozenset per spelling, shared between components: the same mapping as a set per component, with
    missing and empty kinds left out, whatever the Series' dtype."""
    rng = np.random.default_rng(0)
    spellings = np.array(["email", "email,phone", "phone", "", None], dtype=object)
    kinds = pd.Series(rng.choice(spellings, 500), index=[f"c{i}" for i in range(500)]).astype(dtype)
    want = {c: frozenset(k.split(",")) for c, k in kinds.items() if isinstance(k, str) and k}
    got = kinds_held(kinds)
    assert got == want and list(got) == list(want)
    assert kinds_held(kinds.iloc[:0]) == {}
