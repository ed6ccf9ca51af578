"""What customers wrote: ticket subjects and descriptions, survey comments, from planted topics.

Text is drawn from its own random stream (``SeedSequence([seed, block, 21])``), after every table is recorded,
so the rest of the company is the same bytes with or without it. It writes only text columns: two new ticket
columns (``subject``, ``description``) and the survey ``comment`` (which was a draw from seven fixed phrases);
an order's ``return_reason`` stays as it was and is mapped to its planted topic for the truth.

Each verbatim comes from one planted topic (:data:`TOPICS`). Which one depends on the row's own facts (the
ticket's topic, the survey's score), the person's stage and persona -- and one planted link: people who will
churn within :data:`CHURN_HORIZON` months (or are at risk) write about **late delivery** far more often: 90% of
their delivery tickets and 40% of their other tickets (whatever topic the agent filed) are about a late parcel,
and most of their survey comments (``churn_topic`` in the truth). The wording varies (several phrasings per
topic, fillers, typos) and some texts carry personal data (the writer's name, street, postcode, e-mail or
phone, an order number) so that redaction can be tested; a few survey comments are in German, French or
Spanish.

Examples
--------
>>> rng = np.random.default_rng(0)
>>> text = _sentence(rng, "billing")
>>> isinstance(text, str) and len(text) > 10
True
>>> sorted(TOPICS)[:3]
['account', 'app_crash', 'billing']
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

from cxlib.synth.specs import CHURN, PERSONAS, RISK

if TYPE_CHECKING:
    from cxlib.synth.emit.base import _Recorder

#: Months ahead in which a coming churn makes late-delivery text likely.
CHURN_HORIZON = 3
CHURN_TOPIC = "late_delivery"

_PRODUCT = ["jacket", "sofa", "lamp", "trainers", "kettle", "dress", "headphones", "table", "boots", "rug"]

#: Planted topic -> (owner side, phrasings). ``{p}`` is a product, ``{n}`` a number.
TOPICS: dict[str, tuple[str, list[str]]] = {
    "presale_question": ("service", [
        "I asked whether the {p} comes in a larger size before ordering and nobody has answered my question",
        "Still waiting for a reply to my question about the {p} before I buy",
        "Can someone answer my question about stock of the {p}? I want to buy it but got no reply",
        "Sent a question about {p} dimensions days ago, no answer yet, so I have not ordered",
        "Before buying I need to know if the {p} is compatible, please answer my question",
    ]),
    "late_delivery": ("service", [
        "My parcel is {n} days late and the courier never showed up",
        "Delivery was late again, tracking has not updated for a week",
        "Still not delivered, the parcel was promised {n} days ago",
        "The courier keeps postponing my delivery, very late and no updates",
        "Waited {n} days for the parcel, delivery is always late",
    ]),
    "damaged_item": ("service", [
        "The box arrived damaged and the {p} inside was broken",
        "My {p} came smashed, the packaging was torn",
        "Item arrived cracked and scratched, clearly damaged in transit",
        "The {p} was broken when I opened the box, parts missing too",
        "Received a damaged {p}, a dent on the side and broken pieces",
    ]),
    "wrong_size": ("marketing", [
        "The {p} does not fit, it runs small compared to the size guide",
        "Colour looks nothing like the photos on the website",
        "Not as described, the {p} is much smaller than the pictures suggest",
        "Wrong size, the fit is tight and the material feels different from the description",
        "The {p} looked bigger in the photos, not what I expected from the description",
    ]),
    "app_crash": ("service", [
        "The app keeps crashing at checkout",
        "App freezes when I open my basket and then crashes",
        "Cannot pay in the app, it crashes every time after the update",
        "The app crashed twice while I was paying, had to reinstall it",
        "Since the latest update the app closes itself on the payment screen",
    ]),
    "billing": ("service", [
        "I was charged twice for the same order",
        "My refund is still not back on my card after {n} days",
        "The invoice shows the wrong amount, please correct the charge",
        "Double payment taken from my bank account, I want a refund",
        "Charged for the {p} although I cancelled, refund please",
    ]),
    "account": ("service", [
        "I cannot log in, the password reset email never arrives",
        "My account is locked and the login page says my password is wrong",
        "Unable to sign in to my account since yesterday, reset link expired",
        "Login fails with an error, please unlock my account",
        "Password reset does not work, still locked out of my account",
    ]),
    "price": ("marketing", [
        "Too expensive compared to other shops",
        "Prices went up again and the discount code did not work",
        "The {p} is overpriced, I found it cheaper elsewhere",
        "Expensive shipping costs and no discount for loyal customers",
        "Nice range but the prices are too high, waiting for a sale",
    ]),
    "praise": ("marketing", [
        "Love the {p}, great quality and lovely design",
        "Excellent service, friendly staff, I would recommend you to friends",
        "Really happy with my {p}, fantastic quality, thank you",
        "Great experience as always, brilliant products and helpful team",
        "Amazing quality, I love shopping here and recommend it",
    ]),
}

_SUBJECT = {
    "presale_question": ["Question before ordering", "Product question", "Question about sizes"],
    "late_delivery": ["Late delivery", "Where is my parcel", "Delivery delayed"],
    "damaged_item": ["Damaged item", "Broken on arrival", "Damaged parcel"],
    "wrong_size": ["Wrong size", "Not as described", "Item does not fit"],
    "app_crash": ["App crash", "App not working", "App freezes"],
    "billing": ["Charged twice", "Refund", "Invoice problem"],
    "account": ["Cannot log in", "Account locked", "Password reset"],
    "price": ["Prices", "Discount code", "Price question"],
    "praise": ["Thank you", "Compliment", "Great service"],
}

_OPEN = ["", "", "", "Hi, ", "Hello, ", "Dear team, ", "Hi there. "]
_CLOSE = ["", "", "", " Thanks.", " Please help.", " Regards.", " Not happy.", " Thank you!"]

#: Non-English comments (language code -> texts); their planted topic is recorded but not scored.
FOREIGN = {
    "de": ["Die Lieferung war zu spät und das Paket ist noch nicht da", "Ich bin mit der Qualität sehr zufrieden",
           "Der Preis ist mir zu hoch und die App stürzt ab"],
    "fr": ["La livraison est arrivée en retard et le colis était abîmé", "Je suis très contente de la qualité",
           "Le prix est trop élevé pour ce produit"],
    "es": ["El pedido llegó tarde y la caja estaba rota", "Estoy muy contento con la calidad del producto",
           "El precio es demasiado alto para lo que es"],
}
_FOREIGN_TOPIC = ["late_delivery", "praise", "price"]

# ticket topic -> planted text topic (delivery and return are split below)
_TICKET_TOPIC = {"pre_sale_question": "presale_question", "billing": "billing", "technical": "app_crash",
                 "account": "account"}
_RETURN_TOPIC = {"arrived damaged": "damaged_item", "wrong item sent": "damaged_item", "missing parts": "damaged_item",
                 "arrived too late": "late_delivery", "not as described": "wrong_size", "wrong size": "wrong_size",
                 "changed my mind": "wrong_size", "colour differs from photos": "wrong_size"}  # fmt: skip


def _typo(rng: np.random.Generator, text: str) -> str:
    """One typo: two neighbouring letters swapped, or one dropped."""
    words = text.split(" ")
    i = int(rng.integers(len(words)))
    w = words[i]
    if len(w) >= 4:
        j = int(rng.integers(1, len(w) - 2))
        w = w[:j] + w[j + 1] + w[j] + w[j + 2 :] if rng.random() < 0.5 else w[:j] + w[j + 1 :]
        words[i] = w
    return " ".join(words)


def _sentence(rng: np.random.Generator, topic: str) -> str:
    """One phrasing of ``topic`` with its blanks filled, an opener and a closing, maybe a typo."""
    phr = TOPICS[topic][1]
    product = _PRODUCT[int(rng.integers(len(_PRODUCT)))]
    body = phr[int(rng.integers(len(phr)))].format(p=product, n=int(rng.integers(3, 15)))
    if rng.random() < 0.35:  # a second phrasing of the same topic
        body += ". " + phr[int(rng.integers(len(phr)))].format(p=_PRODUCT[int(rng.integers(len(_PRODUCT)))], n=5)
    text = _OPEN[int(rng.integers(len(_OPEN)))] + body + "." + _CLOSE[int(rng.integers(len(_CLOSE)))]
    return _typo(rng, text) if rng.random() < 0.2 else text


def _personal(rng: np.random.Generator, ident: dict, p: int) -> str:
    """A sentence carrying the writer's personal data (or an order number), for redaction tests."""
    u = rng.random()
    if u < 0.3:
        return f" My order number is O{int(rng.integers(10**9, 10**10)):011d}."
    if u < 0.55:
        return f" Kind regards, {ident['first_name'][p]} {ident['last_name'][p]}"
    if u < 0.75:
        return f" I live at {ident['street'][p]}, {ident['postcode'][p]}."
    if u < 0.9:
        return f" Reach me on {ident['email'][p]}."
    return f" Call me on {ident['phone'][p]}."


