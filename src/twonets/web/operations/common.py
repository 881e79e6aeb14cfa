"""What the operations screens share: who may open them, case states, errors in a form's words.

Forms speak their own labels: an error names the field as the person sees it ("Describe
it: ..."), never the API's field path, and a rejected form comes back with what was typed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Annotated

from fastapi import Depends

from twonets.core.auth import Principal
from twonets.core.errors import TwonetsError
from twonets.core.http import require
from twonets.core.models import Role
from twonets.operations.cases.photos import MAX_PHOTO_BYTES, Photo

Operator = Annotated[Principal, Depends(require(Role.OPERATOR))]
Watcher = Annotated[Principal, Depends(require(Role.OPERATOR, Role.STAFF))]
Supervisor = Annotated[Principal, Depends(require(Role.SUPERVISOR))]
Field = Annotated[Principal, Depends(require(Role.FIELD))]
Resident = Annotated[Principal, Depends(require(Role.CITIZEN))]
CaseReader = Annotated[
    Principal, Depends(require(Role.OPERATOR, Role.STAFF, Role.SUPERVISOR, Role.FIELD))
]
# Who may open a case's photos: whoever may see the case (residents, the cases they reported).
PhotoReader = Annotated[
    Principal,
    Depends(require(Role.OPERATOR, Role.STAFF, Role.SUPERVISOR, Role.FIELD, Role.CITIZEN)),
]
STATE_LABELS = {
    "reported": "Reported 上报",
    "filed": "Filed 立案",
    "dispatched": "Dispatched 派遣",
    "handling": "Handling 处置中",
    "handled": "Handled 已反馈",
    "verified": "Verified 已核查",
    "closed": "Closed 结案",
    "merged": "Merged 已合并",
    "rejected": "Not filed 不予立案",
}


# --- errors in the form's words -------------------------------------------------------------

_PHOTO = re.compile(r"^photos\[(\d+)\]$")
# Rules whose detail is written for the API; a person reads these instead.
_PHOTO_WORDS = {
    "photo-type": "is not a picture the city can keep: choose a JPEG, PNG or WebP photo",
    "photo-size": f"is empty or larger than {MAX_PHOTO_BYTES // (1024 * 1024)} MB: "
    "choose a smaller photo",
}


def _label(field: str, labels: Mapping[str, str], photos: Sequence[Photo]) -> str:
    match = _PHOTO.match(field)
    if match:
        index = int(match.group(1))
        name = photos[index].filename if index < len(photos) else ""
        return f"Photo {index + 1}" + (f" ({name})" if name else "")
    return labels.get(field, labels.get("*", "This form"))


def worded(
    error: TwonetsError,
    labels: Mapping[str, str],
    *,
    words: Mapping[tuple[str, str], str] | None = None,
    photos: Sequence[Photo] = (),
) -> tuple[str, dict[str, str]]:
    """The error as the form says it: one message, and one per field (by the form's name)."""
    fields: dict[str, str] = {}
    for problem in error.errors:
        detail = (words or {}).get((problem.field, problem.rule))
        if detail is None and _PHOTO.match(problem.field):
            detail = _PHOTO_WORDS.get(problem.rule)
        label = _label(problem.field, labels, photos)
        key = "photos" if _PHOTO.match(problem.field) else problem.field
        fields.setdefault(key, f"{label}: {detail or problem.detail}")
    message = next(iter(fields.values()), error.detail)
    return message, fields
