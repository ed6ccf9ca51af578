"""The probabilistic matching model: comparisons, blocking rules and training, built from :class:`UnifyConfig`.

splink's recommended practice for person records (its own FEBRL examples): one comparison per independent
piece of evidence, each with several levels of agreement; term-frequency adjustment where a value's
commonness matters (``smith`` agreeing says less than ``sondergeld``); several blocking rules on different
fields, so that a typo in one field cannot hide a pair; EM trained over more than one blocking rule (each
session fixes the fields it blocks on and estimates the others).

The built-in comparisons, by the name of the field they compare (see ``docs/unify.md``):

``first_name``, ``last_name``
    Exact (term-frequency adjusted), **swapped** with the other name, (first name only) one side the other's
    **initial**, Jaro-Winkler >= 0.92, 0.88, 0.7, else.
``birth_date``
    ``YYYYMMDD`` text: exact, one edit (a typo), within a month, a year, ten years, else. A date the loader
    could not parse is compared by its raw text (column ``birth_date_raw`` when the workspace has it).
``street_number``
    Exact (term-frequency adjusted), else; the leading number of ``street`` when there is no such column.
``street``
    The street name without its number: exact (term-frequency adjusted), Jaro-Winkler >= 0.9, 0.8, else.
``postcode``
    Exact (term-frequency adjusted), one edit, else.
``city``
    Exact (term-frequency adjusted), Jaro-Winkler >= 0.9, else.
``email``, ``phone``
    The same (an e-mail without its ``+tag``, case apart; a phone's last nine digits), else. Records that
    share one are mostly joined already by the deterministic step, so what this adds is the **evidence
    against**: two records with different e-mails and different phones are less likely one person (two
    namesakes of one household). A value held by more records than the over-merge guard allows
    (``UnifyConfig.max_records``) is compared as missing. Left out where no record has one (FEBRL).

Any other comparison can be given as a splink comparison object (``splink.comparison_library``) over these
fields or over the contacts columns named in :attr:`UnifyConfig.match_columns`.

Examples
--------
>>> rule_sql(("first_name", "last_name"))
'l."first_name" = r."first_name" AND l."last_name" = r."last_name"'
>>> [c.get_comparison("duckdb").output_column_name for c in comparisons(UnifyConfig())][:3]
['first_name', 'last_name', 'birth_date']
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from cxlib.unify.config import UnifyConfig
from cxlib.unify.u_sampling import estimate_u

__all__ = ["BUILT_IN", "CONTACT_POINTS", "comparisons", "estimate_u", "rule_sql", "settings", "train"]

#: The fields the built-in comparisons compare (the features :mod:`cxlib.unify.probabilistic` prepares).
BUILT_IN = (
    "first_name", "last_name", "birth_date", "address", "street_number", "street", "postcode", "city", "email", "phone",
)  # fmt: skip
#: Built-in comparisons of one contact point each: left out of a model whose records have none.
CONTACT_POINTS = ("email", "phone")


#: Conditions of the built-in comparisons that are not exact matches (``col_l = col_r``, or several ANDed), by
#: construction: :func:`_parse_once` answers splink's question for them without normalising their SQL.
_NOT_EXACT: set[str] = set()


def _inexact(sql: str) -> str:
    """``sql``, a condition of a built-in level that is no exact match, remembered as such."""
    _NOT_EXACT.add(sql)
    return sql


def rule_sql(rule: str | tuple[str, ...]) -> str:
    """A blocking rule as splink SQL: a tuple of fields that must agree exactly, or SQL as given."""
    if isinstance(rule, str):
        return rule
    return " AND ".join(f'l."{c}" = r."{c}"' for c in rule)


def _initial(col: str) -> str:
    """One side is a single letter, the other starts with it (``R.`` and ``Robert``; the dot is normalised
    away). Jaro-Winkler puts ``r`` and ``robert`` (0.72) with ``sophie`` and ``aoife`` (0.72): as a level of its
    own, an initial does not make every loosely similar pair of names look like a match."""
    one = 'length("{a}") = 1 AND length("{b}") > 1 AND substr("{b}", 1, 1) = "{a}"'
    return " OR ".join(f"({one.format(a=a, b=b)})" for a, b in ((f"{col}_l", f"{col}_r"), (f"{col}_r", f"{col}_l")))


def _could_be_close(col: str, threshold: float = 0.7) -> str:
    """A necessary condition for Jaro-Winkler >= ``threshold`` (0.7 or more), from the letter counts
    (``{col}_letters``, see :func:`cxlib.unify.probabilistic.with_counts`) and the lengths in bytes (DuckDB
    compares bytes).

    DuckDB adds the common-prefix bonus (0.1 per character of a common prefix of at most 4) only above a Jaro
    similarity of 0.7, so Jaro-Winkler ``= j + 0.1 l (1 - j) <= 0.6 j + 0.4``: at least ``threshold`` needs
    Jaro ``j >= max(0.7, (threshold - 0.4) / 0.6)`` (0.8 for 0.88, 0.867 for 0.92). Jaro is at most
    ``(m / la + m / lb + 1) / 3`` with ``m`` the matching characters, and ``m`` at most the characters the two
    have in common, ``(la + lb - d) / 2`` with ``d`` the sum of the differences in letter counts (other bytes
    and counts over two left out: that only makes ``d`` smaller). Integer operations on every pair, where
    Jaro-Winkler was three computations per pair (a third of all comparison cost); on FEBRL about one random
    pair in ten passes at 0.7, fewer at the higher thresholds.

    >>> _could_be_close("x", 0.92).split(" >= ")[1]
    '32 * strlen("x_l") * strlen("x_r")'
    """
    jaro = max(0.7, (threshold - 0.4) / 0.6)
    k = math.floor(20 * (3 * jaro - 1) + 1e-9)  # (la + lb - d)(la + lb) >= 2 (3 j - 1) la lb, times ten; floored
    la, lb = f'strlen("{col}_l")', f'strlen("{col}_r")'
    d = f'bit_count(xor("{col}_letters_l", "{col}_letters_r"))'
    return f"10 * ({la} + {lb} - {d}) * ({la} + {lb}) >= {k} * {la} * {lb}"


def _jaro_winkler(col: str, threshold: float) -> Any:
    """splink's ``JaroWinklerLevel`` (the same label), with :func:`_could_be_close` checked first."""
    import splink.comparison_level_library as cll

    if threshold < 0.7:
        return cll.JaroWinklerLevel(col, threshold)
    return cll.CustomLevel(
        _inexact(f'{_could_be_close(col, threshold)} AND jaro_winkler_similarity("{col}_l", "{col}_r") >= {threshold}'),
        label_for_charts=f"Jaro-Winkler distance of {col} >= {threshold}",
    )


