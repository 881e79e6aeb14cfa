"""Use cases of codes: scenarios, holders and their revocations, rotating codes, scans.

Codes are signed with the region's issuing key (``twonets.trust``) and carry a pseudonymous
holder token. A scan is checked offline first (``token.verify_code``), then online: the
scanner's organisation must be one the scenario names, the holder must not be revoked for
the scenario, and a code seen at another place within its life is flagged as a replay. Each
accepted scan is one row of the ``codes.scan`` dataset (whereabouts: the place is sealed),
kept until its scenario's retention runs out.

One module per aggregate; callers import ``twonets.codes.service``:

- ``scenarios``: the scenarios an administrator edits, and the default one of a holder;
- ``holders``: holders and revocations of their codes by the scenario's codes authority;
- ``issuing``: a holder's rotating code, and the offline verifier's trust bundle;
- ``scanning``: the online check at a gate, the scan records and their retention;
- ``verdicts``: what a gate is told of a scan (reason, action, repeat or replay);
- ``statistics``: counts of scans for staff (no whereabouts);
- ``health``: the health status: facts health departments report, the colour, appeals.
"""

from __future__ import annotations

from twonets.codes.service.health import (
    count_pending_appeals,
    decide_appeal,
    file_appeal,
    health_status,
    list_appeals,
    may_decide_appeals,
    my_health,
    record_health_fact,
)
from twonets.codes.service.holder_status import LIFETIME as HOLDER_STATUS_LIFETIME
from twonets.codes.service.holder_status import TTL_SECONDS as HOLDER_STATUS_TTL_SECONDS
from twonets.codes.service.holder_status import holder_status_token
from twonets.codes.service.holder_status import refresh_remote as refresh_remote_holder_status
from twonets.codes.service.holders import (
    CodeWithheld,
    RevocationView,
    ensure_holder,
    my_revocations,
    set_holder_status,
)
from twonets.codes.service.issuing import IssuedCode, issue_code, trust_bundle
from twonets.codes.service.scanning import (
    MAX_CODE_CHARS,
    MAX_PLACE_CHARS,
    SCAN_DATASET,
    SCAN_ROLES,
    my_scans,
    purge_scans,
    scan,
    scan_confirmed,
    verifier_of,
)
from twonets.codes.service.scenarios import (
    default_scenario,
    ensure_scenarios,
    get_scenario,
    list_scenarios,
    put_scenario,
    scenarios_decided_by,
)
from twonets.codes.service.statistics import statistics
from twonets.codes.service.verdicts import (
    Action,
    NotThisGate,
    Reason,
    Repeat,
    ScanOutcome,
    action_of,
)

__all__ = [
    "HOLDER_STATUS_LIFETIME",
    "HOLDER_STATUS_TTL_SECONDS",
    "MAX_CODE_CHARS",
    "MAX_PLACE_CHARS",
    "SCAN_DATASET",
    "SCAN_ROLES",
    "Action",
    "CodeWithheld",
    "IssuedCode",
    "NotThisGate",
    "Reason",
    "Repeat",
    "RevocationView",
    "ScanOutcome",
    "action_of",
    "count_pending_appeals",
    "decide_appeal",
    "default_scenario",
    "ensure_holder",
    "ensure_scenarios",
    "file_appeal",
    "get_scenario",
    "health_status",
    "holder_status_token",
    "issue_code",
    "list_appeals",
    "list_scenarios",
    "may_decide_appeals",
    "my_health",
    "my_revocations",
    "my_scans",
    "purge_scans",
    "put_scenario",
    "record_health_fact",
    "refresh_remote_holder_status",
    "scan",
    "scan_confirmed",
    "scenarios_decided_by",
    "set_holder_status",
    "statistics",
    "trust_bundle",
    "verifier_of",
]
