"""Shared bikes' use cases and rules: who imports trips and snapshots, who sees the cells, and how.

- **Import** (operators of the city's operations centre, ``Role.OPERATOR`` in a department
  whose function is ``operations``): a file is read and checked whole before anything is
  written, then written in the caller's unit of work, so a bad row leaves nothing behind.
  Each trip keeps, beside its exact points and times (whereabouts: sensitive), its H3 cells
  and hours at ``bikes_h3_resolution``.
- **Seeing** the heat map, forecasts and plans (staff of an ``operations`` or ``transport``
  department): only counts per cell and hour, computed in SQL from the coarse columns. The
  exact points and times leave the tables only through governance (dataset ``bike_trips``,
  ``governance.service.read`` under a declared purpose), never through this module.
"""

from twonets.operations.bikes.service.authority import (
    HISTORY_DAYS,
    IMPORTING_FUNCTIONS,
    MAX_CAPACITY,
    MAX_SPAN,
    MAX_TRUCKS,
    OVERSUPPLY_CATEGORY,
    SEEING_FUNCTIONS,
    SEEING_ROLES,
    TRIPS_DATASET,
    acting_staff,
    check_may_import,
    check_may_see,
)
from twonets.operations.bikes.service.data import (
    Imported,
    counted_cells,
    heat_cells,
    import_snapshots,
    import_trips,
    list_operators,
)
from twonets.operations.bikes.service.feeds import (
    FETCH_EVERY_SECONDS,
    Round,
    fetch_round,
    register_feed,
)
from twonets.operations.bikes.service.layer import imbalance_layer
from twonets.operations.bikes.service.planning import (
    Forecast,
    Plan,
    check_fleet,
    current_supply,
    forecast_demand,
    plan_rebalancing,
)
from twonets.operations.bikes.service.zones import (
    Oversupply,
    ParkingZone,
    ZoneKind,
    ZoneState,
    check_zones,
    list_zones,
    oversupply_cases,
    register_zones,
    run_zone_checks,
)

__all__ = [
    "FETCH_EVERY_SECONDS",
    "HISTORY_DAYS",
    "IMPORTING_FUNCTIONS",
    "MAX_CAPACITY",
    "MAX_SPAN",
    "MAX_TRUCKS",
    "OVERSUPPLY_CATEGORY",
    "SEEING_FUNCTIONS",
    "SEEING_ROLES",
    "TRIPS_DATASET",
    "Forecast",
    "Imported",
    "Oversupply",
    "ParkingZone",
    "Plan",
    "Round",
    "ZoneKind",
    "ZoneState",
    "acting_staff",
    "check_fleet",
    "check_may_import",
    "check_may_see",
    "check_zones",
    "counted_cells",
    "current_supply",
    "fetch_round",
    "forecast_demand",
    "heat_cells",
    "imbalance_layer",
    "import_snapshots",
    "import_trips",
    "list_operators",
    "list_zones",
    "oversupply_cases",
    "plan_rebalancing",
    "register_feed",
    "register_zones",
    "run_zone_checks",
]