def _name(col: str, other: str, tf: bool, initial: bool = False) -> Any:
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl

    levels = [
        cll.NullLevel(col),
        cll.ExactMatchLevel(col, term_frequency_adjustments=tf),
        cll.ColumnsReversedLevel(col, other).configure(label_for_charts=f"{col} and {other} swapped"),
    ]
    if initial:
        levels.append(cll.CustomLevel(_inexact(_initial(col)), label_for_charts="an initial of the other"))
    levels += [_jaro_winkler(col, 0.92), _jaro_winkler(col, 0.88), _jaro_winkler(col, 0.7)]
    return cl.CustomComparison(
        [*levels, cll.ElseLevel()],
        output_column_name=col,
        comparison_description=f"{col}: exact, swapped with {other}, {'initial, ' if initial else ''}"
        "Jaro-Winkler 0.92/0.88/0.7",
    )


def _levels(col: str, tf: bool, jaro: tuple[float, ...] = (), edits: tuple[int, ...] = ()) -> Any:
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl

    levels = [cll.NullLevel(col), cll.ExactMatchLevel(col, term_frequency_adjustments=tf)]
    levels += [cll.JaroWinklerLevel(col, t) for t in jaro]
    levels += [cll.DamerauLevenshteinLevel(col, d) for d in edits]
    return cl.CustomComparison([*levels, cll.ElseLevel()], output_column_name=col)


