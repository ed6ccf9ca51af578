"""The engine: one place where event-scale work runs, written once with Ibis.

:func:`connect` opens a workspace: the embedded DuckDB file a workspace folder holds
(``workspace.duckdb``, built by :func:`cxlib.io.load`), or any Ibis backend the user
passes -- a PySpark session included -- when the data outgrows one machine. Queries are
Ibis expressions, so the same code runs on both; only small results come back as pandas.

Examples
--------
>>> import tempfile, pathlib, cxlib
>>> ws = pathlib.Path(tempfile.mkdtemp())
>>> _ = (ws / "orders.csv").write_text("source,order_id,ts,amount,status\\nshop,1,2024-03-01,10,completed\\n")
>>> _ = cxlib.load(ws)
>>> w = cxlib.connect(ws)
>>> w.summary()[["table_name", "rows"]].to_dict("records")
[{'table_name': 'orders', 'rows': 1}]
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import ibis
import pandas as pd
from ibis.backends import BaseBackend

from cxlib.busy import BUSY_FILE, busy, busy_message
from cxlib.categories import Categories, column_defs
from cxlib.io import DATABASE_NAME
from cxlib.io.read import unordered
from cxlib.memory import duckdb_config, lent_memory, memory_limit_bytes, no_space, no_space_message  # noqa: F401 - re-exported
from cxlib.schema import TABLES, DataError, foreign_table

__all__ = ["BUSY_FILE", "STAGING_PREFIX", "Workspace", "busy", "connect", "duckdb_config", "opened"]

STAGING_PREFIX = "_cx_stage_"


def _quote(name: str) -> str:
    """A table name of ours as a SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def _cache_type_names() -> None:
    """ibis reads a DuckDB table's column types (``VARCHAR``, ``BIGINT``, ...) by parsing each type's name
    with sqlglot, every column of every table every time it looks a table up (hundreds of parses in one
    ``cx unify`` of a few tables): the same few names, a pure function, here parsed once each."""
    from functools import lru_cache

    from ibis.backends.sql.datatypes import DuckDBType

    parse = DuckDBType.from_string.__func__
    if getattr(parse, "cx_cached", False):
        return

    @lru_cache(maxsize=1024)
    def from_string(cls: type, text: str, nullable: bool | None = None) -> Any:
        return parse(cls, text, nullable)  # an ibis DataType: immutable, safe to share

    from_string.cx_cached = True  # type: ignore[attr-defined]
    DuckDBType.from_string = classmethod(from_string)


_cache_type_names()


