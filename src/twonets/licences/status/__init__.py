"""Licence status lists (IETF Token Status List): the list, the signed token, a verifier's cache.

``codec`` is the list itself (bits per licence, zlib, base64url); ``token`` signs and checks
the Status List Token around it; ``cache`` holds verified lists for a verifier, one per URI
(a region has numbered lists, each its own URI). Issuance gives each licence version a
random free index in its region's current list (``licences.service.positions``), so an
index says nothing about when a licence was issued.
"""

from twonets.licences.status.cache import StatusCache
from twonets.licences.status.codec import (
    ALLOWED_BITS,
    MAX_LIST_BYTES,
    InvalidStatusList,
    StatusList,
    StatusType,
    compressed_size,
)
from twonets.licences.status.token import (
    DEFAULT_LEEWAY,
    TOKEN_TYPE,
    InvalidStatusListToken,
    KeySigner,
    PrivateKey,
    PublicKey,
    StatusListSigner,
    StatusListToken,
    UntrustedStatusListToken,
    open_status_list_token,
    sign_status_list_token,
    verify_status_list_token,
)

__all__ = [
    "ALLOWED_BITS",
    "DEFAULT_LEEWAY",
    "MAX_LIST_BYTES",
    "TOKEN_TYPE",
    "InvalidStatusList",
    "InvalidStatusListToken",
    "KeySigner",
    "PrivateKey",
    "PublicKey",
    "StatusCache",
    "StatusList",
    "StatusListSigner",
    "StatusListToken",
    "StatusType",
    "UntrustedStatusListToken",
    "compressed_size",
    "open_status_list_token",
    "sign_status_list_token",
    "verify_status_list_token",
]
