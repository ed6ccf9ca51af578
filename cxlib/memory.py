"""DuckDB's memory and spill settings for every connection cxlib opens, and one budget shared between two.

Examples
--------
>>> duckdb_config()["memory_limit"]
'4GB'
"""

from __future__ import annotations

import contextlib
import itertools
import os
import re
from collections.abc import Iterator
from typing import Any

__all__ = ["duckdb_config", "lent_memory", "memory_limit_bytes", "no_space", "no_space_message"]

#: A size as DuckDB reads and shows one (``4GB``, ``3.7 GiB``): checked before it goes into a ``SET``.
_SIZE = re.compile(r"\s*([0-9.]+)\s*([A-Za-z]*)\s*")


def duckdb_config() -> dict[str, str]:
    """Settings for every DuckDB connection cxlib opens.

    DuckDB's own default lets its buffer pool grow to 80% of the machine's memory; cxlib caps it
    (``CX_DUCKDB_MEMORY_LIMIT``, default ``4GB``) so that large workspaces spill to disk instead, into
    ``CX_TEMP_DIR`` when it is set (DuckDB's default: next to the database file).

    Each call names a folder of its own inside ``CX_TEMP_DIR`` (DuckDB makes it when it first spills and
    removes it on close): every DuckDB database names its spill files the same way, so two of them sharing
    one folder -- the workspace's and splink's in ``cx unify``, or two processes -- overwrite each other's
    spilled blocks (a wrong read or a crash).

    A limit that is not a size (``CX_DUCKDB_MEMORY_LIMIT=lots``) and a ``CX_TEMP_DIR`` that cannot be made are a
    :class:`~cxlib.schema.DataError` naming the setting (they were a parser error and a "Failed to create
    directory" traceback from every command).

    Examples
    --------
    >>> import os, tempfile
    >>> os.environ["CX_TEMP_DIR"] = tempfile.mkdtemp()
    >>> a, b = duckdb_config()["temp_directory"], duckdb_config()["temp_directory"]
    >>> a.startswith(os.environ["CX_TEMP_DIR"] + "/cx-") and a != b
    True
    >>> del os.environ["CX_TEMP_DIR"]
    """
    from cxlib.schema import DataError

    limit = os.environ.get("CX_DUCKDB_MEMORY_LIMIT", "4GB")
    m = _SIZE.fullmatch(limit)
    unit = m.group(2).upper() if m else ""
    if not m or not unit or (unit not in _UNITS and unit not in _SHORT_UNITS) or m.group(1).count(".") > 1:
        raise DataError(f"CX_DUCKDB_MEMORY_LIMIT={limit!r} is not a size: write it as 4GB, 800MB or 16GiB")
    config = {"memory_limit": limit}
    if os.environ.get("CX_TEMP_DIR"):
        folder = os.environ["CX_TEMP_DIR"]
        try:
            os.makedirs(folder, exist_ok=True)
        except OSError as e:
            raise DataError(f"CX_TEMP_DIR={folder!r} cannot be made ({e.strerror}): set it to a folder on a disk "
                            "with room, or unset it") from None  # fmt: skip
        config["temp_directory"] = os.path.join(folder, f"cx-{os.getpid()}-{next(_TEMP_NAMES)}")
    return config


_TEMP_NAMES = itertools.count()

#: The one-letter units DuckDB also reads in a memory limit (``4G``).
_SHORT_UNITS = frozenset({"K", "M", "G", "T"})

_UNITS = {"": 1, "B": 1, "BYTE": 1, "BYTES": 1, "KB": 1e3, "MB": 1e6, "GB": 1e9, "TB": 1e12, "PB": 1e15,
          "KIB": 2**10, "MIB": 2**20, "GIB": 2**30, "TIB": 2**40, "PIB": 2**50}  # fmt: skip


def memory_limit_bytes(con: Any) -> float | None:
    """DuckDB's ``memory_limit`` of ``con`` (a DuckDB connection or an Ibis DuckDB backend) in bytes, as DuckDB
    shows it back (``4GB`` reads ``3.7 GiB``); ``None`` when it does not read. What a step sizes its batches by.

    Examples
    --------
    >>> import duckdb
    >>> memory_limit_bytes(duckdb.connect(config={"memory_limit": "4GB"})) / 2**30
    3.7
    """

    run = con.raw_sql if hasattr(con, "raw_sql") else con.execute
    text = run("SELECT current_setting('memory_limit')").fetchone()[0]
    m = _SIZE.fullmatch(str(text))
    if not m or m.group(2).upper() not in _UNITS:
        return None
    return float(m.group(1)) * _UNITS[m.group(2).upper()]


@contextlib.contextmanager
def lent_memory(backend: Any, share: float = 0.5) -> Iterator[float | None]:
    """Lend ``share`` of a DuckDB backend's memory limit to another DuckDB instance for the block: the
    backend's limit is lowered by that much (DuckDB evicts its buffers down to it) and put back after. Yields
    the bytes lent, to give the other instance as its own ``memory_limit`` (``None``, nothing lowered, for
    another engine or when DuckDB cannot free that much now): two DuckDBs in one process then stay within one
    budget instead of each taking all of it (``cx unify``'s splink beside the workspace). The limit is put back
    as :func:`duckdb_config` sets it.

    Examples
    --------
    >>> import duckdb
    >>> con = duckdb.connect(config=duckdb_config())
    >>> with lent_memory(con) as lent:
    ...     round(lent / 2**30, 2), round(memory_limit_bytes(con) / 2**30, 2)
    (1.85, 1.8)
    >>> round(memory_limit_bytes(con) / 2**30, 1)
    3.7
    """
    import duckdb

    raw = getattr(backend, "con", backend)
    limit = memory_limit_bytes(raw) if isinstance(raw, duckdb.DuckDBPyConnection) else None
    # put back as configured: what DuckDB shows back is rounded, and setting that again would shrink the limit
    configured = str(duckdb_config()["memory_limit"])
    if limit is None or not _SIZE.fullmatch(configured):
        yield None
        return
    lent = limit * share
    try:
        raw.execute(f"SET memory_limit = '{int((limit - lent) // 2**20)}MiB'")
    except Exception:  # noqa: BLE001 - DuckDB could not free that much now: lend nothing
        yield None
        return
    try:
        yield lent
    finally:
        raw.execute(f"SET memory_limit = '{configured}'")


def no_space(e: BaseException) -> bool:
    """Whether ``e`` says a disk is full (an ``OSError`` ENOSPC, or DuckDB's "No space left on device").

    >>> no_space(OSError(28, "No space left on device")), no_space(ValueError("bad value"))
    (True, False)
    """
    text = str(e).lower()
    return isinstance(e, OSError) and getattr(e, "errno", None) == 28 or "no space left" in text


def no_space_message(where: Any, step: str) -> str:
    """What to say when a disk filled during ``cx STEP`` on the workspace folder ``where`` (None: in memory)."""
    import shutil
    from pathlib import Path

    folder = Path(where) if where is not None else Path.cwd()
    free = shutil.disk_usage(folder).free / 1e9
    size = sum(f.stat().st_size for f in folder.glob("*.duckdb")) / 1e9 if where is not None else 0.0
    return (
        f"no space left on the device of {folder} during `cx {step}` ({free:.1f} GB free; it needs about "
        f"{max(1.0, 2 * size):.0f} GB: room for a second copy of the workspace while the step builds it). The "
        "workspace is unchanged. Free some space, or set CX_TEMP_DIR to a folder on a larger disk for the "
        "engine's temporary files."
    )
