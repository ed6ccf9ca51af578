"""The step Sankey as a CJO reads it: figure JSON on a hand-made stream with known counts.

10 customers: 4 go awareness → consideration → purchase, 3 awareness → consideration, 2 stop at awareness,
1 goes consideration → purchase. At 3 steps the columns are: start 10; awareness 9, consideration 1;
consideration 7, purchase 1, left 2; purchase 4, left 4.
"""

from __future__ import annotations

import pandas as pd
import pytest

from cxlib import journeys as j
from cxlib.journeys.figures import PALETTE, STAGE_COLORS, sankey_colors


def _stream() -> pd.DataFrame:
    paths = {"awareness consideration purchase": 4, "awareness consideration": 3, "awareness": 2,
             "consideration purchase": 1}  # fmt: skip
    rows, n = [], 0
    for path, count in paths.items():
        for _ in range(count):
            n += 1
            rows += [(f"c{n:02d}", pd.Timestamp("2024-01-01") + pd.Timedelta(days=d), e)
                     for d, e in enumerate(path.split())]  # fmt: skip
    return pd.DataFrame(rows, columns=["customer_id", "ts", "event"])


EV = _stream()


def _nodes(sk) -> list[tuple[float, str, str]]:
    """(x, colour, hover) per node."""
    return list(zip(sk.node.x, sk.node.color, sk.node.customdata, strict=True))


def _column(sk, k: int) -> list[str]:
    xs = sorted(set(sk.node.x))
    return [h for x, _c, h in _nodes(sk) if x == xs[k]]


def test_nodes_count_people_in_words():
    sk = j.sankey(EV, max_steps=3).data[0]
    assert _column(sk, 0) == ["<b>start</b><br>10 customers begin here"]
    assert _column(sk, 1) == ["<b>awareness</b> at step 1<br>9 customers (90% of 10)",
                              "<b>consideration</b> at step 1<br>1 customer (10% of 10)"]  # fmt: skip
    assert _column(sk, 2) == ["<b>consideration</b> at step 2<br>7 customers (70% of 10)",
                              "<b>purchase</b> at step 2<br>1 customer (10% of 10)",
                              "<b>left</b> after step 1<br>2 customers (20% of 10) had no step 2"]  # fmt: skip
    assert _column(sk, 3) == ["<b>purchase</b> at step 3<br>4 customers (40% of 10)",
                              "<b>left</b> after step 2<br>4 customers (40% of 10) had no step 3"]  # fmt: skip


def test_links_say_who_went_where():
    sk = j.sankey(EV, max_steps=3).data[0]
    hover = dict(zip(sk.link.customdata, sk.link.value, strict=True))
    assert hover["7 customers (70%) went awareness → consideration (step 1 → 2)<br>78% of the 9 at awareness"] == 7
    assert hover["2 customers (20%) left after awareness (step 1)<br>22% of the 9 at awareness"] == 2
    assert hover["9 customers (90%) started with awareness"] == 9
    assert hover["3 customers (30%) left after consideration (step 2)<br>43% of the 7 at consideration"] == 3
    assert sum(sk.link.value) == j.sankey_links(EV, max_steps=3)["value"].sum()
    assert sk.link.hovertemplate == sk.node.hovertemplate == "%{customdata}<extra></extra>"


@pytest.mark.parametrize("steps", [3, 5, 8])
def test_one_left_node_per_step_and_no_jargon(steps):
    fig = j.sankey(EV, max_steps=steps)
    sk = fig.data[0]
    lefts = [x for x, _c, h in _nodes(sk) if h.startswith("<b>left</b>")]
    assert len(lefts) == len(set(lefts)), "one left node per column"
    assert len(lefts) == min(steps - 1, 3)  # paths are at most 3 long: a left node after steps 1, 2 (and 3)
    notes = [a.text for a in fig.layout.annotations]
    text = " ".join([*sk.node.label, *sk.node.customdata, *sk.link.customdata, *notes])
    assert "path_start" not in text and "path_end" not in text and "_" not in text


