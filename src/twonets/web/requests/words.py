"""What the requests pages say about statuses, history steps and errors (marked for translation)."""

from __future__ import annotations

from twonets.core.errors import Conflict, Forbidden, NotFound, TwonetsError
from twonets.web.i18n import N_

STATUS = {
    "pending": N_("Awaiting dispatch"),
    "assigned": N_("Routed to a department"),
    "accepted": N_("Being handled"),
    "answered": N_("Answered"),
    "case": N_("Handled by the city operations centre"),
    "closed": N_("Closed"),
}

ACTIONS = {
    "submit": N_("Submitted"),
    "classify": N_("Category proposed"),
    "route": N_("Routed"),
    "assign": N_("Dispatched"),
    "accept": N_("Accepted"),
    "decline": N_("Declined as not theirs"),
    "answer": N_("Answered"),
    "confirm": N_("Confirmed"),
    "reopen": N_("Reopened"),
    "case": N_("Became an operations case"),
    "case-closed": N_("Operations case closed"),
    "case-rejected": N_("Operations case not filed"),
    "kb-answer": N_("Answered at once from the policy knowledge base"),
    "ask-department": N_("A department was asked to answer"),
    "remind": N_("Time limit near: department reminded"),
    "escalate": N_("Past the time limit: escalated to the supervising level"),
}

# A form field's problem, in the words of the form's own labels.
FIELD_WORDS = {
    "description": N_("Describe your request in the box “Your request”."),
    "category": N_("Choose a category from the list, or let the platform suggest one."),
    "reason": N_("Say in “What is still not solved” why the answer does not settle it."),
    "body": N_("Write your message before sending it."),
    "lat": N_("A city problem needs its place on the map: report it under “Report a problem”."),
    "file": N_("Attach a photo (JPEG, PNG, WebP) or a PDF of at most 5 MB."),
}


def worded(error: TwonetsError) -> tuple[str, str | None]:
    """(the message to show, the field it belongs to) for an error of a requests form."""
    for problem in error.errors:
        if problem.field in FIELD_WORDS:
            return FIELD_WORDS[problem.field], problem.field
    if error.extra.get("field") == "file":
        return FIELD_WORDS["file"], "file"
    if isinstance(error, Forbidden):
        return N_("This request is not yours, or this step is not yours to take."), None
    if isinstance(error, NotFound):
        return N_("There is no such request."), None
    if isinstance(error, Conflict):
        return N_("The request has moved on since the page was opened; look at it again."), None
    return N_("The form could not be sent; check what you typed and send it again."), None