def _one_edit(col: str) -> str:
    """At most one edit or one swap of neighbours: Damerau-Levenshtein <= 1, computed only where the cheap
    Levenshtein distance is <= 2 (DuckDB evaluates the AND selectively: Damerau-Levenshtein on every random
    pair cost 2 s per million pairs)."""
    return f'levenshtein("{col}_l", "{col}_r") <= 2 AND damerau_levenshtein("{col}_l", "{col}_r") <= 1'


def _birth_date() -> Any:
    """Exact, one typo (an edit or two swapped digits, on the text: unparseable text is still compared),
    two typos, day and month swapped, within a month, within a year, else."""
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl

    # days since 1970, parsed once per record (probabilistic.features), not once per pair: 7 s of 11 on FEBRL 2
    days = 'abs("birth_days_l" - "birth_days_r")'
    # a necessary condition for k edits (see probabilistic._digit_counts), integer operations: the edit
    # distances are computed only where it holds -- they were 0.5 of 1.3 CPU s of all comparisons on 1M pairs
    counts = 'bit_count(xor("birth_digits_l", "birth_digits_r"))'
    swapped = (  # the same digits (counts) first: integers, and nearly no random pair has them
        '"birth_digits_l" = "birth_digits_r" AND substr("birth_date_l", 1, 4) = substr("birth_date_r", 1, 4) AND '
        'substr("birth_date_l", 5, 2) = substr("birth_date_r", 7, 2) AND '
        'substr("birth_date_l", 7, 2) = substr("birth_date_r", 5, 2)'
    )
    return cl.CustomComparison(
        [
            cll.NullLevel("birth_date"),
            cll.ExactMatchLevel("birth_date"),
            cll.CustomLevel(_inexact(f"{counts} <= 2 AND {_one_edit('birth_date')}"), label_for_charts="one typo"),
            cll.CustomLevel(_inexact(swapped), label_for_charts="day and month swapped"),
            cll.CustomLevel(
                _inexact(f'{counts} <= 4 AND levenshtein("birth_date_l", "birth_date_r") <= 2'),
                label_for_charts="two typos",
            ),
            cll.CustomLevel(_inexact(f"{days} <= 31"), label_for_charts="within a month"),
            cll.CustomLevel(_inexact(f"{days} <= 366"), label_for_charts="within a year"),
            cll.ElseLevel(),
        ],
        output_column_name="birth_date",
        comparison_description="birth date: exact, typos, day/month swapped, within a month or a year",
    )


def _address() -> Any:
    """One graded comparison of the whole address: street number, street, postcode and city agree or not
    together (people of one household share all four), so they are one piece of evidence, not four."""
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl

    def eq(c: str) -> str:
        return f'"{c}_l" = "{c}_r"'

    number = "coalesce(\"street_number_l\", '') = coalesce(\"street_number_r\", '')"
    street_close = f'{_could_be_close("street", 0.88)} AND jaro_winkler_similarity("street_l", "street_r") >= 0.88'
    postcode_close = _one_edit("postcode")
    levels = [
        ('("postcode_l" IS NULL OR "postcode_r" IS NULL) AND ("street_l" IS NULL OR "street_r" IS NULL)', "null"),
        (f"{eq('postcode')} AND {eq('street')} AND {number}", "same street, number and postcode"),
        (f"{eq('postcode')} AND ({eq('street')} OR ({number} AND {street_close}))", "same postcode, street close"),
        (f"{eq('street')} AND {number} AND ({postcode_close} OR {eq('city')})", "same street and number"),
        (f"{eq('postcode')}", "same postcode"),
        (f"{street_close} AND ({postcode_close} OR {eq('city')})", "street close, postcode or city close"),
        (f"{eq('city')}", "same city"),
    ]
    exact = ("same postcode", "same city")  # plain equalities: splink decides (they are exact matches)
    out = [
        cll.CustomLevel(sql if label in exact else _inexact(sql), label_for_charts=label).configure(
            is_null_level=label == "null"
        )
        for sql, label in levels
    ]
    return cl.CustomComparison(
        [*out, cll.ElseLevel()], output_column_name="address", comparison_description="address, graded"
    )


