"""Use cases of "one thing" services: deploy and migrate processes, apply, work the steps.

Processes are BPMN files run by SpiffWorkflow (``twonets.services.engine``); each
application's workflow state is stored after every step, every state change is kept with
who, when and from which version, and each step sits in the queue of the department
function its lane names (a district's department sees its district only).
"""

from __future__ import annotations

from twonets.services.models import ApplicationStatus, TaskStatus  # re-exported for callers
from twonets.services.service.applications import (
    CHANNELS,
    application_json,
    apply,
    contactless_figures,
    get_application,
    list_my_applications,
    may_apply,
    prefill_form,
    processes_for,
    read_application_form,
    supply_material,
    task_json,
)
from twonets.services.service.crossing import (
    deliver_pending_replies,
    http_post,
    receive_message,
)
from twonets.services.service.inbox import answer_remote, answer_remote_request, receive_reply
from twonets.services.service.materials import MAX_BYTES as MATERIAL_MAX_BYTES
from twonets.services.service.materials import (
    list_materials,
    material_json,
    open_material,
    upload,
)
from twonets.services.service.paying import PaymentFailed, pay
from twonets.services.service.processes import (
    Deployed,
    MigrationReport,
    deploy_builtin,
    deploy_process,
    get_definition,
    list_definitions,
    migrate_applications,
)
from twonets.services.service.remote import RemoteRefused, list_inbox, send_pending
from twonets.services.service.tasks import (
    claim_task,
    complete_task,
    escalate_overdue,
    list_queue,
    reject_task,
    return_task,
)
from twonets.services.service.timers import (
    fire_timers,
    list_parked,
    may_retry_timers,
    retry_timers,
)

__all__ = [
    "CHANNELS",
    "MATERIAL_MAX_BYTES",
    "ApplicationStatus",
    "Deployed",
    "MigrationReport",
    "PaymentFailed",
    "RemoteRefused",
    "TaskStatus",
    "answer_remote",
    "answer_remote_request",
    "application_json",
    "apply",
    "claim_task",
    "complete_task",
    "contactless_figures",
    "deliver_pending_replies",
    "deploy_builtin",
    "deploy_process",
    "escalate_overdue",
    "fire_timers",
    "get_application",
    "get_definition",
    "http_post",
    "list_definitions",
    "list_inbox",
    "list_materials",
    "list_my_applications",
    "list_parked",
    "list_queue",
    "material_json",
    "may_apply",
    "may_retry_timers",
    "migrate_applications",
    "open_material",
    "pay",
    "prefill_form",
    "processes_for",
    "read_application_form",
    "receive_message",
    "receive_reply",
    "reject_task",
    "retry_timers",
    "return_task",
    "send_pending",
    "supply_material",
    "task_json",
    "upload",
]
