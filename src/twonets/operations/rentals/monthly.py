"""Kept monthly figures: each month's peers computed once, the year's features from them.

A month's peers (the building's and the district's medians, the district's MAD) depend on
that month's readings only, so the figures of a household's month — its ratios to the peers,
its robust z-scores, its shares over the district's — never change once the month's readings
are in. :func:`month_figures` computes them for some months (one row per household and
month, :data:`KEPT_COLUMNS`); the platform keeps them and computes only a month whose
readings are new or changed. :func:`features_from_kept` turns the kept rows of every month
into exactly :func:`engine.feature_table`'s features (to rounding: means as sums over counts).

Most features are means over every month, so they come from each household's sums and counts
(:func:`totals`), which add up month by month (:func:`row_totals`, :func:`add_totals`); only
the recent and the early months' rows are read again (:func:`features_from_totals`, and
:func:`early_means`, which change only when an early month does). :class:`KeptMonths` keeps
a new month that way: its figures, the totals with the month's added, the early means.

The z-score of a month is kept for every month (the cold path computes it for the recent
months only, the only ones used): the same figures, since a month's MAD is that month's.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeAlias

import duckdb
import ibis
import ibis.expr.types as ir
import pyarrow as pa
import pyarrow.compute as pc

from twonets.operations.rentals import engine
from twonets.operations.rentals.engine import RECENT, SHARES, UTILITIES

# One row per household and month: what the per-household features aggregate.
KEPT_COLUMNS = (
    "household_id",
    "month",
    "idx",
    "water_m3",
    "electricity_kwh",
    "we_d",
    *(f"{s}_r" for s in SHARES),
    *(f"{u}_{name}" for u in UTILITIES for name in ("rb", "rd", "rm2", "people", "z")),
)
KEPT_SCHEMA = pa.schema(
    [
        ("household_id", pa.string()),
        ("month", pa.string()),
        ("idx", pa.int64()),
        *((name, pa.float64()) for name in KEPT_COLUMNS[3:]),
    ]
)


def month_index(month: str) -> int:
    """``YYYY-MM`` as the engine's month index (year × 12 + month)."""
    return int(month[:4]) * 12 + int(month[5:7])


def month_figures(
    households: ir.Table, readings: ir.Table, months: Sequence[str] | None = None
) -> ir.Table:
    """The kept figures of ``months`` (every month of ``readings`` when not given)."""
    _, _, hm = engine.narrow(households, readings, months)
    peers = engine.peers_of(hm)
    mad = engine.month_scale(hm, peers)
    x = (
        hm.join(peers, ["building_id", "idx"])
        .left_join(mad, ["district", "idx"])
        .drop("district_right", "idx_right")
    )
    return engine.figures(x, idx=x.idx).select(*KEPT_COLUMNS)


def totals(kept: ir.Table) -> ir.Table:
    """Per household, the sums and counts over its kept months that the features need.

    One row per household (:data:`TOTALS_COLUMNS`); the means of the features are these sums
    over these counts (a mean is null where its count is 0, as the cold path's). Totals of
    different months add up (:func:`add_totals`), so a new month updates them alone.
    """
    # Counts as float64 (exact for whole numbers): an engine's integer sums (DuckDB's are
    # 128 bits) would otherwise change the columns' types when totals are added up.
    sums: dict[str, ir.Value] = {
        "months": kept.month.count().cast("float64"),
        "last_month": kept.month.max(),
        "water": kept.water_m3.sum(),
        "power": kept.electricity_kwh.sum(),
    }
    for name in _SUMMED:
        sums[f"{name}_sum"] = kept[name].sum()
        sums[f"{name}_n"] = kept[name].count().cast("float64")
    for u in UTILITIES:
        rb = kept[f"{u}_rb"]
        sums[f"{u}_high"] = rb.count(where=rb >= engine.HIGH).cast("float64")
    return kept.group_by("household_id").aggregate(**sums).select(*TOTALS_COLUMNS)