def test_one_colour_per_stage_in_every_column_links_take_their_source_colour():
    sk = j.sankey(EV, max_steps=3).data[0]
    names = [h.split("</b>")[0].removeprefix("<b>") for h in sk.node.customdata]
    for name, colour in zip(names, sk.node.color, strict=True):
        if name in STAGE_COLORS:
            assert colour == STAGE_COLORS[name]
    assert len({c for n, c in zip(names, sk.node.color, strict=True) if n == "left"}) == 1
    src_colour = [sk.node.color[s] for s in sk.link.source]
    for link_colour, hover, node_colour in zip(sk.link.color, sk.link.customdata, src_colour, strict=True):
        assert link_colour.startswith("rgba(") and link_colour.endswith(",0.35)")
        if "started with" not in hover:
            r, g, b = (int(node_colour[i : i + 2], 16) for i in (1, 3, 5))
            assert link_colour == f"rgba({r},{g},{b},0.35)"


def test_palette_has_enough_distinct_colours_and_compare_halves_agree():
    names = [f"event_{i:02d}" for i in range(15)]
    assert len(set(sankey_colors(names).values())) == 15 and len(PALETTE) >= 13
    ev = EV.assign(seg=["s" if int(c[1:]) % 2 else "t" for c in EV.customer_id])
    both = j.sankey(ev, max_steps=3, compare=("seg", "s", "t"))
    colours = [dict(zip(tr.node.customdata, tr.node.color, strict=True)) for tr in both.data]
    by_name = [{h.split("</b>")[0]: c for h, c in d.items()} for d in colours]
    for name in set(by_name[0]) & set(by_name[1]):
        assert by_name[0][name] == by_name[1][name]


def test_labels_only_where_they_fit_short_names_full_text_in_hover():
    long = EV.replace({"awareness": "a_remarkably_long_event_name_that_would_collide"})
    eight = pd.DataFrame({"customer_id": "c99", "ts": pd.date_range("2024-01-01", periods=8), "event": "x"})
    sk = j.sankey(pd.concat([long, eight], ignore_index=True), max_steps=8).data[0]  # 9 columns: ~15 characters each
    assert all(len(label.split("<br>")[0]) <= 16 for label in sk.node.label)
    assert any(label.startswith("a remarkably l") and "…" in label for label in sk.node.label)
    assert any("a remarkably long event name that would collide" in h for h in sk.node.customdata)
    # a tiny node (1 of 201 customers, two pixels) carries no label; its hover still counts it
    many = pd.DataFrame({"customer_id": [f"p{i}" for i in range(201)], "ts": pd.Timestamp("2024-01-01"),
                         "event": ["big"] * 200 + ["tiny"]})  # fmt: skip
    sk = j.sankey(many, max_steps=2).data[0]
    labels = dict(zip(sk.node.customdata, sk.node.label, strict=True))
    assert labels["<b>tiny</b> at step 1<br>1 customer (0% of 201)"] == ""
    assert labels["<b>big</b> at step 1<br>200 customers (100% of 201)"] == "big<br>200 · 100%"


def test_sankey_customers_behind_nodes_and_links():
    kw = {"max_steps": 3}
    ids = lambda **k: j.sankey_customers(EV, **k, **kw)["customer_id"].tolist()  # noqa: E731
    assert ids(step=1, link=("awareness", "consideration")) == [f"c{i:02d}" for i in range(1, 8)]
    assert ids(step=1, link=("awareness", "left")) == ["c08", "c09"]
    assert ids(step=1, link=("awareness", "path_end")) == ["c08", "c09"]
    assert ids(step=0, link=("start", "consideration")) == ["c10"]
    assert ids(step=2, node="left") == ["c08", "c09"]
    assert len(ids(step=3, node="left")) == 4
    assert ids(step=3, node="purchase") == ["c01", "c02", "c03", "c04"]
    assert len(ids(step=0, node="start")) == 10
    with pytest.raises(ValueError, match="either"):
        j.sankey_customers(EV, step=1)
