"""Saved plans persist in the workspace folder: round trip, replace, delete, hostile files, concurrent saves."""

from __future__ import annotations

import json
import multiprocessing

import pytest

from cxlib import simulate
from cxlib.schema import DataError
from cxlib.simulate import Scenario

S = Scenario


def _plan(name: str) -> Scenario:
    return S(name, [S.scale("consideration", "purchase", 1.2, ["A"]), S.aov(1.05, ["purchase"]), S.cut("at_risk",
             "churned", 0.05), S.arrivals(0.9), S.move("email", "web", 0.2)])  # fmt: skip


def test_plans_survive_a_reload_and_replace_by_name(tmp_path):
    assert simulate.saved_plans(tmp_path) == []
    simulate.save_plan(tmp_path, _plan("a"))
    simulate.save_plan(tmp_path, S("b", []))
    assert simulate.saved_plans(tmp_path) == [_plan("a"), S("b", [])]  # levers come back exactly
    simulate.save_plan(tmp_path, S("a", [S.aov(1.2)]))
    assert [(p.name, p.levers) for p in simulate.saved_plans(tmp_path)] == [("b", []), ("a", [S.aov(1.2)])]
    assert simulate.delete_plan(tmp_path, "b") == [S("a", [S.aov(1.2)])]
    assert [p.name for p in simulate.saved_plans(tmp_path)] == ["a"]


@pytest.mark.parametrize(
    "content",
    [
        "{not json",
        '{"plans": 3}',
        '{"plans": [{"name": "x", "levers": [["drop table", "a", "b", 1.0, []]]}]}',
        '{"plans": [{"name": "x", "levers": [["scale", "a", "b", NaN, []]]}]}',
        '{"plans": [{"name": "x", "levers": [["scale", "a", "b", "1.0", []]]}]}',
        '{"plans": [{"name": "' + "x" * 500 + '", "levers": []}]}',
    ],
)
def test_a_broken_or_hostile_plans_file_is_a_clear_error(tmp_path, content):
    (tmp_path / simulate.PLANS_FILE).write_text(content)
    with pytest.raises(DataError, match="plans.json"):
        simulate.saved_plans(tmp_path)


def test_a_failed_write_leaves_the_saved_plans_as_they_were(tmp_path, monkeypatch):
    simulate.save_plan(tmp_path, _plan("a"))
    before = (tmp_path / simulate.PLANS_FILE).read_text()

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(json, "dump", full_disk)
    with pytest.raises(OSError):
        simulate.save_plan(tmp_path, _plan("b"))
    assert (tmp_path / simulate.PLANS_FILE).read_text() == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".plans.json.") and "lock" not in p.name] == []


def _save_many(folder, k):
    for i in range(5):
        simulate.save_plan(folder, S(f"p{k}-{i}", [S.aov(1 + k / 100)]))


def test_pages_saving_at_once_lose_no_plan(tmp_path):
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_save_many, args=(tmp_path, k)) for k in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    assert sorted(p.name for p in simulate.saved_plans(tmp_path)) == sorted(f"p{k}-{i}" for k in range(4)
                                                                           for i in range(5))  # fmt: skip
