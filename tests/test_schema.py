from pathlib import Path

import pytest

from cxlib.schema import TABLES, DataError, data_model_markdown

ROOT = Path(__file__).resolve().parent.parent


def test_docs_match_the_schema():
    doc = (ROOT / "docs" / "data-model.md").read_text()
    assert doc == data_model_markdown(), "regenerate with: python -m cxlib.schema > docs/data-model.md"


def test_every_table_has_source_and_a_key():
    for t in TABLES.values():
        assert t.columns[0].name == "source" and t.columns[0].required
        assert all(k in t.names for k in t.key)
        if t.time_column:
            assert t.column(t.time_column).dtype == "timestamp"


def test_contacts_require_only_source_and_record_id():
    assert TABLES["contacts"].required == ("source", "record_id")


def test_unknown_column_is_a_clear_error():
    with pytest.raises(KeyError, match="no column 'nope'"):
        TABLES["orders"].column("nope")


def test_data_error_is_a_value_error():
    assert issubclass(DataError, ValueError)
