"""Writing a company to disk: source files block by block, the truth beside them in ``truth/``.

Events go to Parquet and the other tables to CSV, the way such systems usually export them
(``file_format="parquet"`` writes every table as Parquet).

Examples
--------
>>> import tempfile
>>> sink = _FileSink(Path(tempfile.mkdtemp()))
>>> sink.path("events").name, sink.path("orders").name
('events.parquet', 'orders.csv')
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from cxlib.schema import TABLES
from cxlib.synth.truth import Truth

_PARQUET_TABLES = {"events"}
_TABLE_NAMES = tuple(TABLES)  # the source tables (contacts, events, orders, tickets, surveys, enrichment)



class _FileSink:
    """Writes tables block by block: events as Parquet, the rest as CSV (as systems usually export them)."""

    def __init__(self, out: Path, file_format: str = "mixed"):
        if file_format not in ("mixed", "parquet"):
            raise ValueError(f"file_format must be 'mixed' or 'parquet', got {file_format!r}")
        self.parquet = set(_TABLE_NAMES) if file_format == "parquet" else _PARQUET_TABLES
        self.out = Path(out)
        self.truth_dir = self.out / "truth"
        self.out.mkdir(parents=True, exist_ok=True)
        self.truth_dir.mkdir(exist_ok=True)
        self.writers: dict[str, object] = {}

    def path(self, name: str) -> Path:
        return self.out / f"{name}.{'parquet' if name in self.parquet else 'csv'}"

    def append(self, name: str, t: pa.Table, truth: bool = False) -> None:
        # one schema whatever the route (pandas 3 gives large_string): plain strings, no pandas metadata
        t = t.cast(
            pa.schema([pa.field(f.name, pa.string() if pa.types.is_large_string(f.type) else f.type) for f in t.schema])
        )
        key = ("truth/" if truth else "") + name
        if key not in self.writers:
            path = (self.truth_dir / f"{name}.parquet") if truth else self.path(name)
            if truth or name in self.parquet:
                self.writers[key] = pq.ParquetWriter(path, t.schema, compression="zstd")
            else:
                self.writers[key] = pacsv.CSVWriter(path, t.schema)
        self.writers[key].write_table(t)

    def close(self) -> None:
        for w in self.writers.values():
            w.close()
        self.writers.clear()

    def write_all(self, tables: dict[str, pd.DataFrame], truth: Truth) -> None:
        for name, df in tables.items():
            self.append(name, pa.Table.from_pandas(df, preserve_index=False))
        for name in ("people", "stage_history", "record_map"):
            df = getattr(truth, name).copy()
            if "stage" in df:
                df["stage"] = df["stage"].astype(str)
            self.append(name, pa.Table.from_pandas(df, preserve_index=False), truth=True)
        if truth.verbatims is not None:
            self.append("verbatims", pa.Table.from_pandas(truth.verbatims, preserve_index=False), truth=True)
        self.close()
        self.write_meta(truth)

    def write_meta(self, truth: Truth) -> None:
        truth.transitions.to_csv(self.truth_dir / "transitions.csv", index=False, float_format="%.6f")
        (self.truth_dir / "planted.json").write_text(json.dumps(truth.planted, indent=2) + "\n")
        (self.truth_dir / "params.json").write_text(json.dumps(truth.params, indent=2) + "\n")
        (self.truth_dir / "README.md").write_text(
            "# Truth\n\nWhat really happened in this synthetic company. Tests score against it; "
            "the workspace never reads it.\n\n- `people.parquet`: person, persona, identity\n"
            "- `stage_history.parquet`: stage, orders and revenue per person and month\n"
            "- `record_map.parquet`: the true person of every source row, and planted defects\n"
            "- `transitions.csv`: the monthly transition matrix per persona\n"
            "- `verbatims.parquet`: the planted topic of every piece of customer text\n"
            "- `planted.json`: the planted findings\n- `params.json`: the arguments\n"
        )
