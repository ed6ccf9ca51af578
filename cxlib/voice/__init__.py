"""Voice of the customer: what customers say, by journey stage, tied to why they leave -- and who to call back.

:func:`build` reads every piece of customer text in a unified workspace (ticket subjects and descriptions,
survey comments, return reasons), detects its language (:mod:`~cxlib.voice.language`), scores its sentiment
with a lexicon written here (:mod:`~cxlib.voice.sentiment`), finds topics with TF-IDF and NMF, their number
chosen by stability (:mod:`~cxlib.voice.topics`), ranks the topics by their association with churn, drop-off
before purchase, returns and low NPS (:mod:`~cxlib.voice.drivers`), and lists the customers whose negative
feedback is unresolved, highest value first. Quotes in shared outputs are redacted (:mod:`~cxlib.voice.redact`).
Everything runs offline; nothing is downloaded.

Tables written: ``verbatims``, ``topics``, ``verbatim_topics``, ``topic_months``, ``feedback_drivers``,
``follow_up``. :func:`report_section` is the report's "Voice of the customer" section.

Examples
--------
>>> from cxlib.voice import sentiment, detect
>>> sentiment("Great service, thank you!") > 0, detect("Das Paket ist nicht angekommen")
(True, 'de')
"""

from __future__ import annotations

from cxlib.voice.build import MODELLED_LANGUAGES, VoiceResult, analyse, build
from cxlib.voice.callback import CONTACT_COLUMNS, call_back_list
from cxlib.voice.collect import TEXT_COLUMNS, VERBATIM_COLUMNS, collect
from cxlib.voice.drivers import NO_OUTCOME, OUTCOMES, drivers, follow_up, measured_outcomes, outcomes, risk_ratio
from cxlib.voice.language import detect, in_words
from cxlib.voice.redact import Redactor
from cxlib.voice.report import report_section
from cxlib.voice.sentiment import sentiment, sentiments
from cxlib.voice.topics import TopicModel, fit_topics

__all__ = [
    "CONTACT_COLUMNS", "MODELLED_LANGUAGES", "NO_OUTCOME", "OUTCOMES", "TEXT_COLUMNS", "VERBATIM_COLUMNS", "Redactor",
    "TopicModel", "VoiceResult", "analyse", "build", "call_back_list", "collect", "detect", "drivers", "fit_topics",
    "follow_up", "in_words", "measured_outcomes", "outcomes", "report_section", "risk_ratio", "sentiment", "sentiments",
]  # fmt: skip