def row_totals(kept: ir.Table) -> ir.Table:
    """:func:`totals` of kept rows with one row per household (one month): no GROUP BY."""

    def count(value: ir.Value) -> ir.FloatingValue:
        return ibis.ifelse(value.notnull(), 1.0, 0.0)

    values: dict[str, ir.Value] = {
        "months": count(kept.month),
        "last_month": kept.month,
        "water": kept.water_m3,
        "power": kept.electricity_kwh,
    }
    for name in _SUMMED:
        values[f"{name}_sum"] = kept[name]
        values[f"{name}_n"] = count(kept[name])
    for u in UTILITIES:
        values[f"{u}_high"] = ibis.ifelse(kept[f"{u}_rb"] >= engine.HIGH, 1.0, 0.0)
    return kept.select("household_id", **values).select(*TOTALS_COLUMNS)


def add_totals(kept_totals: ir.Table, more: ir.Table) -> ir.Table:
    """Two sets of totals (:func:`totals`' columns, of different months) added up.

    A join on the household (one row each side), not a GROUP BY over both: a household in
    one set only keeps its totals; a sum null on one side (no value in those months) is the
    other side's.
    """
    a = kept_totals.select(*TOTALS_COLUMNS)
    b = more.select(*TOTALS_COLUMNS).rename(lambda name: f"{name}_more")
    x = a.outer_join(b, a.household_id == b.household_id_more)

    def plus(name: str) -> ir.Value:
        one, other = x[name], x[f"{name}_more"]
        return ibis.coalesce(one + other, one, other)

    return x.select(
        household_id=ibis.coalesce(x.household_id, x.household_id_more),
        last_month=ibis.coalesce(
            ibis.greatest(x.last_month, x.last_month_more), x.last_month, x.last_month_more
        ),
        **{
            name: plus(name)
            for name in TOTALS_COLUMNS
            if name not in ("household_id", "last_month")
        },
    ).select(*TOTALS_COLUMNS)


# The kept figures whose mean over every month is a feature.
_SUMMED = (
    "we_d",
    *(f"{s}_r" for s in SHARES),
    *(f"{u}_{name}" for u in UTILITIES for name in ("rb", "rd", "rm2")),
)
TOTALS_COLUMNS = (
    "household_id",
    "months",
    "last_month",
    "water",
    "power",
    *(f"{n}_{part}" for n in _SUMMED for part in ("sum", "n")),
    *(f"{u}_high" for u in UTILITIES),
)


def _mean(t: ir.Table, name: str) -> ir.FloatingValue:
    return ibis.ifelse(t[f"{name}_n"] > 0, t[f"{name}_sum"] / t[f"{name}_n"], ibis.null("float64"))


Bounds: TypeAlias = "tuple[str, str] | ir.Table | None"


def _windowed(kept: ir.Table, bounds: Bounds, *, early: bool = True) -> ir.Table:
    """Kept rows of the recent (and early) months only, flagged ``recent`` and ``early``.

    ``bounds``: the first and last months, or a one-row table of their indexes (``first_idx``,
    ``last_idx``), or None for the kept rows' own.
    """
    if bounds is None or isinstance(bounds, ir.Table):
        if bounds is None:
            bounds = kept.aggregate(first_idx=kept.idx.min(), last_idx=kept.idx.max())
        x = kept.cross_join(bounds)
        first, last = x.first_idx, x.last_idx
    else:
        x = kept
        first, last = (ibis.literal(month_index(m), "int64") for m in bounds)
    x = x.filter(
        (x.idx > last - RECENT) | (x.idx < first + RECENT) if early else x.idx > last - RECENT
    )
    return x.mutate(recent=x.idx > last - RECENT, early=x.idx < first + RECENT)


def early_means(kept: ir.Table, bounds: Bounds = None) -> ir.Table:
    """Per household, the mean ratio to the peers of the early months (``{u}_early``).

    The first :data:`engine.RECENT` months of ``bounds`` (as :func:`features_from_totals`'):
    they change only when one of those months does, so they may be kept too.
    """
    x = _windowed(kept, bounds)
    x = x.filter(x.early)
    return x.group_by("household_id").aggregate(
        **{f"{u}_early": x[f"{u}_rb"].mean() for u in UTILITIES}
    )