def _contact_point(col: str) -> Any:
    """The same value, else: an e-mail or phone normalised by :func:`cxlib.unify.probabilistic.features`."""
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl

    return cl.CustomComparison(
        [cll.NullLevel(col), cll.ExactMatchLevel(col), cll.ElseLevel()],
        output_column_name=col,
        comparison_description=f"{col}: the same, else",
    )


def built_in(field: str, tf: bool) -> Any:
    """The built-in comparison of ``field`` (one of :data:`BUILT_IN`), with or without term frequencies."""

    if field == "first_name":
        return _name("first_name", "last_name", tf, initial=True)
    if field == "last_name":
        return _name("last_name", "first_name", tf)
    if field == "birth_date":
        return _birth_date()
    if field == "street":
        return _levels("street", tf, jaro=(0.9, 0.8))
    if field == "postcode":
        return _levels("postcode", tf, edits=(1,))
    if field == "city":
        return _levels("city", tf, jaro=(0.9,))
    if field == "street_number":
        return _levels("street_number", tf)
    if field == "address":
        return _address()
    if field in CONTACT_POINTS:
        return _contact_point(field)
    raise ValueError(f"no built-in comparison {field!r}; built in: {', '.join(BUILT_IN)}")


def comparisons(cfg: UnifyConfig, absent: frozenset[str] = frozenset()) -> list[Any]:
    """The splink comparisons of ``cfg``: built-in ones by field name, others as given; built-in
    :data:`CONTACT_POINTS` in ``absent`` (no record has one) left out."""
    tf = set(cfg.term_frequency)
    return [
        built_in(c, c in tf) if isinstance(c, str) else c
        for c in cfg.comparisons
        if not (isinstance(c, str) and c in absent and c in CONTACT_POINTS)
    ]


def settings(cfg: UnifyConfig, absent: frozenset[str] = frozenset()) -> Any:
    """splink's ``SettingsCreator`` for a new model of ``cfg`` (see :func:`comparisons` for ``absent``)."""
    from splink import SettingsCreator

    return SettingsCreator(
        link_type="dedupe_only",
        comparisons=comparisons(cfg, absent),
        blocking_rules_to_generate_predictions=[rule_sql(r) for r in cfg.blocking_rules],
        retain_intermediate_calculation_columns=False,
    )


@contextmanager
def _m_floor(floor: float) -> Iterator[None]:
    """While training, an m probability that EM drives to (or under) zero is set to ``floor`` instead.

    splink 5.0 raises ``ValueError: m_probability value 0.0 is below the minimum allowed value`` when EM
    estimates a level's m as exactly zero (every pair at that level scored a probability that underflows,
    e.g. city "all other" on data where true matches never move town), which stops training altogether.
    A zero m would also make the level a veto; ``floor`` keeps it a strong, finite piece of evidence.
    """
    from splink.internals.comparison_level import ComparisonLevel

    prop = ComparisonLevel.m_probability

    def floored(self: Any, value: Any) -> None:
        prop.fset(self, floor if isinstance(value, (int, float)) and value < floor else value)

    ComparisonLevel.m_probability = property(prop.fget, floored)
    try:
        yield
    finally:
        ComparisonLevel.m_probability = prop


_EXACT: dict[tuple[str, str], bool] = {}
_COLUMNS: dict[tuple[str, str], list] = {}
_VALID: set[tuple[str, str]] = set()
_BUILDERS: dict[tuple[str, str], Any] = {}
_BUILT_SQL: dict[Any, str] = {}
#: The modules of splink that parse a SQL condition for the columns it uses (each imported the function).
_COLUMN_USERS = ("comparison_level", "settings", "em_training_session")
_ACTIVE: list[bool] = []


