"""Scoring the features: rules that demand agreement across utilities, and an IsolationForest.

The rules decide *whether* a household is a lead; the model helps decide *how high*:

- **agreement**: a utility agrees when it has been at least ``high``× its building's peers per
  registered occupant in at least :data:`MIN_MONTHS` months, or is so now (the last months'
  mean ratio, and a robust z-score of at least ``z``) after a **step change** (a group rental
  that began mid-year); a lead needs at least ``agreement`` utilities — electric heating, an
  electric car or a home business raise electricity alone;
- **capacity**: the people the consumption implies now (the median over the utilities) exceed
  what Shanghai's rule allows (2 per room, 5 m² each) and the registered occupants by half —
  a large registered family's use per *registered* occupant is ordinary, a vacant flat's is
  nothing;
- the **model**: an IsolationForest (scikit-learn) fitted on every residential household's
  features (log ratios, z-scores, steps, people over capacity, night and weekend shares, the
  peak-valley difference) says
  how unusual the household is among all; it never makes a lead on its own.

The score, in [0, 1): ``(1 - weight) × rule + weight × anomaly`` for households that pass the
rules, where ``rule`` is the share of utilities in agreement times ``1 - capacity/people``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt
import pyarrow as pa
from sklearn.ensemble import IsolationForest

from twonets.operations.rentals.engine import UTILITIES

MIN_MONTHS = 2
PEOPLE_PER_ROOM = 2
M2_PER_PERSON = 5.0
SEED = 20261207
# Households the forest is fitted on at most (a sample; it scores everyone who passes the rules).
FIT_SAMPLE = 20_000

Array = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Thresholds:
    """The knobs of the rules; tuned from confirmed outcomes (service.tune_thresholds)."""

    high: float = 2.0
    z: float = 2.0
    agreement: int = 2
    over_registered: float = 1.5
    min_score: float = 0.0
    weight: float = 0.3

    def with_(self, **changes: Any) -> Thresholds:
        """A copy with some knobs changed."""
        return replace(self, **changes)


DEFAULT = Thresholds()


@dataclass(frozen=True)
class Scored:
    """Every household's scores, in the order of the feature table."""

    household_id: pa.ChunkedArray  # Arrow, not Python strings: a city has millions
    score: Array  # 0 for households that fail the rules
    rule: Array
    anomaly: Array
    agree: npt.NDArray[np.int64]
    people: Array
    capacity: npt.NDArray[np.int64]


class Columns:
    """A feature table's numeric columns as numpy arrays, each converted once (nulls are 0).

    :meth:`subset` gives some rows only (the model's inputs for a sample, not for all),
    taken from the whole table's converted columns.
    """

    def __init__(self, table: pa.Table) -> None:
        self.table = table
        self.num_rows = table.num_rows
        self._cache: dict[str, Array] = {}
        self._forest: IsolationForest | None = None
        self._whole: Columns | None = None
        self._rows: npt.NDArray[np.int64] | None = None

    def __getitem__(self, name: str) -> Array:
        if name not in self._cache:
            if self._whole is not None and self._rows is not None:
                self._cache[name] = self._whole[name][self._rows]
            else:
                column = self.table.column(name).to_numpy(zero_copy_only=False)
                self._cache[name] = np.nan_to_num(np.asarray(column, dtype=np.float64))
        return self._cache[name]

    def subset(self, rows: npt.NDArray[np.int64]) -> Columns:
        """These rows only (of the whole table)."""
        whole = self._whole or self
        out = Columns(self.table)
        out._whole = whole
        out._rows = rows if self._rows is None else self._rows[rows]
        out.num_rows = len(rows)
        return out

    def forest(self) -> IsolationForest:
        """The IsolationForest fitted on a sample of these households (once per table).

        A sample of at most :data:`FIT_SAMPLE` households, drawn with a fixed seed; the
        model's inputs are computed for the sample only.
        """
        if self._forest is None:
            rng = np.random.default_rng(SEED)
            n = self.num_rows
            sample = np.arange(n) if n <= FIT_SAMPLE else rng.choice(n, FIT_SAMPLE, replace=False)
            self._forest = IsolationForest(n_estimators=100, random_state=SEED).fit(
                matrix(self.subset(sample))
            )
        return self._forest


FeatureTable: TypeAlias = "pa.Table | Columns"


