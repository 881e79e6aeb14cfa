"""Mixed-integer programs passed to HiGHS as arrays, for the health tools' exact models.

The models (p-median, capacitated siting, mobilisation) are built with numpy as a column-wise
(CSC) matrix and handed to HiGHS through ``highspy.HighsLp``: building a model of a hundred
thousand columns costs milliseconds instead of seconds of Python objects.
"""

from __future__ import annotations

import math
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum

import highspy
import numpy as np
import numpy.typing as npt
from scipy.sparse import csc_matrix

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


class SitingStatus(StrEnum):
    """How a solve ended."""

    OPTIMAL = "optimal"  # proven optimum
    FEASIBLE = "feasible"  # a solution, stopped (time limit) before proving it optimal
    INFEASIBLE = "infeasible"  # no solution exists
    TIME_LIMIT = "time-limit"  # stopped by the time limit without any solution


@dataclass(frozen=True)
class MipOutcome:
    """What HiGHS found: the column values (empty without a solution), status and gap.

    ``bound`` is the proven lower bound of the minimum (the objective itself when optimal,
    ``-inf`` when none was proven).
    """

    values: FloatArray
    status: SitingStatus
    gap: float
    seconds: float
    bound: float = -math.inf


def integral(*arrays: FloatArray) -> bool:
    """Whether every value of ``arrays`` is a whole number (then so is an objective of them)."""
    return all(bool(np.all(a == np.round(a))) for a in arrays)


@contextmanager
def _stdout_silenced() -> Iterator[None]:
    """Silence file descriptor 1: HiGHS prints its banner from C the first time it starts."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 1)
            yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


@dataclass(frozen=True)
class LinearModel:
    """``min cost @ x`` with ``lower <= x <= upper``, ``row_lower <= matrix @ x <= row_upper``
    and ``x[integer]`` integral (a linear program when ``integer`` is empty); infinite row
    bounds are written as ``math.inf``."""

    cost: FloatArray
    lower: FloatArray
    upper: FloatArray
    integer: IntArray
    row_lower: FloatArray
    row_upper: FloatArray
    matrix: csc_matrix


def solve_mip(
    model: LinearModel,
    *,
    integral_objective: bool,
    time_limit: float | None,
    start: FloatArray | None,
) -> MipOutcome:
    """Solve ``model`` in a HiGHS of its own.

    With an integral objective a gap below 1 proves the optimum (``mip_abs_gap = 1 - 1e-6``);
    otherwise the gap is 1e-6 absolute; the relative gap is 0 (HiGHS' default of 1e-4 would
    stop early on objectives of ~5,000).
    """
    started = time.perf_counter()
    highs = new_highs(integral_objective)
    pass_model(highs, model)
    integer = bool(model.integer.size)
    return run(highs, integer=integer, time_limit=time_limit, start=start, since=started)


def pass_model(highs: highspy.Highs, model: LinearModel) -> None:
    """Hand ``highs`` the model (infinite row bounds as HiGHS' infinity)."""
    cost, matrix = model.cost, model.matrix
    lp = highspy.HighsLp()
    lp.num_col_ = int(cost.size)
    lp.num_row_ = int(model.row_lower.size)
    lp.col_cost_ = cost
    lp.col_lower_ = model.lower
    lp.col_upper_ = model.upper
    lp.row_lower_ = np.where(np.isinf(model.row_lower), -highspy.kHighsInf, model.row_lower)
    lp.row_upper_ = np.where(np.isinf(model.row_upper), highspy.kHighsInf, model.row_upper)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.num_col_ = int(cost.size)
    lp.a_matrix_.num_row_ = int(model.row_lower.size)
    lp.a_matrix_.start_ = np.asarray(matrix.indptr, dtype=np.int32)
    lp.a_matrix_.index_ = np.asarray(matrix.indices, dtype=np.int32)
    lp.a_matrix_.value_ = np.asarray(matrix.data, dtype=np.float64)
    if model.integer.size:
        kinds = [highspy.HighsVarType.kContinuous] * int(cost.size)
        for j in model.integer.tolist():
            kinds[j] = highspy.HighsVarType.kInteger
        lp.integrality_ = kinds
    highs.passModel(lp)


def new_highs(integral_objective: bool) -> highspy.Highs:
    """A silent HiGHS whose MIP gap proves the optimum (see :func:`solve_mip`)."""
    with _stdout_silenced():
        highs = highspy.Highs()  # type: ignore[no-untyped-call]  # highs.py: no annotation
        highs.setOptionValue("output_flag", False)
    highs.setOptionValue("mip_rel_gap", 0.0)
    highs.setOptionValue("mip_abs_gap", 1.0 - 1e-6 if integral_objective else 1e-6)
    return highs


def run(
    highs: highspy.Highs,
    *,
    integer: bool,
    time_limit: float | None,
    start: FloatArray | None,
    since: float,
) -> MipOutcome:
    """Solve the model ``highs`` holds (a MIP when ``integer``), from ``start`` if given.

    ``since``: when the work began (``time.perf_counter``), for the outcome's seconds.
    """
    highs.setOptionValue("time_limit", math.inf if time_limit is None else float(time_limit))
    if start is not None:
        solution = highspy.HighsSolution()
        solution.col_value = start
        highs.setSolution(solution)
    highs.run()
    model_status = highs.getModelStatus()
    info = highs.getInfo()
    has_solution = info.primal_solution_status == highspy.kSolutionStatusFeasible
    values = np.asarray(highs.getSolution().col_value, dtype=np.float64)
    bound = -math.inf
    if model_status == highspy.HighsModelStatus.kOptimal:
        status, gap = SitingStatus.OPTIMAL, 0.0
        bound = float(info.objective_function_value)
    elif model_status == highspy.HighsModelStatus.kInfeasible:
        status, gap = SitingStatus.INFEASIBLE, math.inf
    elif has_solution:
        status = SitingStatus.FEASIBLE
        if integer:
            bound = float(info.mip_dual_bound)
        gap = float(info.objective_function_value) - bound
    else:
        status, gap = SitingStatus.TIME_LIMIT, math.inf
    if not has_solution or status is SitingStatus.INFEASIBLE:
        values = np.zeros(0)
    return MipOutcome(values, status, gap, time.perf_counter() - since, bound)
