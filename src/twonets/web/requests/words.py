"""What the requests pages say about statuses, history steps and errors (marked for translation).

The menu entries of these pages (web/navigation.py) are translated from this part's catalogue
too: their texts are marked here, where the requests' translators find them.
"""

from __future__ import annotations

from twonets.core.errors import Conflict, Forbidden, NotFound, TwonetsError
from twonets.web.i18n import N_

MENU = (
    N_("Requests to handle"),
    N_("Requests routed to your department: accept, decline, answer, write to the filer"),
    N_("Requests to dispatch"),
    N_("Requests the classifier was not sure of or every department declined: decide where"),
    N_("Request figures"),
    N_("Requests by category, district and department; on time, handling time, satisfaction"),
    N_("Overdue requests"),
    N_("Requests past their time limit, the department holding each and the level it reached"),
    N_("Policy answers"),
    N_("The knowledge base that answers standing questions at once: search, add, change, retire"),
)

# Why a request waits for a dispatcher (twonets.requests.service.desk.Waiting.reason).
REASONS = {
    "unsure": N_("The classifier was not sure"),
    "declined": N_("Every proposed department declined it"),
}

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
    "message": N_("New message"),
}

CHANNELS = {"email": N_("E-mail"), "sms": N_("Text message")}

# What became of an e-mail or a text message to the filer.
DELIVERY_STATUS = {
    "pending": N_("Waiting to be sent"),
    "sent": N_("Sent"),
    "failed": N_("Failed"),
    "skipped": N_("Not sent"),
}


def delivery_reason(status: str, detail: str | None) -> tuple[str, str | None]:
    """Why a delivery was not sent, in words to translate, and the server's own answer (or
    None) to show beside them."""
    text = detail or ""
    if status == "failed":
        return N_("The mail or message server refused it:"), text or None
    if text.startswith("no email") or text.startswith("no phone"):
        return N_("No address was given for it."), None
    if text.startswith("address not readable"):
        return N_("The department may not read the address it was to go to."), None
    if text.startswith("no member of staff"):
        return N_("No member of staff could send it."), None
    if status == "pending" and text:
        return N_("Trying again; the server said:"), text
    return "", None


# What each version of a policy answer did.
VERSION_ACTIONS = {
    "create": N_("Added"),
    "change": N_("Changed"),
    "retire": N_("Retired"),
    "restore": N_("Put back in use"),
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


# The same fields on the staff's forms, in the words of their labels.
STAFF_FIELD_WORDS = {
    "reason": N_("Say in “Why it is not ours” why the request belongs elsewhere."),
    "answer": N_("Write the answer in the box “Answer” before sending it."),
    "body": N_("Write your message before sending it."),
    "category": N_("Choose a category from the list."),
    "department_code": N_("Choose a department from the list, or leave it to the rules."),
}


# The knowledge base editor's fields, in the words of its labels.
ANSWER_FIELD_WORDS = {
    "code": N_("Give the answer a code of lower-case letters, digits and hyphens, not used yet."),
    "category": N_("Choose the category the answer belongs to."),
    "also_categories": N_("Tick only categories from the list."),
    "question": N_("Write the question in Chinese, with its usual wordings."),
    "answer": N_("Write the answer in Chinese."),
}


def worded(error: TwonetsError, fields: dict[str, str] | None = None) -> tuple[str, str | None]:
    """(the message to show, the field it belongs to) for an error of a requests form."""
    words = FIELD_WORDS if fields is None else fields
    for problem in error.errors:
        if problem.field in words:
            return words[problem.field], problem.field
    if error.extra.get("field") == "file":
        return FIELD_WORDS["file"], "file"
    if isinstance(error, Forbidden):
        return N_("This request is not yours, or this step is not yours to take."), None
    if error.extra.get("field") == "code" and "code" in words:
        return words["code"], "code"
    if isinstance(error, NotFound):
        return N_("There is no such request."), None
    if isinstance(error, Conflict):
        return N_("The request has moved on since the page was opened; look at it again."), None
    return N_("The form could not be sent; check what you typed and send it again."), None
