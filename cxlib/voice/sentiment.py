"""Sentiment of short customer texts: a small VADER-like lexicon method, written here (no download).

Each word of the lexicon has a valence (-4..4). A booster before it ("very", "really") strengthens it, a
negation in the three words before it ("not", "never", "n't") flips and dampens it, words after a "but" count
more than those before, and exclamation marks add emphasis. The sum is squashed into ``[-1, 1]`` like VADER's
compound score: ``s / sqrt(s**2 + 15)``. Chosen over a trained model because it needs no data, runs anywhere,
and every score can be explained word by word; the lexicon leans to retail service language (late, damaged,
refund, crash).

Examples
--------
>>> sentiment("Love the jacket, great quality!") > 0.5
True
>>> sentiment("The parcel arrived damaged and nobody answered") < -0.3
True
>>> sentiment("Not happy with the delivery") < 0
True
>>> sentiment("")
0.0
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable

import numpy as np

__all__ = ["LEXICON", "sentiment", "sentiments"]

#: word -> valence (-4 very negative .. 4 very positive)
LEXICON: dict[str, float] = {
    # positive
    "love": 3.2, "loved": 3.0, "lovely": 2.8, "great": 3.1, "excellent": 3.3, "amazing": 3.2, "fantastic": 3.3,
    "brilliant": 3.1, "perfect": 3.0, "happy": 2.7, "pleased": 2.4, "good": 1.9, "nice": 1.8, "helpful": 2.2,
    "friendly": 2.1, "recommend": 2.2, "thanks": 1.5, "thank": 1.5, "quick": 1.2, "fast": 1.2, "easy": 1.6,
    "best": 3.0, "wonderful": 3.1, "beautiful": 2.9, "awesome": 3.1, "satisfied": 2.0, "glad": 2.0,
    "enjoy": 2.2, "comfortable": 1.8, "quality": 0.6, "resolved": 1.5, "solved": 1.5, "fixed": 1.2,
    # negative
    "late": -1.8, "delayed": -1.8, "delay": -1.6, "damaged": -2.4, "broken": -2.4, "smashed": -2.6,
    "cracked": -2.0, "scratched": -1.7, "torn": -1.6, "dent": -1.4, "missing": -1.6, "wrong": -1.8,
    "crash": -2.2, "crashes": -2.2, "crashing": -2.2, "crashed": -2.2, "freezes": -2.0, "fails": -2.0,
    "error": -1.7, "problem": -1.8, "issue": -1.3, "locked": -1.5, "unable": -1.5, "cannot": -1.2,
    "expensive": -1.6, "overpriced": -2.2, "bad": -2.5, "terrible": -3.2, "awful": -3.1, "horrible": -3.1,
    "poor": -2.2, "worst": -3.3, "slow": -1.5, "disappointed": -2.3, "disappointing": -2.3, "angry": -2.7,
    "unhappy": -2.4, "annoyed": -2.2, "useless": -2.6, "rude": -2.6, "waiting": -1.0, "waited": -1.0,
    "nobody": -1.2, "ignored": -2.0, "refund": -0.6, "complaint": -1.8, "twice": -0.6, "postponing": -1.4,
    "expired": -1.0, "tight": -0.8, "cheaper": -0.5, "hate": -3.0, "never": -0.8, "lost": -1.8, "stolen": -2.5,
    "scam": -3.2, "fault": -1.7, "faulty": -2.2, "incorrect": -1.7, "unacceptable": -3.0, "rubbish": -2.7,
    "nothing": -0.6,
}  # fmt: skip

_NEGATE = {"not", "no", "never", "dont", "don't", "didnt", "didn't", "isnt", "isn't", "wasnt", "wasn't",
           "cant", "can't", "wont", "won't", "doesnt", "doesn't", "hardly", "without", "nor", "neither"}  # fmt: skip
_BOOST = {"very": 0.3, "really": 0.3, "extremely": 0.4, "so": 0.2, "too": 0.2, "absolutely": 0.4,
          "totally": 0.3, "incredibly": 0.4, "always": 0.15, "again": 0.15}  # fmt: skip
_DAMP = {"slightly": -0.3, "somewhat": -0.2, "bit": -0.2, "little": -0.2}
_WORD = re.compile(r"[a-z']+")


def sentiment(text: str | None) -> float:
    """The compound sentiment of ``text`` in ``[-1, 1]`` (0 for empty text or text with no sentiment words)."""
    if not text:
        return 0.0
    words = _WORD.findall(text.lower())
    scores: list[float] = []
    but_at = next((i for i, w in enumerate(words) if w == "but"), None)
    for i, w in enumerate(words):
        v = LEXICON.get(w)
        if v is None or (w == "never" and i + 1 < len(words) and LEXICON.get(words[i + 1]) is not None):
            continue
        prev = words[max(0, i - 3) : i]
        if prev and prev[-1] in _BOOST or prev and prev[-1] in _DAMP:
            b = _BOOST.get(prev[-1], _DAMP.get(prev[-1], 0.0))
            v += math.copysign(b * abs(v) / max(abs(v), 1e-9), v) * 1.0
        if any(p in _NEGATE for p in prev):
            v *= -0.74
        if but_at is not None:
            v *= 0.5 if i < but_at else 1.5
        scores.append(v)
    s = sum(scores)
    bangs = min(text.count("!"), 4)
    if s and bangs:
        s += math.copysign(0.29 * bangs, s)
    return float(round(s / math.sqrt(s * s + 15), 4))


def sentiments(texts: Iterable[str | None]) -> np.ndarray:
    """:func:`sentiment` of each text, as a float array."""
    return np.array([sentiment(t) for t in texts], dtype="float64")
