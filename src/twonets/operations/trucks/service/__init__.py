"""Muck-truck supervision's use cases: the registry, position history, checks, violations.

One module per concern (``authority``, ``registry``, ``positions``, ``violations``,
``overview``, ``sightings``); callers import this package.

Each function works in the caller's transaction and never commits. Who may do what is
decided here:

- **registering** companies, trucks and permits: an operator (``Role.OPERATOR``) of a
  city-level department of the home region; zones (sites, no-go zones) also an operator of a
  district department of the home region, inside that district only;
- **reading tracks** (where a truck was: whereabouts of a vehicle and its crew): operators,
  supervisors and field staff of the home region; city-level staff see every fix, a
  district department's staff only the fixes inside their district.

Positions arrive as device intake's ``ops.device.location`` events (``positions_from_events``
turns their payloads into rows for the trucks registered under the terminal's phone number
or plate); violations found by ``check_positions`` become operations cases through the case
loop's intake, once per episode.
"""

from __future__ import annotations

from twonets.operations.trucks.service.alerts import (
    AlertRow,
    acknowledge_alert,
    company_notices_waiting,
    list_alerts,
    push_alerts,
)
from twonets.operations.trucks.service.arrivals import (
    LiveSupervision,
    check_arrivals,
    check_silences,
    silent_reports,
)
from twonets.operations.trucks.service.authority import (
    require_registrar,
    track_scope,
)
from twonets.operations.trucks.service.overview import (
    CompanyScore,
    Overview,
    ViolationRow,
    overview,
    permit_map,
)
from twonets.operations.trucks.service.positions import (
    LivePosition,
    live_positions,
    maintain_partitions,
    position_partitions,
    positions_from_events,
    purge_positions,
    record_positions,
    track,
)
from twonets.operations.trucks.service.registry import (
    PermitIn,
    import_permits_file,
    import_trucks_file,
    import_zones_file,
    register_company,
    register_permits,
    register_truck,
    register_zones,
)
from twonets.operations.trucks.service.sightings import (
    EVENT_KINDS,
    SOURCES,
    Sighting,
    SightingIn,
    SightingRow,
    list_sightings,
    match_sighting,
    record_sightings,
    trip_start,
)
from twonets.operations.trucks.service.violations import (
    CASE_CATEGORY,
    CASE_KINDS,
    INSPECTOR_FUNCTION,
    check_positions,
    record_episode,
    scene,
)

__all__ = [
    "CASE_CATEGORY",
    "CASE_KINDS",
    "EVENT_KINDS",
    "INSPECTOR_FUNCTION",
    "SOURCES",
    "AlertRow",
    "CompanyScore",
    "LivePosition",
    "LiveSupervision",
    "Overview",
    "PermitIn",
    "Sighting",
    "SightingIn",
    "SightingRow",
    "ViolationRow",
    "acknowledge_alert",
    "check_arrivals",
    "check_positions",
    "check_silences",
    "company_notices_waiting",
    "import_permits_file",
    "import_trucks_file",
    "import_zones_file",
    "list_alerts",
    "list_sightings",
    "live_positions",
    "maintain_partitions",
    "match_sighting",
    "overview",
    "permit_map",
    "position_partitions",
    "positions_from_events",
    "purge_positions",
    "push_alerts",
    "record_episode",
    "record_positions",
    "record_sightings",
    "register_company",
    "register_permits",
    "register_truck",
    "register_zones",
    "require_registrar",
    "scene",
    "silent_reports",
    "track",
    "track_scope",
    "trip_start",
]
