"""Reference pages anyone may open: the districts, the departments, the identifier check."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from twonets.core import service
from twonets.core.http import (
    Caller,
    MaybeCaller,
    Uow,
    require,
)
from twonets.core.ids import check_identifier
from twonets.web.pages import render

router = APIRouter(include_in_schema=False)


@router.get("/districts", response_class=HTMLResponse)
def districts_page(request: Request, caller: MaybeCaller, uow: Uow) -> HTMLResponse:
    """The districts of the city, their populations, and a map of their boundaries."""
    with uow() as session:
        districts = list(service.list_districts(session))
        regions = list(service.list_regions(session))
    total = sum(d.population_2020 for d in districts)
    return render(
        request, "districts.html", caller, districts=districts, regions=regions, total=total
    )


@router.get(
    "/departments",
    response_class=HTMLResponse,
    dependencies=[Depends(require(*service.STAFF_ROLES))],
)
def departments_page(request: Request, caller: Caller, uow: Uow) -> HTMLResponse:
    """Departments by level and function."""
    with uow() as session:
        departments = list(service.list_departments(session))
    return render(request, "departments.html", caller, departments=departments)


@router.get("/ids", response_class=HTMLResponse)
def ids_page(
    request: Request,
    caller: MaybeCaller,
    value: Annotated[list[str] | None, Query(max_length=100)] = None,
) -> HTMLResponse:
    """Check identifiers in the browser: one verdict per value."""
    values = [v for v in (value or []) for v in v.split() if v]
    results = [check_identifier(v) for v in values]
    return render(request, "ids.html", caller, results=results, values="\n".join(values))