def _churn_soon(stage_hist: np.ndarray) -> np.ndarray:
    """person x month: the person enters churn within the next :data:`CHURN_HORIZON` months."""
    churn = stage_hist == CHURN
    soon = np.zeros_like(churn)
    for h in range(1, CHURN_HORIZON + 1):
        soon[:, :-h] |= churn[:, h:] & ~churn[:, :-h]
    return soon


def _month_of(rec: _Recorder, iso: np.ndarray) -> np.ndarray:
    """Month index of each ISO timestamp text (the offset is ignored: months start at midnight UTC)."""
    ts = np.array([s[:19] for s in iso], dtype="datetime64[s]")
    return np.clip(np.searchsorted(rec.cfg.month_starts, ts, side="right") - 1, 0, rec.months - 1)


def _people_index(rec: _Recorder, person_ids: np.ndarray) -> np.ndarray:
    return np.searchsorted(rec.lives.people_ids, person_ids)


def _tickets(rec: _Recorder, rng: np.random.Generator, soon: np.ndarray) -> list[dict]:
    truth = []
    for part in rec.rows.get("tickets", []):
        k = len(part["ticket_id"])
        p = _people_index(rec, part["_person"])
        m = _month_of(rec, part["opened_at"])
        churning = soon[p, m] | (rec.lives.stage_hist[p, m] == RISK)
        subj, desc, topics = [], [], []
        for i in range(k):
            t = part["topic"][i]
            u = rng.random()
            if t == "delivery":
                topic = "late_delivery" if u < (0.9 if churning[i] else 0.2) else "damaged_item"
            elif churning[i] and t != "pre_sale_question" and u < 0.4:  # what they write, whatever the agent filed
                topic = "late_delivery"
            elif t == "return":
                topic = "wrong_size" if rng.random() < 0.7 else "damaged_item"
            else:
                topic = _TICKET_TOPIC.get(t, "account")
            s = _SUBJECT[topic]
            subj.append(s[int(rng.integers(len(s)))])
            d = _sentence(rng, topic)
            if rng.random() < 0.3:
                d += _personal(rng, rec.lives.ident, p[i])
            desc.append(d)
            topics.append(topic)
        part["subject"] = np.array(subj, dtype=object)
        part["description"] = np.array(desc, dtype=object)
        truth.append(dict(table_name="tickets", source=part["source"], record_key=part["ticket_id"],
                          topic=np.array(topics, dtype=object), language=np.full(k, "en", dtype=object)))
    return truth


