"""splink's own labelled example data sets as a workspace: person records with typos, swapped names, mangled
birth dates, missing fields, and the truth of who is who.

From https://github.com/moj-analytical-services/splink_datasets (MIT License): ``fake_1000.csv`` (1,000
records of 251 people, with e-mails and their typos; a copy is in ``tests/data/splink_fake_1000.csv``) and
``historical_figures_with_errors_50k.parquet`` (50,578 records of 5,156 people from Wikidata, alternative
names, no e-mail). :func:`write_splink_data` writes either as a CRM's ``contacts.csv`` -- first and last
name, birth date, city (the historical set's birth place), e-mail, postcode, and its other columns as they
are -- and returns the truth, a ``record_map`` for :func:`cxlib.unify.evaluate`.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

__all__ = ["splink_records", "write_splink_data"]

#: contacts column <- the data sets' column (the first each set has)
_COLUMNS = {
    "first_name": ("first_name",),
    "last_name": ("surname",),
    "birth_date": ("dob",),
    "city": ("city", "birth_place"),
    "email": ("email",),
    "postcode": ("postcode_fake",),
    "gender": ("gender",),
    "occupation": ("occupation",),
}


def splink_records(path: str | Path) -> pd.DataFrame:
    """The records of ``path`` (``.csv`` or ``.parquet``) as text, with splink's column names."""
    path = Path(path)
    if path.suffix == ".parquet":
        return pd.read_parquet(path).astype("string")
    return pd.read_csv(path, dtype="string")


def write_splink_data(folder: str | Path, path: str | Path) -> pd.DataFrame:
    """Write the splink data set at ``path`` to ``folder/contacts.csv`` (source ``crm``, ``record_id`` its
    ``unique_id``) and return its truth: ``table_name, source, record_key, person_id`` (its ``cluster``).

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = pd.DataFrame({"unique_id": ["0", "1"], "first_name": ["Rob", "Robert"], "surname": ["Allen"] * 2,
    ...                   "dob": ["1971-06-24"] * 2, "city": [None, "London"], "email": [None] * 2,
    ...                   "cluster": ["0", "0"]}).to_csv(folder / "fake.csv", index=False)
    >>> write_splink_data(folder, folder / "fake.csv")["person_id"].tolist()
    ['0', '0']
    >>> pd.read_csv(folder / "contacts.csv").columns.tolist()
    ['source', 'record_id', 'first_name', 'last_name', 'birth_date', 'city', 'email']
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    d = splink_records(path)
    contacts = pd.DataFrame({"source": "crm", "record_id": d["unique_id"]})
    for column, names in _COLUMNS.items():
        found = [n for n in names if n in d.columns]
        if found:
            contacts[column] = d[found[0]]
    contacts.to_csv(folder / "contacts.csv", index=False)
    return pd.DataFrame(
        {"table_name": "contacts", "source": "crm", "record_key": d["unique_id"], "person_id": d["cluster"]}
    )