def _memo(cache: dict, key: Any, make: Any) -> Any:
    if key not in cache:
        cache[key] = make()
    return cache[key]


def _column_caches() -> list[tuple[Any, str, Any]]:
    """``(owner, attribute, cached replacement)`` for splink's column references and condition validation.

    A column reference (``first_name``, ``"first_name"``) is parsed with sqlglot each time splink makes an
    ``InputColumn`` (hundreds of times per run), and its SQL (``"first_name_l"``) is built as a sqlglot tree
    and generated again each time splink asks; a comparison level's condition is parsed to validate it each
    time a level is made. All pure functions of their text (the column builder is a frozen dataclass).
    """
    from splink.internals.comparison_level import ComparisonLevel
    from splink.internals.input_column import SqlglotColumnTreeBuilder as Builder
    from splink.internals.parse_sql import get_columns_used_from_sql as columns_used

    parse = Builder.from_raw_column_name_or_column_reference.__func__
    sql = Builder.sql.fget
    validate = ComparisonLevel._validate_sql

    def from_raw(cls: Any, input_str: str, sqlglot_dialect: Any) -> Any:
        if cls is not Builder:
            return parse(cls, input_str, sqlglot_dialect)
        return _memo(_BUILDERS, (input_str, str(sqlglot_dialect)), lambda: parse(cls, input_str, sqlglot_dialect))

    def valid(self: Any) -> bool:
        key = (self.sql_condition, str(self.sqlglot_dialect))
        if key in _VALID or self._is_else_level:
            return True
        try:  # the same parse as the columns the condition uses (asked later): one parse for both
            _memo(_COLUMNS, key, lambda: columns_used(self.sql_condition, self.sqlglot_dialect))
        except Exception:  # noqa: BLE001 - splink's own check says why (or finds it valid after all)
            validate(self)
        _VALID.add(key)
        return True

    return [
        (Builder, "from_raw_column_name_or_column_reference", classmethod(from_raw)),
        (Builder, "sql", property(lambda self: _memo(_BUILT_SQL, self, lambda: sql(self)))),
        (ComparisonLevel, "_validate_sql", valid),
    ]


@contextmanager
def _parse_once() -> Iterator[None]:
    """While training and scoring, splink's analyses of SQL -- whether a comparison level is an exact match,
    which columns a condition uses, whether it parses, what a column reference is -- are worked out once per
    text (see :func:`_column_caches`).

    splink answers them by parsing the SQL with sqlglot (the first also normalising it to a conjunctive form)
    every time it asks: for every level at the start of each EM session, for every rule and level when it
    builds a query. Pure functions of the condition text; 0.3 s per EM session on the built-in comparisons.
    """
    import importlib

    from splink.internals.comparison_level import ComparisonLevel

    if _ACTIVE:  # inside another: already in place
        yield
        return
    prop = ComparisonLevel._is_exact_match
    modules = [importlib.import_module(f"splink.internals.{m}") for m in _COLUMN_USERS]
    modules = [m for m in modules if hasattr(m, "get_columns_used_from_sql")]
    parse = {m: m.get_columns_used_from_sql for m in modules}

    def cached(self: Any) -> bool:
        if self._is_else_level or self.sql_condition in _NOT_EXACT:
            return False
        return _memo(_EXACT, (self.sql_condition, str(self.sqlglot_dialect)), lambda: prop.fget(self))

    def columns(fn: Any) -> Any:
        def used(sql: str, sqlglot_dialect: Any = None, *args: Any, **kwargs: Any) -> list:
            if args or kwargs:
                return fn(sql, sqlglot_dialect, *args, **kwargs)
            return list(_memo(_COLUMNS, (sql, str(sqlglot_dialect)), lambda: fn(sql, sqlglot_dialect)))

        return used

    patches = _column_caches()
    saved = [(owner, name, owner.__dict__[name]) for owner, name, _ in patches]
    ComparisonLevel._is_exact_match = property(cached)
    for m in parse:
        m.get_columns_used_from_sql = columns(parse[m])
    for owner, name, new in patches:
        setattr(owner, name, new)
    _ACTIVE.append(True)
    try:
        yield
    finally:
        _ACTIVE.pop()
        ComparisonLevel._is_exact_match = prop
        for m, fn in parse.items():
            m.get_columns_used_from_sql = fn
        for owner, name, old in saved:
            setattr(owner, name, old)