def features_from_totals(
    households: ir.Table,
    totals_: ir.Table,
    kept: ir.Table,
    bounds: Bounds = None,
    early: ir.Table | None = None,
) -> ir.Table:
    """The features from the households' totals and the kept rows of the months they need.

    ``totals_`` are :func:`totals` over every kept month; of ``kept`` only the recent and the
    early months' rows are read (the last and first :data:`engine.RECENT` months of
    ``bounds``, the data's first and last months, by default the kept rows' own); only the
    recent ones when ``early`` (:func:`early_means` for the same bounds) is given.
    """
    h = households.filter(households.use == "residential").select(
        "household_id",
        "building_id",
        "district",
        "area_m2",
        "rooms",
        "registered_occupants",
    )
    x = _windowed(kept, bounds, early=early is None)
    now: dict[str, ir.Value] = {}
    for u in UTILITIES:
        rb = x[f"{u}_rb"]
        now[f"{u}_recent"] = rb.mean(where=x.recent)
        if early is None:
            now[f"{u}_early"] = rb.mean(where=x.early)
        now[f"{u}_z"] = x[f"{u}_z"].mean(where=x.recent)
        now[f"{u}_people"] = x[f"{u}_people"].mean(where=x.recent)
    window = x.group_by("household_id").aggregate(**now)
    t = totals_.left_join(window, "household_id").drop("household_id_right")
    if early is not None:
        t = t.left_join(early, "household_id").drop("household_id_right")
    t = t.join(h, "household_id")
    we_d = _mean(t, "we_d")
    return t.select(
        *h.columns,
        "last_month",
        months=t.months.cast("int64"),
        we_ratio=engine.div(engine.div(t.water, t.power), we_d.fill_null(0.0)),
        **{f"{s}_ratio": _mean(t, f"{s}_r") for s in SHARES},
        **{
            f"{u}_{name}": value
            for u in UTILITIES
            for name, value in (
                ("ratio", _mean(t, f"{u}_rb")),
                ("district_ratio", _mean(t, f"{u}_rd")),
                ("m2_ratio", _mean(t, f"{u}_rm2")),
                ("high", t[f"{u}_high"].cast("int64")),
                ("recent", t[f"{u}_recent"]),
                ("z", t[f"{u}_z"]),
                ("people", t[f"{u}_people"]),
                (
                    "step",
                    engine.div(t[f"{u}_recent"].fill_null(0.0), t[f"{u}_early"].fill_null(0.0)),
                ),
            )
        },
    )


def features_from_kept(
    households: ir.Table, kept: ir.Table, bounds: tuple[str, str] | None = None
) -> ir.Table:
    """The features (:func:`engine.feature_table`'s) from kept rows of every month.

    ``bounds`` are the data's first and last months (``YYYY-MM``); by default the kept rows'
    own. The cold path takes them from every reading, a commercial premises' too: hand them
    over where such readings may reach beyond the residential ones.
    """
    return features_from_totals(households, totals(kept), kept, bounds)


