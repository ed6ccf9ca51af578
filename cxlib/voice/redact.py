"""Quotes safe to share: e-mails, phones, order numbers and the workspace's own names, streets and postcodes masked.

:func:`cxlib.report.privacy.redact_text` masks what has a shape (e-mail addresses, phone numbers) and
:class:`cxlib.report.personal.PersonalTerms` the full names, streets and postcodes the contacts hold; this adds
order, ticket and response numbers (a letter and six or more digits, or "order number 12345678"), and the
addresses a customer typed that no contact holds: a house number and a street ("167 Green Lane"), the postcode
after it or after its name ("zip 90210"), UK-shaped postcodes anywhere.

Examples
--------
>>> import pandas as pd
>>> from cxlib.report.personal import PersonalTerms
>>> r = Redactor(PersonalTerms.from_frame(pd.DataFrame({"first_name": ["Jane"], "last_name": ["Doe"],
...                                                      "street": ["12 Mill Lane"], "postcode": ["LS1 4AB"]})))
>>> r("Order O00012345678 late. Jane Doe, 12 Mill Lane, LS1 4AB, jane@x.com, +44 7700 900123")
'Order [order] late. [name], [street], [postcode], [email], [phone]'
>>> r("Deliver to SW1A 1AA please")
'Deliver to [postcode] please'
>>> r("I live at 167 Green Lane, 19943; zip code: 90210. Called 5 times way too many, 3 days late")
'I live at [street], [postcode]; zip code: [postcode]. Called 5 times way too many, 3 days late'
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from cxlib.report.personal import PersonalTerms
from cxlib.report.privacy import redact_text

__all__ = ["Redactor"]

_ORDER = re.compile(r"\b[A-Z]{1,3}-?\d{6,}\b|(?<=order number )#?\d{5,}\b|(?<=order )#?\d{5,}\b", re.IGNORECASE)
_UK_POSTCODE = re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]?\s?\d[A-Z]{2}\b")
#: a house number and a street that no contact holds ("I live at 167 Green Lane"): a number, one to three
#: capitalised words, a street word; or a German compound and its number ("Lindenallee 5"). Lower-case words
#: before the street word are everyday text ("a 2 hour drive", "2 weeks in court", "2 sq m"), not an address.
_STREET_WORDS = (
    "street|st|road|rd|lane|ln|avenue|ave|drive|dr|court|ct|crescent|terrace|grove|gardens|square|sq|boulevard|"
    "blvd|mews|parade"
)
_NAME = r"[A-ZÀ-Þ][A-Za-zÀ-ÿ'’.-]*"
_COMPOUND = r"[A-ZÀ-Þ][a-zà-ÿ]*(?:straße|strasse|allee|gasse|weg|platz)"  # Lindenallee, Hauptstraße
_STREET = re.compile(
    rf"\b\d{{1,5}}[A-Za-z]?,?\s+(?:{_NAME}\s+){{1,3}}(?i:{_STREET_WORDS})\b\.?(?=\W|$)"
    rf"|\b\d{{1,5}}[A-Za-z]?,?\s+{_COMPOUND}\b|\b{_COMPOUND}\s+\d{{1,4}}[a-z]?\b"
)
#: a postcode after an address ("[street], 19943", "[street], Springfield 62704") or after its name ("zip code
#: 90210", "PLZ 10115"): a code with a digit among its first three characters ("Zip was broken" has none)
_AFTER_STREET = re.compile(r"(\[street\](?:,?\s*[A-Za-zÀ-ÿ' -]{1,30}?)?,?\s*)\b\d{4,6}(?:-\d{4})?\b")
_NAMED_CODE = re.compile(
    r"\b((?:zip code|postal code|post code|postcode|zip|plz)\b[\s:#]*)(?=[A-Z]{0,2}\d)"
    r"[A-Z0-9][A-Z0-9 -]{2,8}[A-Z0-9]\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Redactor:
    """Masks personal data in a text: call it on a string (``None`` and empty text pass through)."""

    terms: PersonalTerms = field(default_factory=PersonalTerms)

    @classmethod
    def from_workspace(cls, ws) -> Redactor:  # noqa: ANN001 - a cxlib.engine.Workspace
        """The redactor of a workspace: its contacts' names, streets and postcodes."""
        return cls(PersonalTerms.from_workspace(ws))

    def __call__(self, text: str | None) -> str | None:
        if not text:
            return text
        text = redact_text(text)  # e-mails and phones first: their digits are not order numbers
        text = self.terms.redact(text)
        text = _ORDER.sub("[order]", text)
        text = _STREET.sub("[street]", text)
        text = _AFTER_STREET.sub(r"\1[postcode]", text)
        text = _NAMED_CODE.sub(r"\1[postcode]", text)
        return _UK_POSTCODE.sub("[postcode]", text)