def _columns(table: FeatureTable) -> Columns:
    return table if isinstance(table, Columns) else Columns(table)


def _col(table: FeatureTable, name: str) -> Array:
    return _columns(table)[name]


def capacity(table: FeatureTable) -> npt.NDArray[np.int64]:
    """The most people Shanghai's rule allows per household: 2 per room and 5 m² each."""
    rooms = _col(table, "rooms")
    area = _col(table, "area_m2")
    return np.maximum(
        1, np.minimum(PEOPLE_PER_ROOM * rooms, np.floor(area / M2_PER_PERSON))
    ).astype(np.int64)


def agreeing(table: FeatureTable, t: Thresholds = DEFAULT) -> dict[str, npt.NDArray[np.bool_]]:
    """Per utility, whether it agrees (see the module's docstring)."""
    out = {}
    for u in UTILITIES:
        sustained = (_col(table, f"{u}_high") >= MIN_MONTHS) & (_col(table, f"{u}_ratio") >= 1)
        now = (
            (_col(table, f"{u}_recent") >= t.high)
            & (_col(table, f"{u}_z") >= t.z)
            & (_col(table, f"{u}_step") >= t.high)
        )
        out[u] = sustained | now
    return out


def people(table: FeatureTable) -> Array:
    """The people the consumption implies now: the median over the three utilities."""
    stacked = np.vstack([_col(table, f"{u}_people") for u in UTILITIES])
    return np.asarray(np.median(stacked, axis=0), dtype=np.float64)


def matrix(table: FeatureTable) -> Array:
    """The model's inputs: log ratios, z-scores, log steps, people over capacity, shares.

    The shares (night, weekend, peak-valley) are over the district's; 0 where unknown.
    """
    cols: list[Array] = []
    for u in UTILITIES:
        cols.append(np.log(_col(table, f"{u}_ratio") + 1e-3))
        cols.append(np.log(_col(table, f"{u}_recent") + 1e-3))
        cols.append(_col(table, f"{u}_z"))
        cols.append(np.log(_col(table, f"{u}_step") + 1e-3))
        cols.append(np.log(_col(table, f"{u}_m2_ratio") + 1e-3))
    cols.append(np.log(people(table) / capacity(table) + 1e-3))
    for name in ("night_ratio", "weekend_ratio", "peak_valley_ratio", "we_ratio"):
        cols.append(np.log(_col(table, name) + 1e-3))
    return np.column_stack(cols)


def anomaly(table: FeatureTable, rows: npt.NDArray[np.bool_]) -> Array:
    """How unusual each household is among all (0 ordinary … 1 most unusual); for ``rows``.

    The forest (:meth:`Columns.forest`) scores the ``rows`` in one call; the model's inputs
    are computed for those households only.
    """
    cols = _columns(table)
    out = np.zeros(cols.num_rows, dtype=np.float64)
    if cols.num_rows < 2 or not rows.any():
        return out
    # score_samples: about -0.5 ordinary, towards -1 unusual; mapped to [0, 1].
    raw = -cols.forest().score_samples(matrix(cols.subset(np.flatnonzero(rows))))
    out[rows] = np.clip((raw - 0.5) * 2.0, 0.0, 1.0)
    return out


def score(table: FeatureTable, t: Thresholds = DEFAULT) -> Scored:
    """The rules and the model over every household of the feature table."""
    cols = _columns(table)
    agree_by = agreeing(cols, t)
    agree = np.sum(np.vstack(list(agree_by.values())), axis=0).astype(np.int64)
    implied = people(cols)
    cap = capacity(cols)
    registered = np.maximum(cols["registered_occupants"], 1)
    passed = (agree >= t.agreement) & (implied > cap) & (implied >= t.over_registered * registered)
    rule = np.where(
        passed,
        agree / len(UTILITIES) * (1 - cap / np.where(implied > 0, implied, 1)),
        0.0,
    )
    odd = anomaly(cols, passed)
    combined = np.where(passed, (1 - t.weight) * rule + t.weight * odd, 0.0)
    combined = np.where(combined > t.min_score, np.round(combined, 4), 0.0)
    return Scored(
        household_id=cols.table.column("household_id"),
        score=combined,
        rule=rule,
        anomaly=odd,
        agree=agree,
        people=implied,
        capacity=cap,
    )