def _survey_topic(rng: np.random.Generator, nps: float, persona: str, churning: bool) -> str:
    names = list(TOPICS)
    w = np.ones(len(names)) * 0.4
    w[names.index("praise")] = 6.0 if nps >= 9 else (1.0 if nps >= 7 else 0.1)
    w[names.index("price")] = 2.5 if persona == "deal_seeker" else 0.8
    w[names.index("app_crash")] = 2.0 if persona == "loyal_app" else 0.4
    w[names.index("wrong_size")] = 1.5 if persona == "big_ticket" else 0.8
    w[names.index("late_delivery")] = 10.0 if churning else 0.4
    w[names.index("presale_question")] = 0.3
    return names[int(rng.choice(len(names), p=w / w.sum()))]


def _surveys(rec: _Recorder, rng: np.random.Generator, soon: np.ndarray) -> list[dict]:
    truth = []
    for part in rec.rows.get("surveys", []):
        k = len(part["response_id"])
        p = _people_index(rec, part["_person"])
        m = _month_of(rec, part["ts"])
        churning = soon[p, m] | (rec.lives.stage_hist[p, m] == RISK)
        comments, topics, langs = [], [], []
        for i in range(k):
            nps = float(part["nps"][i]) if str(part["nps"][i]).isdigit() else 5.0
            u = rng.random()
            if u < 0.15:
                comments.append(""), topics.append(None), langs.append(None)
                continue
            if u < 0.18:
                lang = ["de", "fr", "es"][int(rng.integers(3))]
                j = int(rng.integers(3))
                comments.append(FOREIGN[lang][j]), topics.append(_FOREIGN_TOPIC[j]), langs.append(lang)
                continue
            topic = _survey_topic(rng, nps, PERSONAS[rec.lives.persona[p[i]]], bool(churning[i]))
            text = _sentence(rng, topic)
            if rng.random() < 0.1:
                text += _personal(rng, rec.lives.ident, p[i])
            comments.append(text), topics.append(topic), langs.append("en")
        part["comment"] = np.array(comments, dtype=object)
        truth.append(dict(table_name="surveys", source=part["source"], record_key=part["response_id"],
                          topic=np.array(topics, dtype=object), language=np.array(langs, dtype=object)))
    return truth


