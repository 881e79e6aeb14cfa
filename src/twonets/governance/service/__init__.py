"""Use cases of governance: purposes, policies, the one door for reads, reports, retention.

``read`` is the only way personal data leaves the database for a department: it checks the
purpose, finds the policy of the reader's department (or function, or role) for that purpose
and dataset, selects only the granted fields within the row filter, opens sealed values,
masks each field by its rule, and records one ledger entry per data subject read, all in the
caller's transaction.
"""

from __future__ import annotations

from twonets.governance.models import GranteeKind, LegalBasis
from twonets.governance.service.context import (
    KEY_VERSIONS_INFO,
    MAX_EXPORT_ROWS,
    MAX_READ_ROWS,
    MINOR_AGE,
    OVERSIGHT_ROLES,
    PURPOSE_CODE_MAX,
    PURPOSE_CODE_PATTERN,
    PURPOSE_NAME_MAX,
    REASON_MAX,
    RETENTION_MAX_DAYS,
    SUBJECT_ACCESS,
    Governance,
    PurposeState,
    check_may_read,
    check_officer,
    grantable_roles,
)
from twonets.governance.service.grants import (
    active_grant,
    check_purpose_active,
    grant_for,
    holds_policy_for_purpose,
)
from twonets.governance.service.policies import (
    Difference,
    DifferenceKind,
    VersionChange,
    change_differences,
    check_row_filter,
    list_changes,
    list_policies,
    policy_versions,
    revoke_policy,
    set_policy,
    version_differences,
)
from twonets.governance.service.purposes import (
    change_purpose,
    check_purpose_fields,
    create_purpose,
    get_purpose,
    list_purposes,
    log_change,
    purpose_state,
)
from twonets.governance.service.reading import (
    ReadQuery,
    ReadResult,
    export,
    minor_cutoff,
    open_and_mask,
    read,
    record_subject_reads,
    subject_access_entry,
)

__all__ = [
    "KEY_VERSIONS_INFO",
    "MAX_EXPORT_ROWS",
    "MAX_READ_ROWS",
    "MINOR_AGE",
    "OVERSIGHT_ROLES",
    "PURPOSE_CODE_MAX",
    "PURPOSE_CODE_PATTERN",
    "PURPOSE_NAME_MAX",
    "REASON_MAX",
    "RETENTION_MAX_DAYS",
    "SUBJECT_ACCESS",
    "Difference",
    "DifferenceKind",
    "Governance",
    "GranteeKind",
    "LegalBasis",
    "PurposeState",
    "ReadQuery",
    "ReadResult",
    "VersionChange",
    "active_grant",
    "change_differences",
    "change_purpose",
    "check_may_read",
    "check_officer",
    "check_purpose_active",
    "check_purpose_fields",
    "check_row_filter",
    "create_purpose",
    "export",
    "get_purpose",
    "grant_for",
    "grantable_roles",
    "holds_policy_for_purpose",
    "list_changes",
    "list_policies",
    "list_purposes",
    "log_change",
    "minor_cutoff",
    "open_and_mask",
    "policy_versions",
    "purpose_state",
    "read",
    "record_subject_reads",
    "revoke_policy",
    "set_policy",
    "subject_access_entry",
    "version_differences",
]
