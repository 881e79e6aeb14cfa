"""Use cases of licences: issue, amend, suspend, revoke; the wallet; QR and SD-JWT; verify.

A department issues under its own region's current key (``twonets.trust``), and only the
issuing department changes a licence, or a department of the same region that the region's
administrator names for that type (a delegation). Every change is kept in the licence's
history, in the same transaction. Claims are sealed at rest under the ``licences.licence``
dataset key and opened for the holder only: what staff get back is the licence's metadata.
Each licence holds a random index in its region's status list, so that a verifier learns of
a revocation within the list's cache period without the index telling anything about it.
"""

from __future__ import annotations

from twonets.licences.models import LicenceStatus  # re-exported for callers
from twonets.licences.service.batches import (
    MAX_BATCH,
    IssuedLicence,
    LicenceItem,
    issue_licences,
)
from twonets.licences.service.context import (
    ALWAYS_SHOWN,
    BUNDLE_LIFETIME,
    CHANGES,
    DATASET,
    QR_LIFETIME,
    SD_JWT_LIFETIME,
    STATUS_BITS,
    STATUS_LIST_FILL,
    STATUS_LIST_LIFETIME,
    STATUS_LIST_SIZE,
    STATUS_TTL_SECONDS,
    STORE_MAX_AGE,
    Licensing,
    claims_of,
    parse_status_uri,
    status_uri,
)
from twonets.licences.service.delegations import (
    administrator,
    delegate_changes,
    delegation_json,
    list_delegations,
    withdraw_delegation,
)
from twonets.licences.service.holder_keys import (
    holder_key_json,
    holder_keys,
    own_holder_key,
    register_holder_key,
    remove_holder_key,
)
from twonets.licences.service.issuing import (
    TRANSITIONS,
    amend_licence,
    change_status,
    find_issued_licence,
    find_licence,
    get_issued_licence,
    get_licence,
    issue_licence,
    issuing_types,
    licence_history,
    licence_summary,
    types_issued_by,
)
from twonets.licences.service.verifying import (
    VerificationTotal,
    count_verification,
    numbered_status_list_token,
    region_lists,
    status_list,
    status_list_token,
    trust_bundle,
    verification_counts,
    verification_totals,
    verify,
)
from twonets.licences.service.wallet import (
    assisted_key,
    assisted_share,
    bound_credential,
    held_licence,
    holder_history,
    licence_json,
    qr_code,
    sign_qr,
    wallet,
)

__all__ = [
    "ALWAYS_SHOWN",
    "BUNDLE_LIFETIME",
    "CHANGES",
    "DATASET",
    "MAX_BATCH",
    "QR_LIFETIME",
    "SD_JWT_LIFETIME",
    "STATUS_BITS",
    "STATUS_LIST_FILL",
    "STATUS_LIST_LIFETIME",
    "STATUS_LIST_SIZE",
    "STATUS_TTL_SECONDS",
    "STORE_MAX_AGE",
    "TRANSITIONS",
    "IssuedLicence",
    "LicenceItem",
    "LicenceStatus",
    "Licensing",
    "VerificationTotal",
    "administrator",
    "amend_licence",
    "assisted_key",
    "assisted_share",
    "bound_credential",
    "change_status",
    "claims_of",
    "count_verification",
    "delegate_changes",
    "delegation_json",
    "find_issued_licence",
    "find_licence",
    "get_issued_licence",
    "get_licence",
    "held_licence",
    "holder_history",
    "holder_key_json",
    "holder_keys",
    "issue_licence",
    "issue_licences",
    "issuing_types",
    "licence_history",
    "licence_json",
    "licence_summary",
    "list_delegations",
    "numbered_status_list_token",
    "own_holder_key",
    "parse_status_uri",
    "qr_code",
    "region_lists",
    "register_holder_key",
    "remove_holder_key",
    "sign_qr",
    "status_list",
    "status_list_token",
    "status_uri",
    "trust_bundle",
    "types_issued_by",
    "verification_counts",
    "verification_totals",
    "verify",
    "wallet",
    "withdraw_delegation",
]
