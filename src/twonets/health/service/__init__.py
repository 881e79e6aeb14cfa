"""Use cases of public-health readiness: the reserve, mobilisations, alarms, lab results, centres.

Every rule of the domain lives in this package, one module per aggregate; ``api.py`` and the
pages only parse and call ``service.<name>``. Each function takes the caller's session (one
unit of work) and the time; none commits. Reads of reservists' personal fields go through
``governance.service.read`` with the purpose ``health.reserve-mobilisation``; the figures
(readiness, mobilisation status, alerts) use the public columns only.
"""

from __future__ import annotations

from twonets.health.service.common import (
    LAB_FUNCTION,
    MAX_MOBILISATION_LINES,
    NEGATIVE,
    NOTIFIABLE,
    PATHOGEN,
    PURPOSE,
    QUALIFICATION_TYPE,
    RESERVIST_DATASET,
    TRAINING_VALIDITY,
    HealthContext,
)
from twonets.health.service.labs import (
    LabResult,
    Turnaround,
    submit_lab_result,
    turnaround,
)
from twonets.health.service.mobilisations import (
    DemandLine,
    close_mobilisation,
    count_open_mobilisations,
    create_mobilisation,
    get_mobilisation,
    list_mobilisations,
    mobilisation_json,
    replan,
    respond,
)
from twonets.health.service.my_calls import (
    answer_my_call,
    my_calls,
    pending_call_count,
)
from twonets.health.service.planning import (
    centre_plan,
)
from twonets.health.service.reserve import (
    ReadinessRow,
    check_qualification,
    create_hospital,
    district_names,
    list_hospitals,
    list_reservists,
    readiness,
    record_training,
    register_reservist,
    set_availability,
)
from twonets.health.service.surveillance import (
    DailyCount,
    alert_json,
    detect,
    list_alerts,
    most_aberrant_series,
    record_counts,
    series,
)

__all__ = [
    "LAB_FUNCTION",
    "MAX_MOBILISATION_LINES",
    "NEGATIVE",
    "NOTIFIABLE",
    "PATHOGEN",
    "PURPOSE",
    "QUALIFICATION_TYPE",
    "RESERVIST_DATASET",
    "TRAINING_VALIDITY",
    "DailyCount",
    "DemandLine",
    "HealthContext",
    "LabResult",
    "ReadinessRow",
    "Turnaround",
    "alert_json",
    "answer_my_call",
    "centre_plan",
    "check_qualification",
    "close_mobilisation",
    "count_open_mobilisations",
    "create_hospital",
    "create_mobilisation",
    "detect",
    "district_names",
    "get_mobilisation",
    "list_alerts",
    "list_hospitals",
    "list_mobilisations",
    "list_reservists",
    "mobilisation_json",
    "most_aberrant_series",
    "my_calls",
    "pending_call_count",
    "readiness",
    "record_counts",
    "record_training",
    "register_reservist",
    "replan",
    "respond",
    "series",
    "set_availability",
    "submit_lab_result",
    "turnaround",
]