class Workspace:
    """A workspace's tables on an Ibis backend.

    Parameters
    ----------
    backend : ibis backend
        Where the tables live (DuckDB by default, or e.g. ``ibis.pyspark.connect(spark)``).
    folder : Path, optional
        The workspace folder, when there is one.
    """

    def __init__(self, backend: BaseBackend, folder: Path | None = None) -> None:
        self.backend = backend
        self.folder = folder
        self._scratch: set[str] = set()
        self._staged: dict[str, str] | None = None  # inside step(): output name -> staging name
        self._views: dict[str, Callable[[Workspace], ibis.Table]] = {}  # inside step(): staged views' builders
        self._home: tuple[str, str] | None = None  # DuckDB: the current catalogue and schema (see _create)

    @property
    def name(self) -> str:
        """The backend's name (``duckdb``, ``pyspark``, ...)."""
        return self.backend.name

    def list_tables(self) -> list[str]:
        """Names of the tables the workspace holds, sorted."""
        return sorted(self.backend.list_tables())

    def has(self, name: str) -> bool:
        """Whether the workspace holds table ``name`` (scratch tables and a running step's outputs included)."""
        return name in self._scratch or name in (self._staged or {}) or name in self.backend.list_tables()

    def held(self) -> set[str]:
        """Every name :meth:`has` is true for, from one catalogue query (for checking many names at once)."""
        return self._scratch | set(self._staged or {}) | set(self.backend.list_tables())

    def table(self, name: str) -> ibis.Table:
        """Table ``name`` as an Ibis expression (lazy: nothing is computed yet)."""
        try:  # one catalogue look-up when the table is there (a unify run reads a few dozen)
            t = self.backend.table((self._staged or {}).get(name, name))
        except Exception:
            if self.has(name):
                raise
        else:
            # a workspace file's input table without a column `cx load` writes: another program's (not in memory,
            # where examples write what they need)
            missing = [c for c in TABLES[name].names if c not in t.columns] if name in TABLES else []
            if missing and self.folder is not None:
                raise DataError(foreign_table(self.folder, name, t.columns, missing))
            return t
        hint = " Run `cx load` on the workspace folder first." if name in TABLES else ""
        raise DataError(
            f"the workspace has no table {name!r}; it holds {', '.join(self.list_tables()) or 'none'}." + hint
        )

    def write(
        self, name: str, obj: pd.DataFrame | ibis.Table, overwrite: bool = True, *, categories: Categories = None
    ) -> ibis.Table:
        """Create (or replace) table ``name`` from a pandas frame or an Ibis expression. Inside :meth:`step` the
        table is written under a staging name and swapped in when the step ends. On DuckDB a text column named in
        ``categories`` (column -> every value it holds) is stored as an ``ENUM`` (:mod:`cxlib.categories`)."""
        if self._staged is not None:
            staged = self._staged.setdefault(name, f"{STAGING_PREFIX}{name}")
            self._views.pop(name, None)  # a table now, if the step had made it a view
            return self._create(staged, obj, categories=categories)
        if not overwrite:
            return self.backend.create_table(name, obj, overwrite=overwrite)
        return self._create(name, obj, categories=categories)

    def append(self, name: str, obj: ibis.Table) -> None:
        """Add the rows of ``obj`` (its columns in the table's order) to table ``name``: the staged one inside
        :meth:`step`, so that a step can write a large table in parts (:mod:`cxlib.chunks`), or a table
        :meth:`scratch` made (in no particular order, as it was written).

        Examples
        --------
        >>> ws = connect()
        >>> with ws.step("demo"):
        ...     _ = ws.write("t", pd.DataFrame({"id": [1]}))
        ...     ws.append("t", ibis.memtable(pd.DataFrame({"id": [2]})))
        >>> sorted(ws.table("t").to_pandas()["id"])
        [1, 2]
        >>> s = ws.scratch("_s", pd.DataFrame({"id": [1]}))
        >>> ws.append("_s", ibis.memtable(pd.DataFrame({"id": [3]})))
        >>> sorted(s.to_pandas()["id"])
        [1, 3]
        """
        scratch = name in self._scratch
        target = name if scratch else (self._staged or {}).get(name, name)
        if scratch and self.name == "pyspark":  # a scratch result there is a view of kept rows: keep both parts
            self._spark_scratch(name, self.backend.table(name).union(obj, distinct=False))
            return
        if self.name != "duckdb":
            self.backend.insert(target, obj)
            return
        self.backend._run_pre_execute_hooks(obj)
        with unordered(self.backend.con) if scratch else contextlib.nullcontext():  # as scratch() writes
            self._insert(target, obj, *self._where(temp=scratch))

    def write_view(self, name: str, build: Callable[[Workspace], ibis.Table]) -> ibis.Table:
        """Create (or replace) ``name`` as a view: ``build(ws)``, an expression over the workspace's tables, kept
        as a query rather than a copy of its rows (on DuckDB; other backends write it as a table).

        Inside :meth:`step` the view is made under a staging name over the step's staged tables, and made
        again over the final names when the step swaps its outputs in, in the same transaction.

        Examples
        --------
        >>> ws = connect()
        >>> with ws.step("demo"):
        ...     _ = ws.write("t", pd.DataFrame({"id": [1, 2]}))
        ...     _ = ws.write_view("big", lambda w: w.table("t").filter(ibis._.id > 1))
        ...     ws.table("big").count().execute()
        1
        >>> ws.table("big").count().execute()  # after the swap: a view of the final ``t``
        1
        """
        if self.name != "duckdb":
            return self.write(name, build(self))
        con, target = self.backend.con, name
        if self._staged is not None:
            target = self._staged.setdefault(name, f"{STAGING_PREFIX}{name}")
            self._views[name] = build
        views = self._view_names()
        con.execute("BEGIN TRANSACTION")  # the old table or view is replaced, or left as it was
        try:
            self._create_view(con, target, build(self), views)
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        return self.backend.table(target)

    def _view_names(self) -> set[str]:
        """The names of the workspace's own views (DuckDB: one catalogue query)."""
        rows = self.backend.con.execute(
            "SELECT view_name FROM duckdb_views() WHERE NOT internal AND NOT temporary"
        ).fetchall()
        return {r[0] for r in rows}

    def _create_view(self, con: Any, name: str, table: ibis.Table, views: set[str]) -> None:
        """``CREATE VIEW name AS <table>``, replacing the table or view of that name."""
        con.execute(f"DROP {'VIEW' if name in views else 'TABLE'} IF EXISTS {_quote(name)}")
        con.execute(f"CREATE VIEW {_quote(name)} AS {self.backend.compile(table)}")

    def _where(self, temp: bool) -> tuple[str, str]:
        """The catalogue and schema a table is written in: the connection's own (asked once), or DuckDB's
        temporary ones."""
        if self._home is None:  # the connection's catalogue and schema: asked once, not twice per table
            self._home = tuple(self.backend.con.execute("SELECT current_database(), current_schema()").fetchone())
        return ("temp", "main") if temp else self._home

    def _insert(self, name: str, table: ibis.Table, catalog: str, db: str) -> None:
        """``INSERT INTO catalog.db.name (columns) <table>`` on DuckDB, compiled by ibis."""
        import sqlglot.expressions as sge

        b = self.backend
        cols = [sge.to_identifier(c, quoted=True) for c in table.columns]
        into = sge.table_(name, db=db, catalog=catalog, quoted=True)
        # copy=False: the tree is new and used once (as ibis's own compile does); two copies of it cost
        # more than generating its SQL (0.2 s of a unify on FEBRL 1)
        query = sge.insert(b.compiler.to_sqlglot(table), into=into, columns=cols, copy=False)
        b.con.execute(query.sql(b.dialect, copy=False))

    def _create(
        self, name: str, obj: pd.DataFrame | ibis.Table, temp: bool = False, categories: Categories = None
    ) -> ibis.Table:
        """``backend.create_table(name, obj, overwrite=True, temp=temp)``; on DuckDB the same statements
        ibis runs (the table declared with the expression's types under a work name, filled, swapped in)
        without its two catalogue queries per table, and a temporary table renamed into place, not copied."""
        b = self.backend
        if self.name != "duckdb":
            return b.create_table(name, obj, overwrite=True, temp=temp)
        import duckdb
        from ibis.util import gen_name

        table = obj if isinstance(obj, ibis.Table) else ibis.memtable(obj)
        schema = table.schema()
        if schema.null_fields:  # ibis's own error, which names them
            return b.create_table(name, obj, overwrite=True, temp=temp)
        catalog, db = self._where(temp)
        where = f"{_quote(catalog)}.{_quote(db)}."
        work = gen_name("duckdb_table")  # drop_leftovers removes it if the process dies before the swap
        b._run_pre_execute_hooks(table)  # registers a pandas frame as ibis would
        defs = column_defs(schema, b.dialect, categories)
        try:
            b.con.execute(f"CREATE {'TEMPORARY ' if temp else ''}TABLE {where}{_quote(work)} ({defs})")
            self._insert(work, table, catalog, db)
            try:
                b.con.execute(f"DROP TABLE IF EXISTS {where}{_quote(name)}")
            except duckdb.CatalogException:  # a view of that name (write_view), replaced by a table
                b.con.execute(f"DROP VIEW {where}{_quote(name)}")
            b.con.execute(f"ALTER TABLE {where}{_quote(work)} RENAME TO {_quote(name)}")
        except BaseException:  # a full disk, an interrupt: no half-made table left behind
            with contextlib.suppress(Exception):
                b.con.execute(f"DROP TABLE IF EXISTS {where}{_quote(work)}")
            raise
        finally:
            if not isinstance(obj, ibis.Table):
                with contextlib.suppress(Exception):
                    b.con.execute(f"DROP VIEW IF EXISTS {_quote(table.get_name())}")
        return b.table(name, database=(catalog, db))

    @contextmanager
    def step(self, name: str) -> Iterator[Workspace]:
        """Run step ``name`` atomically: its writes are staged and swapped in together, or not at all.

        Inside the block :meth:`write` builds each output under a staging name (``_cx_stage_customers``) and
        :meth:`table` reads the staged version, so the step sees its own outputs. When the block ends without
        an error, the outputs replace the old tables and the step's row in ``workspace_steps`` (see
        :mod:`cxlib.lineage`) is written, in one transaction on DuckDB. If the block fails, or the process is
        killed, the previous tables are untouched; staging tables left by a killed run are dropped the next time
        the workspace is opened for writing. A full disk becomes a :class:`DataError` that says so.

        Examples
        --------
        >>> ws = connect()
        >>> with ws.step("unify"):
        ...     _ = ws.write("customers", pd.DataFrame({"id": [1, 2]}))
        ...     ws.table("customers").count().execute()
        2
        >>> try:
        ...     with ws.step("unify"):
        ...         _ = ws.write("customers", pd.DataFrame({"id": [9]}))
        ...         raise KeyboardInterrupt
        ... except KeyboardInterrupt:
        ...     pass
        >>> ws.table("customers").count().execute()  # the failed run changed nothing
        2
        """
        import datetime as dt

        from cxlib import lineage

        if self._staged is not None:
            raise RuntimeError(f"step {name!r} started inside another step")
        started = dt.datetime.now(dt.UTC)
        self._staged = {}
        try:
            yield self
            staged, self._staged = self._staged, None
            self._swap(staged, lineage.record(lineage.steps_table(self), name, started, list(staged)))
        except BaseException as e:
            staged, self._staged = self._staged or {}, None
            views, self._views = self._views, {}
            for final, table in staged.items():
                try:
                    drop = self.backend.drop_view if final in views else self.backend.drop_table
                    drop(table, force=True)
                except Exception:  # noqa: BLE001 - the original error matters more
                    pass
            if no_space(e):
                raise DataError(no_space_message(self.folder, name)) from None
            raise
        finally:
            self._staged, self._views = None, {}

    def _swap(self, staged: dict[str, str], steps: pd.DataFrame) -> None:
        """Replace each output by its staged table and write the lineage row: one transaction on DuckDB."""
        from cxlib.lineage import LINEAGE_TABLE

        lineage_stage = f"{STAGING_PREFIX}{LINEAGE_TABLE}"
        self._create(lineage_stage, steps)
        views, self._views = self._views, {}
        pairs = [(final, stage) for final, stage in staged.items() if final not in views]
        pairs.append((LINEAGE_TABLE, lineage_stage))
        if self.name != "duckdb":  # no multi-statement transactions: swap one table at a time
            for final, stage in pairs:
                self.backend.drop_table(final, force=True)
                self.backend.rename_table(stage, final)
            return
        con = self.backend.con
        existing = self._view_names()
        con.execute("BEGIN TRANSACTION")
        try:
            for final, stage in pairs:
                con.execute(f"DROP {'VIEW' if final in existing else 'TABLE'} IF EXISTS {_quote(final)}")
                con.execute(f"ALTER TABLE {_quote(stage)} RENAME TO {_quote(final)}")
            for final, build in views.items():  # made again over the final names, renamed just above
                con.execute(f"DROP VIEW IF EXISTS {_quote(staged[final])}")
                self._create_view(con, final, build(self), existing)
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise

    def drop_leftovers(self) -> list[str]:
        """Drop staging tables a killed step left behind (and engine scratch tables); returns their names."""
        left = [t for t in self.backend.list_tables() if t.startswith((STAGING_PREFIX, "ibis_duckdb_table_"))]
        for t in left:
            try:
                self.backend.drop_table(t, force=True)
            except Exception:  # noqa: BLE001 - a view, not a table
                self.backend.drop_view(t, force=True)
        return left

    def scratch(self, name: str, obj: pd.DataFrame | ibis.Table, row_id: str | None = None) -> ibis.Table:
        """Materialise an intermediate result: a temporary table on DuckDB (so read-only workspaces work and
        nothing is left behind), a regular one on backends without temporary tables (Spark).

        On DuckDB the rows are written in whatever order is fastest (``preserve_insertion_order`` off for
        the write): a scratch table is an intermediate whose row order nothing reads, and keeping the
        order is what runs large writes out of memory. Read one with an ``order_by`` when order matters.

        With ``row_id`` (an Ibis table), the table read back has that column too: a whole number unique to
        each row, in no particular order (a join key). On DuckDB it is each row's ``rowid`` in the scratch
        table, which nothing deletes from or updates: numbering the rows while writing them
        (``ROW_NUMBER() OVER ()``) streams the whole statement on one thread (the unify signatures at 1M:
        25.9 -> 18.0 s). Elsewhere the rows are numbered as they are written.

        Examples
        --------
        >>> ws = connect()
        >>> t = ws.scratch("_s", pd.DataFrame({"x": ["a", "b", "c"]}), row_id="k")
        >>> int(t.k.nunique().execute()), t.columns
        (3, ('x', 'k'))
        """
        if row_id is not None and self.name != "duckdb":
            obj = obj if isinstance(obj, ibis.Table) else ibis.memtable(obj)
            obj = obj.mutate(**{row_id: ibis.row_number().over()})
        if self.name == "pyspark" and isinstance(obj, ibis.Table):
            return self._spark_scratch(name, obj)
        temp = self.name == "duckdb"
        with unordered(self.backend.con) if temp else contextlib.nullcontext():
            t = self._create(name, obj, temp=temp)
        self._scratch.add(name)
        if row_id is not None and temp:
            where = ".".join(_quote(p) for p in (*self._where(temp=True), name))
            return self.backend.sql(f"SELECT *, rowid AS {_quote(row_id)} FROM {where}")
        return t

    def _spark_scratch(self, name: str, table: ibis.Table) -> ibis.Table:
        """On Spark, a scratch result is computed once and kept in the executors' memory (spilling to their
        disk), cut from the plan that made it (a local checkpoint, so a chain of intermediates does not
        recompute its history), and named by a temporary view: no Parquet written to the warehouse and read
        back for each of the few dozen intermediates a unify run makes."""
        b = self.backend
        b._run_pre_execute_hooks(table)
        df = b._session.sql(b.compile(table)).localCheckpoint(eager=True)
        df.createOrReplaceTempView(name)
        self._scratch.add(name)
        return b.table(name)

    def drop_scratch(self, *names: str) -> None:
        """Drop every table :meth:`scratch` made, or only ``names`` (those no later query reads: on DuckDB a
        temporary table holds memory, and past the memory limit its blocks go to the temporary folder)."""
        for name in sorted(set(names) & self._scratch if names else self._scratch):
            self.backend.drop_table(name, force=True)
            self._scratch.discard(name)

    def summary(self) -> pd.DataFrame:
        """Rows and date range of each canonical table the workspace holds.

        Runs in the engine (one small aggregate per table). Returns ``table_name, rows,
        first_ts, last_ts``; tables without a time column have empty dates.
        """
        frames = []
        for name, t in TABLES.items():
            if not self.has(name):
                continue
            tab = self.table(name)
            if t.time_column:
                ts = tab[t.time_column]
                agg = tab.aggregate(rows=tab.count(), first_ts=ts.min(), last_ts=ts.max())
            else:
                agg = tab.aggregate(rows=tab.count())
            df = agg.to_pandas()
            df.insert(0, "table_name", name)
            frames.append(df)
        if not frames:
            return pd.DataFrame(columns=["table_name", "rows", "first_ts", "last_ts"])
        out = pd.concat(frames, ignore_index=True)
        for c in ("first_ts", "last_ts"):
            if c not in out:
                out[c] = pd.NaT
            out[c] = pd.to_datetime(out[c]).astype("datetime64[us]")
        out["rows"] = out["rows"].astype("int64")
        return out[["table_name", "rows", "first_ts", "last_ts"]]

    def rows_by_source(self) -> pd.DataFrame:
        """Rows per canonical table and source system: ``table_name, source, rows``."""
        frames = []
        for name in TABLES:
            if self.has(name):
                tab = self.table(name)
                df = tab.group_by("source").aggregate(rows=tab.count()).to_pandas()
                df.insert(0, "table_name", name)
                frames.append(df)
        if not frames:
            return pd.DataFrame(columns=["table_name", "source", "rows"])
        out = pd.concat(frames, ignore_index=True)
        out["rows"] = out["rows"].astype("int64")
        return out.sort_values(["table_name", "source"], ignore_index=True)

    def monthly_activity(self) -> pd.DataFrame:
        """Rows per canonical table and month of its time column: ``table_name, month, rows``."""
        frames = []
        for name, t in TABLES.items():
            if self.has(name) and t.time_column:
                tab = self.table(name)
                tab = tab.filter(tab[t.time_column].notnull())
                month = tab[t.time_column].truncate("M").name("month")
                df = tab.group_by(month).aggregate(rows=tab.count()).to_pandas()
                df.insert(0, "table_name", name)
                frames.append(df)
        if not frames:
            return pd.DataFrame(columns=["table_name", "month", "rows"])
        out = pd.concat(frames, ignore_index=True)
        out["month"] = pd.to_datetime(out["month"]).astype("datetime64[us]")
        out["rows"] = out["rows"].astype("int64")
        return out.sort_values(["table_name", "month"], ignore_index=True)

    def quarantine_reasons(self) -> pd.DataFrame:
        """Problems the last load found, counted: ``table_name, column, reason, action, rows``."""
        if not self.has("quarantine"):
            return pd.DataFrame(columns=["table_name", "column", "reason", "action", "rows"])
        q = self.table("quarantine")
        df = q.group_by(["table_name", "column", "reason", "action"]).aggregate(rows=q.count()).to_pandas()
        df["rows"] = df["rows"].astype("int64")
        return df.sort_values(["table_name", "rows"], ascending=[True, False], ignore_index=True)

    def close(self) -> None:
        """Release the backend's connection (DuckDB file locks)."""
        disconnect = getattr(self.backend, "disconnect", None)
        if disconnect is not None:
            disconnect()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        where = f" {self.folder}" if self.folder else ""
        return f"<Workspace{where} on {self.name}: {', '.join(self.list_tables()) or 'no tables'}>"


