"""The officer's review of break-glass reads (shown on the desk, marked reviewed here)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from twonets.core.errors import TwonetsError
from twonets.core.http import Clock, Uow
from twonets.governance import break_glass
from twonets.web.governance.desk import overview
from twonets.web.governance.words import Officer, see_other
from twonets.web.pages import FormFields

router = APIRouter(include_in_schema=False)


@router.post("/governance/break-glass/{read_id}/review", response_class=HTMLResponse)
def review_break_glass(
    request: Request,
    read_id: int,
    caller: Officer,
    uow: Uow,
    clock: Clock,
    form: FormFields,
    days: Annotated[int, Query(ge=1, le=3650)] = 30,
) -> Response:
    """Mark a break-glass read reviewed with a note; a problem comes back beside the note."""
    now = clock()
    try:
        with uow() as session:
            break_glass.review_break_glass(
                session, caller, read_id=read_id, note=form.get("note", ""), now=now
            )
    except TwonetsError as exc:
        return overview(
            request,
            caller,
            uow,
            now,
            days,
            glass_error=(read_id, exc, form),
            status_code=exc.status,
        )
    return see_other("/governance", days=str(days), reviewed=str(read_id))