def _returns(rec: _Recorder) -> list[dict]:
    truth = []
    for part in rec.rows.get("orders", []):
        has = np.array([r is not None for r in part["return_reason"]], dtype=bool)
        if part["_defect"] is not None:  # the re-sent duplicates repeat a row already recorded
            has &= np.array([d != "duplicate key" for d in part["_defect"]], dtype=bool)
        reason = part["return_reason"][has]
        truth.append(dict(table_name="orders", source=part["source"][has], record_key=part["order_id"][has],
                          topic=np.array([_RETURN_TOPIC.get(r, "wrong_size") for r in reason], dtype=object),
                          language=np.full(int(has.sum()), "en", dtype=object)))
    return truth


def write_text(rec: _Recorder) -> pa.Table:
    """Fill the text columns of the recorded tickets and surveys; return the verbatims' planted truth.

    Call after every table is recorded and before :meth:`_Recorder.finish`. The truth has one row per
    verbatim: ``table_name, source, record_key, topic, side, language`` (``topic`` null for an empty comment).
    """
    rng = np.random.default_rng(np.random.SeedSequence([rec.cfg.seed, rec.lives.block, 21]))
    soon = _churn_soon(rec.lives.stage_hist)
    parts = _tickets(rec, rng, soon) + _surveys(rec, rng, soon) + _returns(rec)
    cols = ("table_name", "source", "record_key", "topic", "language")
    out = {c: [] for c in cols}
    for part in parts:
        k = len(part["record_key"])
        for c in cols:
            v = part[c]
            out[c].append(np.full(k, v, dtype=object) if isinstance(v, str) else np.asarray(v, dtype=object))
    arrays = {c: np.concatenate(v) if v else np.array([], dtype=object) for c, v in out.items()}
    arrays["side"] = np.array([TOPICS[t][0] if t is not None else None for t in arrays["topic"]], dtype=object)
    return pa.table({c: pa.array(arrays[c], pa.string()) for c in (*cols, "side")})


def planted() -> dict:
    """The voice entry of ``planted.json``: the topics, their sides, and the churn link."""
    return {
        "mechanism": "Ticket subjects/descriptions and survey comments are written from planted topics; a ticket's "
        "text follows its topic, a comment's its score, stage and persona. People who enter churn within "
        f"{CHURN_HORIZON} months (or are at risk) write about {CHURN_TOPIC} far more often: the topic that "
        "goes with churn. Return reasons map to damaged_item, late_delivery or wrong_size. About 3% of "
        "comments are German, French or Spanish; some texts carry planted personal data.",
        "topics": {t: side for t, (side, _) in TOPICS.items()},
        "churn_topic": CHURN_TOPIC,
        "churn_horizon_months": CHURN_HORIZON,
        "truth_file": "truth/verbatims.parquet",
    }
