"""Use cases of enterprise requests and citizen reports: intake, routing, handling, Open311.

A request is filed by an enterprise (logged in by its credit code), a resident, or a client
application through Open311. The classifier proposes its category when the filer did not
choose one; routing rules propose the department; below the confidence threshold a
dispatcher (an operations operator) decides. A department works only the requests routed to
it, and may decline one as "not ours" with a reason: it is re-routed, and the filer sees who
declined and why. A city problem (a management element) becomes an operations case and its
status follows the case. Every status change and routing decision is written to the
request's history with who, when and why.
"""

from __future__ import annotations

from twonets.requests.service.answers import (
    KNOWLEDGE_OWNER_FUNCTION,
    answer_at_once,
    change_answer,
    check_knowledge_owner,
    create_answer,
    get_answer,
    list_answers,
    load_seed_answers,
    match_answer,
)
from twonets.requests.service.clients import (
    authenticate_client,
    create_client,
    revoke_client,
)
from twonets.requests.service.common import (
    CONFIDENCE_THRESHOLD,
    CONTACT_DATASET,
    CONTACT_PURPOSE,
    HELD_STATUSES,
    OPEN_STATUSES,
    Classify,
    IdempotencyKeyReused,
    IllegalStatus,
    RequestKind,
    RequestStatus,
    check_may_see,
    default_classify,
    department_of,
    get_request_row,
    once,
)
from twonets.requests.service.deadlines import DeadlineRun, check_deadlines, supervisor_of
from twonets.requests.service.deliveries import MAX_ATTEMPTS, deliver_pending
from twonets.requests.service.handling import (
    Side,
    accept_request,
    answer_request,
    ask_department,
    assign_request,
    confirm_request,
    decline_request,
    follow_case,
    list_messages,
    post_message,
    rate_request,
    reopen_request,
)
from twonets.requests.service.inbox import (
    NOTIFY_PURPOSE,
    list_deliveries,
    list_inbox,
    mark_read,
)
from twonets.requests.service.intake import (
    Filer,
    Placement,
    submit_request,
)
from twonets.requests.service.reading import (
    STATUS_NOTES,
    HistoryEntry,
    RequestFilter,
    first_media_url,
    get_public,
    get_request,
    history,
    is_open311_status_closed,
    list_overdue,
    list_public,
    list_request_deliveries,
    list_requests,
    read_contact,
    status_note,
    statuses_of_open311,
)

__all__ = [
    "CONFIDENCE_THRESHOLD",
    "CONTACT_DATASET",
    "CONTACT_PURPOSE",
    "HELD_STATUSES",
    "KNOWLEDGE_OWNER_FUNCTION",
    "MAX_ATTEMPTS",
    "NOTIFY_PURPOSE",
    "OPEN_STATUSES",
    "STATUS_NOTES",
    "Classify",
    "DeadlineRun",
    "Filer",
    "HistoryEntry",
    "IdempotencyKeyReused",
    "IllegalStatus",
    "Placement",
    "RequestFilter",
    "RequestKind",
    "RequestStatus",
    "Side",
    "accept_request",
    "answer_at_once",
    "answer_request",
    "ask_department",
    "assign_request",
    "authenticate_client",
    "change_answer",
    "check_deadlines",
    "check_knowledge_owner",
    "check_may_see",
    "confirm_request",
    "create_answer",
    "create_client",
    "decline_request",
    "default_classify",
    "deliver_pending",
    "department_of",
    "first_media_url",
    "follow_case",
    "get_answer",
    "get_public",
    "get_request",
    "get_request_row",
    "history",
    "is_open311_status_closed",
    "list_answers",
    "list_deliveries",
    "list_inbox",
    "list_messages",
    "list_overdue",
    "list_public",
    "list_request_deliveries",
    "list_requests",
    "load_seed_answers",
    "mark_read",
    "match_answer",
    "once",
    "post_message",
    "rate_request",
    "read_contact",
    "reopen_request",
    "revoke_client",
    "status_note",
    "statuses_of_open311",
    "submit_request",
    "supervisor_of",
]