def connect(path_or_backend: str | Path | BaseBackend | None = None, *, read_only: bool = False) -> Workspace:
    """Open a workspace.

    Parameters
    ----------
    path_or_backend : str, Path or Ibis backend, optional
        A workspace folder (its ``workspace.duckdb`` is opened, created if missing), a
        ``.duckdb`` file, or any Ibis backend -- e.g. ``ibis.pyspark.connect(spark_session)``.
        ``None`` opens an in-memory DuckDB.
    read_only : bool
        Open a DuckDB file read-only (lets several readers share it).

    Returns
    -------
    Workspace

    Examples
    --------
    >>> import pandas as pd
    >>> ws = connect()
    >>> ws.name
    'duckdb'
    >>> ws.write("t", pd.DataFrame({"a": [1, 2]})).count().execute()
    2
    """
    if isinstance(path_or_backend, BaseBackend):
        return Workspace(path_or_backend)
    if path_or_backend is None:
        return Workspace(ibis.duckdb.connect(**duckdb_config()))
    p = Path(path_or_backend)
    if p.suffix == ".duckdb":
        folder, db = p.parent, p
    else:
        if not p.is_dir():
            raise DataError(
                f"workspace folder {p} does not exist; create it with `cx generate --out {p}` or put your "
                "source files there"
            )
        folder, db = p, p / DATABASE_NAME
    if read_only and not db.exists():
        raise DataError(f"{db} does not exist yet; build it with `cx load {folder}`")
    try:
        backend = ibis.duckdb.connect(str(db), read_only=read_only, **duckdb_config())
    except Exception as e:  # duckdb.IOException: another process holds the file
        if "lock" in str(e).lower():
            raise DataError(busy_message(folder, str(e))) from None
        if type(e).__module__.startswith(("duckdb", "_duckdb")) and "permission denied" in str(e).lower():
            raise DataError(
                f"{db} cannot be opened{' for writing' if not read_only else ''}: permission denied. Run the step "
                "as a user who may write the workspace folder, or copy the folder somewhere you may"
            ) from None
        damaged = ("not a valid duckdb database", "could not read enough bytes", "corrupt", "checksum")
        if any(d in str(e).lower() for d in damaged):  # cut short, not a database: not a setting or a lock
            raise DataError(
                f"{db} cannot be opened ({str(e).splitlines()[0][:200]}). It is derived from the source files: "
                f"delete it and run `cx load {folder}` again (a copy cut short or a disk error damages it)"
            ) from None
        raise
    backend.raw_sql("SET TimeZone = 'UTC'")
    ws = Workspace(backend, folder)
    if not read_only:
        ws.drop_leftovers()
    return ws


@contextmanager
def opened(workspace: Workspace | str | Path | BaseBackend | None, *, read_only: bool = False) -> Iterator[Workspace]:
    """A workspace for the length of a ``with`` block: the one given (a Workspace or an Ibis backend, left open),
    or one opened from a path and closed after.

    This is the one idiom for functions that accept "a folder or a :class:`Workspace`": a workspace the
    caller passes stays open (it is theirs); one this opens from a path (or a backend) is closed on exit,
    so no DuckDB handle outlives the call.

    Examples
    --------
    >>> ws = connect()
    >>> with opened(ws) as w:
    ...     w is ws
    True
    """
    if isinstance(workspace, Workspace):
        yield workspace
        return
    if isinstance(workspace, BaseBackend):  # the caller's backend (a Spark session, say) stays open
        yield Workspace(workspace)
        return
    ws = connect(workspace, read_only=read_only)
    try:
        yield ws
    finally:
        ws.close()
