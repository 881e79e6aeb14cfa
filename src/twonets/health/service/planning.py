"""National centres for a nationwide scenario, memoised per parameters."""

from __future__ import annotations

from typing import Any

from twonets.health import centres
from twonets.health.service.common import HealthContext

# Plans kept per context: a planner tries a few scenarios; arbitrary queries must not grow it.
PLANS_KEPT = 16


def centre_plan(
    ctx: HealthContext,
    *,
    patients: int = 100_000,
    peak_share: float = 1.0,
    centres_count: int = 10,
    beds_min: int = 3_000,
    beds_max: int = 5_000,
    max_km: float | None = None,
) -> dict[str, Any]:
    """Chosen centres for a nationwide scenario (memoised per parameters: the data is fixed)."""
    key = (patients, peak_share, centres_count, beds_min, beds_max, max_km)
    cached = ctx.plan_cache.pop(key, None)
    if cached is not None:
        ctx.plan_cache[key] = cached  # most recently used last
        return cached
    plan = centres.plan_json(
        centres.plan_centres(
            patients=patients,
            peak_share=peak_share,
            centres=centres_count,
            beds_min=beds_min,
            beds_max=beds_max,
            max_km=max_km,
        )
    )
    ctx.plan_cache[key] = plan
    while len(ctx.plan_cache) > PLANS_KEPT:
        ctx.plan_cache.pop(next(iter(ctx.plan_cache)))  # the least recently used
    return plan
