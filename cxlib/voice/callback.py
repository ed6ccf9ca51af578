"""The follow-up list as it leaves the workspace: texts redacted, unless the user asks for the personal data.

``follow_up`` (written by :func:`cxlib.voice.build`) names the customers with unresolved negative feedback,
highest value first, with their own words. :func:`call_back_list` is what a page shows and ``cx voice
--follow-up FILE`` writes: by default every text is redacted (:class:`~cxlib.voice.Redactor`: e-mails, phones,
the contacts' names, streets and postcodes, order numbers) and no contact detail is added; with
``personal=True`` the texts stay as written and each customer's name, e-mail and phone from the golden record
(``customers``) are added, for the service team that will call them.

Examples
--------
>>> import pandas as pd
>>> from cxlib.engine import connect
>>> ws = connect()
>>> _ = ws.write("customers", pd.DataFrame({"customer_id": ["C1"], "first_name": ["Jane"], "last_name": ["Doe"],
...                                     "email": ["jane@x.com"], "phone": ["+447700900123"]}))
>>> _ = ws.write("contacts", pd.DataFrame({"first_name": ["Jane"], "last_name": ["Doe"]}))
>>> fu = pd.DataFrame({"customer_id": ["C1"], "text": ["Jane Doe here, parcel late, call +44 7700 900123"]})
>>> call_back_list(ws, fu)["text"].tolist()
['[name] here, parcel late, call [phone]']
>>> call_back_list(ws, fu, personal=True)[["customer_id", "name", "email"]].values.tolist()
[['C1', 'Jane Doe', 'jane@x.com']]
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from cxlib.engine import Workspace, opened
from cxlib.voice.redact import Redactor

__all__ = ["CONTACT_COLUMNS", "call_back_list"]

#: What ``personal=True`` adds from the golden record ``customers``: how to reach the customer.
CONTACT_COLUMNS = ("name", "email", "phone")


def call_back_list(
    workspace: str | Path | Workspace, follow_up: pd.DataFrame | None = None, personal: bool = False
) -> pd.DataFrame:
    """The customers to call back, as they may leave the workspace.

    Parameters
    ----------
    workspace : folder, ``.duckdb`` file or :class:`cxlib.engine.Workspace`
        A workspace after ``cx voice`` (or pass ``follow_up``).
    follow_up : DataFrame, optional
        The follow-up table (:attr:`cxlib.voice.VoiceResult.follow_up`); by default the workspace's.
    personal : bool
        ``False`` (the default): the texts are redacted and nothing else personal is added. ``True``: the texts
        as written, and each customer's ``name``, ``email`` and ``phone`` (:data:`CONTACT_COLUMNS`, from
        ``customers``) after ``customer_id``.

    Returns
    -------
    DataFrame
        The follow-up rows in their order (highest yearly value first).
    """
    with opened(workspace, read_only=True) as ws:
        fu = (follow_up if follow_up is not None else ws.table("follow_up").to_pandas()).copy()
        if not personal:
            if "text" in fu:
                redact = Redactor.from_workspace(ws)
                fu["text"] = fu["text"].map(redact, na_action="ignore")
            return fu.reset_index(drop=True)
        return _with_contacts(ws, fu)


def _with_contacts(ws: Workspace, fu: pd.DataFrame) -> pd.DataFrame:
    """``fu`` with each customer's name, e-mail and phone (from ``customers``) after ``customer_id``."""
    import ibis

    c = ws.table("customers")
    have = set(c.columns)
    cols = [x for x in ("first_name", "last_name", "email", "phone") if x in have]
    ids = ibis.memtable(fu[["customer_id"]].drop_duplicates())
    got = c.semi_join(ids, c.customer_id == ids.customer_id).select("customer_id", *cols).to_pandas()
    first = got.get("first_name", pd.Series("", index=got.index)).fillna("")
    last = got.get("last_name", pd.Series("", index=got.index)).fillna("")
    got["name"] = (first.astype(str) + " " + last.astype(str)).str.strip().replace("", None)
    for col in CONTACT_COLUMNS:
        if col not in got:
            got[col] = None
    out = fu.merge(got[["customer_id", *CONTACT_COLUMNS]], on="customer_id", how="left")
    rest = [x for x in fu.columns if x != "customer_id"]
    return out[["customer_id", *CONTACT_COLUMNS, *rest]]
