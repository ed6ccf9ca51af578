"""Shared fixtures: a small generated company, its loaded workspace, and the engines (DuckDB and Spark)."""

from __future__ import annotations

import fcntl
import os
import pickle
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from cxlib import io, synth
from cxlib.schema import TABLES

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require(ok: bool, what: str) -> None:
    """Skip when a system dependency is missing -- but fail under CI, which must never go green by skipping."""
    if ok:
        return
    msg = f"{what} is missing: run `make test` (scripts/install-system-deps.sh installs it)"
    if IN_CI:
        pytest.fail(msg + " [CI=true: failing instead of skipping]")
    pytest.skip(msg)


def java_ok() -> bool:
    if not shutil.which("java"):
        return False
    out = subprocess.run(["java", "-version"], capture_output=True, text=True).stderr
    return any(f'version "{v}' in out for v in range(17, 30))


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


def _built_once(tmp_path_factory, name: str, build: Callable[[Path], None]) -> Path:
    """Folder ``name`` built by ``build`` once for the whole run, and this process's own copy of it.

    Under pytest-xdist every worker is a process with its own session fixtures: each of the three would generate,
    load and unify the same company. Here the first worker to ask builds it into the folder the workers share
    (the run's base temporary folder) while the others wait on a lock; each then copies it into a folder of its
    own, so a test's writes stay in its worker as before.
    """
    mine = tmp_path_factory.mktemp(name)
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        build(mine)
        return mine
    shared = tmp_path_factory.getbasetemp().parent  # the run's folder: one per run, shared by its workers
    built = shared / f"shared-{name}"
    with open(shared / f"shared-{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (shared / f"shared-{name}.done").exists():
            shutil.rmtree(built, ignore_errors=True)  # a half-built folder of a worker that failed
            built.mkdir()
            build(built)
            (shared / f"shared-{name}.done").touch()
    shutil.copytree(built, mine, dirs_exist_ok=True)
    return mine


@pytest.fixture(scope="session")
def company(tmp_path_factory) -> synth.SyntheticCompany:
    """A small company in memory: 4,000 people over 24 months (generated once for the run, see ``_built_once``)."""

    def build(folder: Path) -> None:
        company = synth.generate(n_customers=4_000, seed=11, months=24)
        (folder / "company.pickle").write_bytes(pickle.dumps(company, protocol=pickle.HIGHEST_PROTOCOL))

    return pickle.loads((_built_once(tmp_path_factory, "company", build) / "company.pickle").read_bytes())


@pytest.fixture(scope="session")
def workspace(tmp_path_factory, company) -> Path:
    """The small company written to a folder, loaded into its workspace.duckdb and unified."""
    from cxlib import unify

    def build(folder: Path) -> None:
        company.write(folder)
        io.load(folder)
        unify.unify(folder)

    return _built_once(tmp_path_factory, "ws", build)


@pytest.fixture(scope="session")
def journeys_workspace(workspace, tmp_path_factory) -> Path:
    """A copy of the session workspace after `cx journeys` (customer_stages, stage_history, the kept rows)."""
    from cxlib import journeys

    def build(folder: Path) -> None:
        shutil.copy(workspace / "workspace.duckdb", folder / "workspace.duckdb")
        journeys.build(folder)

    return _built_once(tmp_path_factory, "journeys_ws", build)


@pytest.fixture(scope="session")
def full_workspace(journeys_workspace, tmp_path_factory) -> Path:
    """The unified test company with every later step run, as the CLI runs them: journeys, personas, scenarios.

    The report tests and the app's every-page browser test read it (neither writes to it).
    """
    from cxlib import personas, simulate

    def build(folder: Path) -> None:
        shutil.copy(journeys_workspace / "workspace.duckdb", folder / "workspace.duckdb")  # `cx journeys` run
        personas.write_personas(folder)
        simulate.build(folder, draws=500)

    return _built_once(tmp_path_factory, "full_ws", build)


@pytest.fixture(scope="session")
def engine_workspace(tmp_path_factory) -> Path:
    """A smaller company for the engine-parity tests, loaded and unified: 1,500 people over 24 months.

    Spark's cost is per query and per row copied into it, and parity needs every code path, not every person:
    the Spark copy and its DuckDB reference are this company (the other tests use the 4,000-person one).
    """
    from cxlib import unify

    def build(folder: Path) -> None:
        synth.generate(n_customers=1_500, seed=11, months=24).write(folder)
        io.load(folder)
        unify.unify(folder)

    return _built_once(tmp_path_factory, "engine_ws", build)


@pytest.fixture(scope="session")
def spark_session(tmp_path_factory):
    require(java_ok(), "Java 17")
    try:
        from pyspark.sql import SparkSession
    except ImportError:  # pragma: no cover
        require(False, "pyspark (pip install -e .[spark])")
    warehouse = tmp_path_factory.mktemp("spark-warehouse")
    # the workers run this Python (the system's may have no pandas: a frame with a missing value is sent to
    # them pickled, pandas.NA and all)
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    spark = (
        SparkSession.builder.master("local[2]")
        .appName("cxlib-tests")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.warehouse.dir", str(warehouse))
        # the client JIT only and one GC thread: the test JVM runs minutes of small queries, not hours of
        # large ones; the optimising compiler's and parallel GC's threads cost it 40% more CPU (measured) for
        # no shorter wall time -- CPU the other pytest workers on two cores need
        .config(
            "spark.driver.extraJavaOptions",
            f"-Dderby.system.home={warehouse} -XX:TieredStopAtLevel=1 -XX:+UseSerialGC",
        )
        # the test companies are tiny: one shuffle partition, no whole-stage code generation and no adaptive
        # re-planning take a few seconds off each of the hundreds of small jobs a unify run starts
        .config("spark.sql.shuffle.partitions", "1")
        .config("spark.sql.codegen.wholeStage", "false")
        .config("spark.sql.adaptive.enabled", "false")
        .config("spark.driver.memory", "1g")  # the test company is small; two groups may run two JVMs
        .getOrCreate()
    )
    yield spark
    spark.stop()


_SPARK_COPIED = ("load_log", "quarantine", "identity_links", "customers", "touchpoints")


@pytest.fixture(scope="session")
def spark_workspace(spark_session, engine_workspace):
    """The engine workspace's source, load and unified tables copied into local PySpark."""
    import ibis

    import cxlib

    ws = cxlib.connect(ibis.pyspark.connect(spark_session))
    with cxlib.connect(engine_workspace, read_only=True) as src:
        for name in src.list_tables():
            if name in TABLES or name in _SPARK_COPIED:  # the engine-level inputs and the unified stream
                # through Arrow: nulls stay null and types stay exact (pandas would hand Spark NaN for
                # missing numbers and the text 'NaN' for missing strings)
                # written to the warehouse (on disk), not kept as an in-memory relation in the driver's heap
                sdf = spark_session.createDataFrame(src.table(name).to_pyarrow())
                sdf.write.mode("overwrite").saveAsTable(name)
    return ws


@pytest.fixture(
    params=[
        pytest.param("duckdb", marks=[pytest.mark.xdist_group("spark")]),  # beside Spark: one engine_workspace
        pytest.param("spark", marks=[pytest.mark.spark, pytest.mark.xdist_group("spark")]),
    ]
)
def engine(request, engine_workspace):
    """The engine workspace on each engine: its DuckDB file, and the same tables in local PySpark.

    Every event-scale function is tested through this fixture, so it runs on both.
    """
    import cxlib

    if request.param == "spark":
        yield request.getfixturevalue("spark_workspace")
        return
    ws = cxlib.connect(engine_workspace, read_only=True)
    yield ws
    ws.close()
