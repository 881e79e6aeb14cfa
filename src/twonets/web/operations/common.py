"""What the operations screens share: who may open them, case states, errors in a form's words.

Forms speak their own labels: an error names the field as the person sees it ("Describe
it: ..."), never the API's field path, and a rejected form comes back with what was typed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Annotated

from fastapi import Depends, Request

from twonets.core.auth import Principal
from twonets.core.errors import TwonetsError
from twonets.core.http import require
from twonets.core.models import Role
from twonets.operations.cases.photos import MAX_PHOTO_BYTES, Photo
from twonets.web import i18n
from twonets.web.i18n import N_

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
Gettext = Callable[[str], str]
# The words a person reads for the loop's states, steps, sources and urgencies; the pages
# translate them (``_(states[...])``).
STATE_LABELS = {
    "reported": N_("Reported"),
    "filed": N_("Filed"),
    "dispatched": N_("Dispatched"),
    "handling": N_("Handling"),
    "handled": N_("Handled"),
    "verified": N_("Verified"),
    "closed": N_("Closed"),
    "merged": N_("Merged"),
    "rejected": N_("Not filed"),
}
ACTION_LABELS = {
    "report": N_("reported"),
    "merge": N_("merged"),
    "file": N_("filed"),
    "reject": N_("not filed"),
    "dispatch": N_("dispatched"),
    "accept": N_("taken on"),
    "feedback": N_("reported handled"),
    "verify": N_("verified"),
    "redispatch": N_("sent back"),
    "close": N_("closed"),
    "evaluate": N_("evaluated"),
}
SOURCE_LABELS = {
    "detector": N_("data analysis"),
    "device": N_("device"),
    "patrol": N_("patrol"),
    "citizen": N_("resident"),
    "alarm": N_("another department's alarm"),
}
URGENCY_LABELS = {"normal": N_("normal"), "urgent": N_("urgent"), "emergency": N_("emergency")}
LABELS = {"states": STATE_LABELS, "actions": ACTION_LABELS, "sources": SOURCE_LABELS}


# A field's label and what is wrong with it ("Describe it: say in a few words what you see").
LABELLED = N_("%(label)s: %(detail)s")


def gettext_of(request: Request) -> Gettext:
    """The page's translation of a text, in the request's language."""
    return i18n.translations(i18n.language_of(request).code, "operations").gettext


# --- errors in the form's words -------------------------------------------------------------

_PHOTO = re.compile(r"^photos\[(\d+)\]$")
# Rules whose detail is written for the API; a person reads these instead.
_PHOTO_WORDS = {
    "photo-type": N_("is not a picture the city can keep: choose a JPEG, PNG or WebP photo"),
    "photo-size": N_("is empty or larger than %(mb)s MB: choose a smaller photo"),
}


def _label(field: str, labels: Mapping[str, str], photos: Sequence[Photo], gettext: Gettext) -> str:
    match = _PHOTO.match(field)
    if match:
        index = int(match.group(1))
        name = photos[index].filename if index < len(photos) else ""
        label = gettext(N_("Photo %(n)s")) % {"n": index + 1}
        return label + (f" ({name})" if name else "")
    return gettext(labels.get(field, labels.get("*", N_("This form"))))


def worded(
    error: TwonetsError,
    labels: Mapping[str, str],
    *,
    words: Mapping[tuple[str, str], str] | None = None,
    photos: Sequence[Photo] = (),
    gettext: Gettext = str,
) -> tuple[str, dict[str, str]]:
    """The error as the form says it: one message, and one per field (by the form's name)."""
    fields: dict[str, str] = {}
    for problem in error.errors:
        detail = (words or {}).get((problem.field, problem.rule))
        if detail is None and _PHOTO.match(problem.field):
            detail = _PHOTO_WORDS.get(problem.rule)
        if detail is not None:
            detail = gettext(detail) % {"mb": MAX_PHOTO_BYTES // (1024 * 1024)}
        label = _label(problem.field, labels, photos, gettext)
        key = "photos" if _PHOTO.match(problem.field) else problem.field
        said = {"label": label, "detail": detail or problem.detail}
        fields.setdefault(key, gettext(LABELLED) % said)
    message = next(iter(fields.values()), error.detail)
    return message, fields
