"""Which language a short text is in: a stopword vote, with no model or download.

Each language has a set of its most common function words; the text's words vote and the language with most
hits wins. No hits (a one-word comment, numbers, emoji) is ``"und"`` (undetermined); empty text is ``None``.
Good enough to route a comment (only English goes into the topic model; the rest is counted and reported);
not a general-purpose identifier.

Examples
--------
>>> detect("The parcel was late and the box was damaged")
'en'
>>> detect("Die Lieferung war zu spät und das Paket ist nicht da")
'de'
>>> detect("La livraison est arrivée en retard"), detect("El pedido llegó tarde y la caja estaba rota")
('fr', 'es')
>>> detect("!!!"), detect("")
('und', None)
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["NAMES", "STOPWORDS", "detect", "detect_all", "in_words", "not_modelled"]

STOPWORDS: dict[str, frozenset[str]] = {
    "en": frozenset("the and is was to of in it for on my not with this that have be are at but i you a an "
                    "me after before from no still again so very please".split()),
    "de": frozenset("der die das und ist war nicht ich zu mit sich auf für ein eine dem den des auch noch "
                    "sehr mir mein meine aber bin wurde".split()),
    "fr": frozenset("le la les et est était pas je de du des un une pour avec en au aux très mais mon ma "
                    "ce qui que il elle ne".split()),
    "es": frozenset("el la los las y es era no yo de del un una para con en muy pero mi que lo se por al "
                    "está estaba estoy".split()),
    "nl": frozenset("de het en is was niet ik een van voor met op mijn maar zeer te dat die nog".split()),
    "it": frozenset("il lo la gli le e è era non io di del un una per con molto ma mio che sono".split()),
}  # fmt: skip
#: Each code :func:`detect` gives, in words (``und``, the ISO code for "undetermined", reads as German "and").
NAMES = {"en": "English", "de": "German", "fr": "French", "es": "Spanish", "nl": "Dutch", "it": "Italian",
         "und": "undetermined"}
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
_LANGS = list(STOPWORDS)
_LANG_OF: dict[str, tuple[int, ...]] = {
    w: tuple(i for i, lang in enumerate(_LANGS) if w in STOPWORDS[lang]) for w in set().union(*STOPWORDS.values())
}


def detect(text: str | None) -> str | None:
    """The language code of ``text`` (``en``, ``de``, ``fr``, ``es``, ``nl``, ``it``), ``und`` or ``None``."""
    if text is None or not str(text).strip():
        return None
    hits = [0] * len(_LANGS)
    for w in _WORD.findall(str(text).lower()):
        for i in _LANG_OF.get(w, ()):
            hits[i] += 1
    best = max(range(len(_LANGS)), key=lambda i: (hits[i], -i))  # English first: it wins ties
    return _LANGS[best] if hits[best] else "und"


def detect_all(texts: Iterable[str | None]) -> list[str | None]:
    """:func:`detect` of each text."""
    return [detect(t) for t in texts]


def not_modelled(counts: Mapping[Any, int], modelled: Iterable[str]) -> int:
    """How many of the texts counted by language (``code -> texts``; a missing code: no text) are in a language
    the topic model does not read (not one of ``modelled``).

    Examples
    --------
    >>> not_modelled({"en": 30, "und": 2, "de": 1, None: 4}, ("en", "und"))
    1
    """
    modelled = set(modelled)
    return sum(int(n) for k, n in counts.items() if isinstance(k, str) and k not in modelled)


def in_words(counts: Mapping[Any, int], modelled: Iterable[str]) -> str:
    """Texts by language (``code -> texts``, most first, e.g. a ``value_counts(dropna=False)``; a missing code:
    no text) in words, and which were topic-modelled.

    Examples
    --------
    >>> said = in_words({"en": 3708, "und": 362, "de": 13, "es": 11, None: 2}, ("en", "und"))
    >>> said.split(" (")[0]
    'English 3,708, undetermined 362, German 13, Spanish 11, no text 2'
    >>> said.split(" (")[1]
    'English and undetermined text is topic-modelled; 24 in another language are counted, not modelled)'
    """
    modelled = tuple(modelled)
    words = ", ".join(f"{NAMES.get(k, k) if isinstance(k, str) else 'no text'} {int(n):,}" for k, n in counts.items())
    names = " and ".join(NAMES.get(k, k) for k in modelled)
    return (f"{words} ({names} text is topic-modelled; {not_modelled(counts, modelled):,} in another language are "
            "counted, not modelled)")