class KeptMonths:
    """Kept figures month by month and each household's totals, held as Arrow tables.

    DuckDB (in memory) computes; each month's figures (:data:`KEPT_COLUMNS`) and the totals
    (:func:`totals`) are Arrow tables, so keeping them writes nothing row by row.
    :meth:`add` computes some months' figures once: a month not kept yet adds its totals to
    the kept ones (the year's rows are not read again); a month already kept (its readings
    changed since: stale) replaces its rows, and the totals are then computed again from
    every kept row (as after a household changed: add every month again).
    :meth:`features` reads the totals and the recent and early months' rows only. Each query
    is compiled once per instance (its tables have fixed names and it holds no literal).
    """

    def __init__(self) -> None:
        self.con = ibis.duckdb.connect()
        self.months: dict[str, pa.Table] = {}
        self.totals: pa.Table | None = None
        # The early months' means, and the first month they are of.
        self.early: tuple[str, pa.Table] | None = None
        self._compiled: dict[str, str] = {}

    def _run(self, key: str, build: Callable[[], ir.Table], **tables: pa.Table) -> pa.Table:
        raw: duckdb.DuckDBPyConnection = self.con.con
        for name, table in tables.items():
            raw.register(name, table)
        if key not in self._compiled:
            self._compiled[key] = str(ibis.to_sql(build(), dialect="duckdb"))
        return raw.sql(self._compiled[key]).to_arrow_table()

    def kept(self) -> pa.Table:
        """Every kept month's figures, in month order."""
        return pa.concat_tables(
            [self.months[m] for m in sorted(self.months)] or [KEPT_SCHEMA.empty_table()]
        )

    def add(
        self,
        households: pa.Table,
        readings: pa.Table,
        months: Sequence[str],
        *,
        unique: bool = False,
    ) -> None:
        """Compute ``months``' figures from ``readings`` and keep them (replacing any kept).

        ``unique``: the source promises one reading per household and month (a unique
        constraint, as the platform's readings have), so a new month's rows are not checked
        for it.
        """
        months = sorted(set(months))
        chosen = readings.filter(pc.is_in(readings.column("month"), pa.array(months, pa.string())))
        t = self.con.table
        figures = self._run(
            "figures",
            lambda: month_figures(t("households"), t("readings")),
            households=households,
            readings=chosen,
        ).cast(KEPT_SCHEMA)
        stale = self.totals is None or any(m in self.months for m in months)
        if self.early is not None and (
            stale or min(month_index(m) for m in months) < month_index(self.early[0]) + RECENT
        ):
            self.early = None
        for m in months:  # the figures of the month itself when it is the only one
            one = len(months) == 1
            self.months[m] = figures if one else figures.filter(pc.equal(figures["month"], m))
        if stale:
            self.totals = self._run("totals", lambda: totals(t("kept")), kept=self.kept())
        else:
            # A household's row of one month is its totals of that month (no GROUP BY).
            ids = figures.column("household_id")
            alone = len(months) == 1 and (
                unique or pc.count_distinct(ids).as_py() == figures.num_rows
            )
            self.totals = self._run(
                "row" if alone else "more",
                lambda: add_totals(t("totals"), (row_totals if alone else totals)(t("new"))),
                totals=self.totals,
                new=figures,
            )

    def features(self, households: pa.Table, bounds: tuple[str, str]) -> pa.Table:
        """The features (``engine.FEATURE_COLUMNS``) of every kept household, by household id.

        ``bounds``: the data's first and last months.
        """
        first, last = (month_index(m) for m in bounds)
        span = pa.table({"first_idx": [first], "last_idx": [last]})
        t = self.con.table

        def months(keep: Callable[[int], bool]) -> pa.Table:
            chosen = [self.months[m] for m in sorted(self.months) if keep(month_index(m))]
            return pa.concat_tables(chosen or [KEPT_SCHEMA.empty_table()])

        if self.early is None or self.early[0] != bounds[0]:
            early = self._run(
                "early",
                lambda: early_means(t("window"), t("bounds")),
                window=months(lambda i: i < first + RECENT),
                bounds=span,
            )
            self.early = (bounds[0], early)
        return self._run(
            "features",
            lambda: features_from_totals(
                t("households"), t("totals"), t("window"), t("bounds"), t("early")
            ).select(*engine.FEATURE_COLUMNS),
            households=households,
            totals=self.totals if self.totals is not None else KEPT_SCHEMA.empty_table(),
            window=months(lambda i: i > last - RECENT),
            bounds=span,
            early=self.early[1],
        ).sort_by("household_id")  # by Arrow: cheaper than the query's ORDER BY (engine's)


# Each query's DuckDB SQL, by what it computes and its tables' schemas: compiled once per
# process (Ibis's compiling costs about as much as running it on a district's month).
_COMPILED: dict[tuple[object, ...], str] = {}


def _on_duckdb(
    key: str, build: Callable[[Callable[[str], ir.Table]], ir.Table], **tables: pa.Table
) -> pa.Table:
    """``build``'s expression over ``tables`` (Arrow, by name), computed by DuckDB in memory.

    ``key`` names what ``build`` computes; with the tables' schemas it says when the SQL
    compiled before serves again (``build`` holds no literal that ``key`` does not name).
    """
    schemas = {name: table.schema for name, table in tables.items()}
    whole = (key, *((name, tuple(schema)) for name, schema in schemas.items()))
    sql = _COMPILED.get(whole)
    if sql is None:

        def table(name: str) -> ir.Table:
            return ibis.table(ibis.Schema.from_pyarrow(schemas[name]), name=name)

        sql = _COMPILED[whole] = str(ibis.to_sql(build(table), dialect="duckdb"))
    con = duckdb.connect()
    try:
        for name, arrow in tables.items():
            con.register(name, arrow)
        return con.sql(sql).to_arrow_table()
    finally:
        con.close()


