"""The knowledge base of policy answers (政策知识库) and answering a request from it at once.

The city's government services office (the 12345 hub, function ``government-services``)
owns the knowledge base: its staff add, change and withdraw answers; anyone may read them.
An enterprise request that matches an answer closely enough is answered at once with it;
the enterprise may still ask for a department, and the request is then routed as usual.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from twonets.core.auth import Principal
from twonets.core.errors import Conflict, Forbidden, Invalid, NotFound
from twonets.core.models import Role
from twonets.requests import categories, knowledge
from twonets.requests.models import PolicyAnswer, Request
from twonets.requests.service.common import (
    IllegalStatus,
    RequestKind,
    RequestStatus,
    _step,
)

KNOWLEDGE_OWNER_FUNCTION = categories.FALLBACK_FUNCTION


def check_knowledge_owner(caller: Principal) -> None:
    """Only staff of the government services office keep the knowledge base."""
    caller.require(Role.STAFF)
    if caller.department_function != KNOWLEDGE_OWNER_FUNCTION:
        raise Forbidden(
            "the knowledge base of policy answers is kept by the government services office",
            extra={"rule": "knowledge-owner"},
        )


def _clean(value: str | None, field: str, limit: int) -> str:
    text = (value or "").strip()
    if not text:
        raise Invalid.field(field, "required", "should not be empty")
    if len(text) > limit:
        raise Invalid.field(field, "length", f"should be at most {limit} characters")
    return text


def list_answers(
    session: Session, *, category: str | None = None, include_withdrawn: bool = False
) -> Sequence[PolicyAnswer]:
    """The answers of the knowledge base (public policy, anyone may read), by code."""
    query = select(PolicyAnswer)
    if category:
        query = query.where(PolicyAnswer.category_code == category)
    if not include_withdrawn:
        query = query.where(PolicyAnswer.active.is_(True))
    return session.scalars(query.order_by(PolicyAnswer.code)).all()


def get_answer(session: Session, code: str) -> PolicyAnswer:
    """One answer by its code."""
    found = session.scalar(select(PolicyAnswer).where(PolicyAnswer.code == code))
    if found is None:
        raise NotFound(f"no answer {code!r} in the knowledge base")
    return found


def create_answer(
    session: Session,
    caller: Principal,
    *,
    code: str,
    category: str,
    question: str,
    answer: str,
    source: str | None = None,
    now: datetime,
) -> PolicyAnswer:
    """Add an answer to the knowledge base (the government services office)."""
    check_knowledge_owner(caller)
    code = _clean(code, "code", 64)
    categories.get_category(category.strip())
    if session.scalar(select(PolicyAnswer.id).where(PolicyAnswer.code == code)) is not None:
        raise Conflict(f"an answer {code!r} exists already", extra={"field": "code"})
    row = PolicyAnswer(
        code=code,
        category_code=category.strip(),
        question=_clean(question, "question", 2000),
        answer=_clean(answer, "answer", 4000),
        source=(source or "").strip()[:256] or None,
        active=True,
        updated_at=now,
        updated_by_account_id=caller.account_id,
    )
    session.add(row)
    session.flush()
    return row


def change_answer(
    session: Session,
    caller: Principal,
    code: str,
    *,
    now: datetime,
    question: str | None = None,
    answer: str | None = None,
    source: str | None = None,
    active: bool | None = None,
) -> PolicyAnswer:
    """Change or withdraw (``active=False``) an answer (the government services office)."""
    check_knowledge_owner(caller)
    row = get_answer(session, code)
    if question is not None:
        row.question = _clean(question, "question", 2000)
    if answer is not None:
        row.answer = _clean(answer, "answer", 4000)
    if source is not None:
        row.source = source.strip()[:256] or None
    if active is not None:
        row.active = active
    row.updated_at = now
    row.updated_by_account_id = caller.account_id
    return row


def load_seed_answers(session: Session, *, now: datetime) -> int:
    """Put the repository's seed answers in the knowledge base (those not there yet)."""
    known = set(session.scalars(select(PolicyAnswer.code)))
    added = 0
    for entry in knowledge.seed_answers():
        if entry["code"] in known:
            continue
        session.add(
            PolicyAnswer(
                code=entry["code"],
                category_code=entry["category"],
                question=entry["question"],
                answer=entry["answer"],
                source=entry.get("source"),
                active=True,
                updated_at=now,
            )
        )
        added += 1
    session.flush()
    return added


def match_answer(
    session: Session, text: str, *, category: str | None = None
) -> tuple[PolicyAnswer, float] | None:
    """The answer that matches ``text`` at or above the threshold, with its score."""
    answers = list_answers(session, category=category)
    found = knowledge.best_match(text, [knowledge.Entry(a.id, a.question) for a in answers])
    if found is None or found.score < knowledge.MATCH_THRESHOLD:
        return None
    by_id = {a.id: a for a in answers}
    return by_id[found.key], found.score


def answer_at_once(session: Session, row: Request, *, now: datetime) -> bool:
    """Answer an enterprise request from the knowledge base when one matches; whether it did."""
    if row.kind != RequestKind.ENTERPRISE.value:
        return False
    chosen = None if row.proposed_category else row.category_code
    found = match_answer(session, row.description, category=chosen)
    if found is None:
        return False
    answer, score = found
    row.answer_id = answer.id
    row.category_code = answer.category_code
    _step(
        session,
        row,
        action="kb-answer",
        to_status=RequestStatus.ANSWERED,
        now=now,
        note=answer.answer,
        answer=answer.code,
        score=round(score, 4),
        source=answer.source,
    )
    return True


def check_may_ask_department(row: Request) -> None:
    """Only a request answered from the knowledge base, and still answered, goes on."""
    if row.answer_id is None or row.status != RequestStatus.ANSWERED.value or row.department_id:
        raise IllegalStatus(
            f"request {row.number} is {row.status}: asking for a department needs a request "
            "answered from the knowledge base",
            extra={"status": row.status, "rule": "ask-department needs a knowledge-base answer"},
        )
