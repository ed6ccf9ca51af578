"""Quotes safe to share: e-mails, phones, order numbers and the workspace's own names, streets and postcodes masked.

:func:`cxlib.report.privacy.redact_text` masks what has a shape (e-mail addresses, phone numbers) and
:class:`cxlib.report.personal.PersonalTerms` the full names, streets and postcodes the contacts hold; this adds
order, ticket and response numbers (a letter and six or more digits, or "order number 12345678"), and UK-shaped
postcodes a customer typed that no contact holds.

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
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from cxlib.report.personal import PersonalTerms
from cxlib.report.privacy import redact_text

__all__ = ["Redactor"]

_ORDER = re.compile(r"\b[A-Z]{1,3}-?\d{6,}\b|(?<=order number )#?\d{5,}\b|(?<=order )#?\d{5,}\b", re.IGNORECASE)
_UK_POSTCODE = re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]?\s?\d[A-Z]{2}\b")


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
        return _UK_POSTCODE.sub("[postcode]", text)