def correct_u(model: dict, floor: float) -> dict:
    """``model`` (splink's JSON) with each u probability freed of the matches in the random sample.

    splink estimates u from random pairs as if none matched, but a share ``lambda`` (the prior) of them do:
    the sampled frequency of a level is ``lambda * m + (1 - lambda) * u``. With many duplicates (FEBRL's
    data sets are 20-50 % duplicates) the true matches dominate the rare levels -- "same full address" looks
    ten times as common among non-matches as it is, and its weight is too small. Solved for ``u``, floored
    at ``floor`` (one sampled pair).

    Examples
    --------
    >>> m = {"probability_two_random_records_match": 0.001, "comparisons": [{"comparison_levels": [
    ...     {"m_probability": 0.9, "u_probability": 0.0011}, {"m_probability": 0.1, "u_probability": 0.9989}]}]}
    >>> [round(lvl["u_probability"], 6) for lvl in correct_u(m, 1e-6)["comparisons"][0]["comparison_levels"]]
    [0.0002, 0.9998]
    """
    lam = float(model["probability_two_random_records_match"])
    for comp in model["comparisons"]:
        for lvl in comp["comparison_levels"]:
            m, u = lvl.get("m_probability"), lvl.get("u_probability")
            if isinstance(m, float | int) and isinstance(u, float | int):
                lvl["u_probability"] = max((u - lam * m) / (1 - lam), floor)
    return model


def train(linker: Any, cfg: UnifyConfig) -> None:
    """Estimate the model: the prior from near-certain pairs, u by random sampling, m by EM over each of
    ``cfg.training_rules`` (each session estimates the comparisons its rule does not block on; see
    :func:`_m_floor`).

    A rule that pairs no two records (a CRM export without birth dates) is passed over with a warning (splink
    raised ``EMTrainingException`` and unify stopped); comparisons no session estimated keep splink's default m
    probabilities. Training the rest on other fields instead was tried and not kept: on 80 distinct people with
    ten full names between them, EM over surname blocks learnt that a shared name is a match and merged them
    into ten customers, where the defaults kept all 80 apart.
    """
    import logging

    linker.training.estimate_probability_two_random_records_match(
        [rule_sql(r) for r in cfg.prior_rules], recall=cfg.prior_recall
    )
    s = linker._settings_obj
    if not s._probability_two_random_records_match > 0:  # no near-certain pair (a few hundred messy records)
        s._probability_two_random_records_match = 1 / cfg.u_max_pairs
    try:
        estimate_u(linker, cfg.u_max_pairs, seed=1)
    except (ImportError, AttributeError):  # splink's internals moved (a release after 5.0): its own estimate
        linker.training.estimate_u_using_random_sampling(max_pairs=cfg.u_max_pairs, seed=1)
    try:
        from splink.internals.exceptions import EMTrainingException
    except ImportError:  # pragma: no cover - splink's internals moved (a release after 5.0)
        EMTrainingException = ValueError  # noqa: N806

    logging.getLogger("splink").setLevel(logging.ERROR)
    with _m_floor(cfg.m_floor), _parse_once():
        for rule in cfg.training_rules:
            try:
                linker.training.estimate_parameters_using_expectation_maximisation(
                    rule_sql(rule), max_pairs=cfg.em_max_pairs
                )
            except EMTrainingException:  # the rule pairs no two records (a CRM export without birth dates)
                name = "+".join(rule) if isinstance(rule, tuple) else rule
                logging.getLogger("cxlib.unify").warning(
                    "unify: no two contact records agree on %s, so the matching model is not trained on it "
                    "(UnifyConfig.training_rules: name fields your records share)",
                    name,
                )