def _span(bounds: tuple[str, str]) -> pa.Table:
    """``bounds`` as the one-row table of their month indexes that :data:`Bounds` takes."""
    first, last = (month_index(m) for m in bounds)
    return pa.table({"first_idx": [first], "last_idx": [last]})


def duckdb_month_figures(
    households: pa.Table, readings: pa.Table, months: Sequence[str] | None = None
) -> pa.Table:
    """The kept figures of ``months`` computed by DuckDB in memory (:data:`KEPT_SCHEMA`)."""
    if months is not None:
        readings = readings.filter(
            pc.is_in(readings.column("month"), pa.array(sorted(set(months)), pa.string()))
        )
    return _on_duckdb(
        "figures",
        lambda t: month_figures(t("households"), t("readings")),
        households=households,
        readings=readings,
    ).cast(KEPT_SCHEMA)


def duckdb_features_from_kept(
    households: pa.Table, kept: pa.Table, bounds: tuple[str, str] | None = None
) -> pa.Table:
    """The features from kept rows, by DuckDB in memory, ordered by household id."""
    spans = {} if bounds is None else {"bounds": _span(bounds)}
    return _on_duckdb(
        "features from kept",
        lambda t: features_from_kept(
            t("households"), t("kept"), t("bounds") if spans else None
        ).select(*engine.FEATURE_COLUMNS),
        households=households,
        kept=kept,
        **spans,
    ).sort_by("household_id")


TOTALS_SCHEMA = pa.schema(
    [
        ("household_id", pa.string()),
        ("months", pa.float64()),
        ("last_month", pa.string()),
        *((name, pa.float64()) for name in TOTALS_COLUMNS[3:]),
    ]
)
EARLY_COLUMNS = tuple(f"{u}_early" for u in UTILITIES)
EARLY_SCHEMA = pa.schema(
    [("household_id", pa.string()), *((name, pa.float64()) for name in EARLY_COLUMNS)]
)


def duckdb_totals(
    kept: pa.Table, more: pa.Table | None = None, *, one_month: bool = False
) -> pa.Table:
    """:func:`totals` of kept rows (:data:`TOTALS_SCHEMA`), by DuckDB in memory.

    With ``more`` (totals already kept), the kept rows' totals added to them
    (:func:`add_totals`); ``one_month``: the kept rows are of one month, one row per
    household (the source's unique household and month promise it), so no GROUP BY.
    """
    if more is None:
        return _on_duckdb("totals", lambda t: totals(t("kept")), kept=kept).cast(TOTALS_SCHEMA)
    of_rows = row_totals if one_month else totals
    return _on_duckdb(
        f"added {of_rows.__name__}",
        lambda t: add_totals(t("more"), of_rows(t("kept"))),
        kept=kept,
        more=more,
    ).cast(TOTALS_SCHEMA)


def duckdb_early_means(kept: pa.Table, bounds: tuple[str, str]) -> pa.Table:
    """:func:`early_means` of kept rows for ``bounds`` (:data:`EARLY_SCHEMA`), by DuckDB."""
    return _on_duckdb(
        "early", lambda t: early_means(t("kept"), t("bounds")), kept=kept, bounds=_span(bounds)
    ).cast(EARLY_SCHEMA)


def duckdb_features_from_totals(
    households: pa.Table,
    totals_: pa.Table,
    recent: pa.Table,
    bounds: tuple[str, str],
    early: pa.Table,
) -> pa.Table:
    """:func:`features_from_totals` by DuckDB in memory, ordered by household id.

    ``recent``: the kept rows of (at least) the recent months of ``bounds``; ``early``: the
    early means (:data:`EARLY_SCHEMA`) for the same bounds.
    """
    return _on_duckdb(
        "features from totals",
        lambda t: features_from_totals(
            t("households"), t("totals"), t("recent"), t("bounds"), t("early")
        ).select(*engine.FEATURE_COLUMNS),
        households=households,
        totals=totals_,
        recent=recent,
        bounds=_span(bounds),
        early=early,
    ).sort_by("household_id")
