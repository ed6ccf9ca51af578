"""Made-up exports, mutated at random (fields replaced by hostile values, lines cut, doubled or dropped, headers
shuffled, whole columns of one odd value, other encodings), run through every step as a user runs them: each step
either works or stops with a clear error (``DataError``, exit code 2), never a traceback.

Running this over a few hundred seeds (5 December) found nine ways a step failed with a traceback or silently did
the wrong thing; each has its own test where it was fixed (test_io_robust, test_io, test_unify_model,
test_voice). These seeds keep the whole chain honest.
"""

from __future__ import annotations

import random

import click
import pytest
import typer

from cxlib.cli import steps

_NAMES = ["Ann", "Bob", "Cem", "Dee", "Eva", "Fay", "Gus", "Hal", "Ivy", "Jon"]
_NASTY = ["\x00", "\r", '"', '""', ",", ";", "\t", "\ufeff", "é", "\u2028", "NaN", "inf", "-0", "1e400", "-1e300",
          "9999-99-99", "0000-01-01", "2024-02-30", "  ", "", "NULL", "=cmd|' /C calc'!A0", "x" * 3000, "🙂", "1,5",
          "(1)", "$5", "'", "%"]  # fmt: skip
_COLUMN_VALUES = ["1e300", "-5", "0", "9999-12-31", "1900-01-01", "completed", "refunded", "", "x", "NaN"]
_STEPS = [steps.unify, steps.journeys, steps.personas_command, steps.simulate, steps.report, steps.voice]


def _company(rng: random.Random) -> dict[str, str]:
    """A small shop's exports: CRM contacts, orders, web events, tickets and surveys (CSV text)."""
    contacts = ["source,record_id,first_name,last_name,email,phone,country,updated_at"]
    orders = ["source,order_id,email,ts,amount,status"]
    events = ["source,event_id,email,anonymous_id,ts,event,channel"]
    tickets = ["source,ticket_id,opened_at,closed_at,email,channel,topic,resolved,csat"]
    surveys = ["source,response_id,ts,email,nps,comment"]
    for c in range(60):
        email = f"p{c}@x.com"
        name = f"{_NAMES[c % 10]},{_NAMES[c * 7 % 10]}son"
        contacts.append(f"crm,{c},{name},{email},0770090{c:04d},GB,2024-01-{1 + c % 28:02d}")
        for m in range(1, 13):
            if rng.random() < 0.35:
                status = "completed" if rng.random() < 0.9 else "returned"
                day = f"2024-{m:02d}-{1 + rng.randrange(28):02d}"
                orders.append(f"shop,{len(orders)},{email},{day},{rng.randrange(5, 200)}.5,{status}")
            for _ in range(rng.randrange(3)):
                event = rng.choice(["page_view", "product_view", "add_to_cart", "email_open", "email_sent", "ad_click"])
                who = email if rng.random() < 0.6 else ""
                day = f"2024-{m:02d}-{1 + rng.randrange(28):02d}"
                events.append(f"web,e{len(events)},{who},ck{c},{day} 10:00:00,{event},web")
    for k in range(60):
        c, m = rng.randrange(60), 1 + rng.randrange(12)
        tickets.append(f"helpdesk,t{k},2024-{m:02d}-05 10:00,2024-{m:02d}-08 12:00,p{c}@x.com,email,"
                       f"{rng.choice(['delivery', 'refund', 'pre_sale_question'])},{rng.choice(['true', 'false', ''])},"
                       f"{rng.choice(['1', '3', '5', ''])}")
        surveys.append(f"survey_tool,r{k},2024-{m:02d}-12,p{c}@x.com,{rng.randrange(11)},"
                       f"\"{rng.choice(['great', 'slow delivery, again', 'refund took weeks', 'ok'])}\"")
    tables = {"contacts": contacts, "orders": orders, "events": events, "tickets": tickets, "surveys": surveys}
    return {f"{name}.csv": "\n".join(lines) + "\n" for name, lines in tables.items()}  # fmt: skip


def _mutated(text: str, rng: random.Random) -> str:
    lines = text.split("\n")
    if rng.random() < 0.3:  # a whole column of one odd value
        j, value = rng.randrange(len(lines[0].split(","))), rng.choice(_COLUMN_VALUES)
        for i in range(1, len(lines)):
            fields = lines[i].split(",")
            if j < len(fields) and rng.random() < 0.7:
                fields[j] = value
            lines[i] = ",".join(fields)
    for _ in range(rng.randint(1, 12)):
        i, op = rng.randrange(len(lines)), rng.random()
        if op < 0.35:
            fields = lines[i].split(",")
            fields[rng.randrange(len(fields))] = rng.choice(_NASTY)
            lines[i] = ",".join(fields)
        elif op < 0.5:
            lines.insert(i, rng.choice(lines))
        elif op < 0.6:
            del lines[i]
        elif op < 0.75:
            k = rng.randrange(len(lines[i]) + 1)
            lines[i] = lines[i][:k] + rng.choice(_NASTY) + lines[i][k:]
        elif op < 0.85 and i == 0:
            fields = lines[0].split(",")
            rng.shuffle(fields)
            lines[0] = ",".join(fields)
        else:
            lines[i] = lines[i][: rng.randrange(len(lines[i]) + 1)]
    return "\n".join(lines)


def _run(step, folder) -> bool:  # noqa: ANN001
    """Run a CLI step; False when it stopped with a clear error (exit 2: a DataError, printed as "error: ..."), so
    the later steps are not run. A load that quarantined too many rows (exit 3) has loaded the rest: go on."""
    try:
        step(folder=folder)
    except (click.exceptions.Exit, typer.Exit) as e:
        assert e.exit_code in (2, 3), e
        return e.exit_code == 3
    return True


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(8))
def test_mutated_exports_through_every_step_work_or_say_why(tmp_path, seed, capsys):
    rng = random.Random(seed)
    for name, text in _company(rng).items():
        if rng.random() < 0.8:
            text = _mutated(text, rng) if rng.random() < 0.7 else text
            data = text.encode("utf-16") if rng.random() < 0.1 else text.encode("utf-8", "surrogatepass")
            (tmp_path / name).write_bytes(data)
    if not any(tmp_path.iterdir()):
        (tmp_path / "orders.csv").write_text(_company(rng)["orders.csv"])
    if _run(steps.load, tmp_path):
        for step in _STEPS:
            if not _run(step, tmp_path):
                break
    assert "Traceback" not in capsys.readouterr().err
