"""The knowledge base of policy answers (政策知识库) and answering a request from it at once.

The city's government services office (the 12345 hub, function ``government-services``)
owns the knowledge base: its staff add, change and withdraw answers; anyone may read them.
An enterprise request that matches an answer closely enough is answered at once with it;
the enterprise may still ask for a department, and the request is then routed as usual.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from twonets.core.auth import Principal
from twonets.core.errors import Conflict, Forbidden, Invalid, NotFound
from twonets.core.models import Role
from twonets.requests import categories, knowledge
from twonets.requests.models import PolicyAnswer, PolicyAnswerVersion, Request
from twonets.requests.service.common import (
    IllegalStatus,
    RequestKind,
    RequestStatus,
    _step,
)

# Who keeps the knowledge base: staff of the department with this function (the city's
# government services office, the 12345 hub). Anyone else gets 403 from every change.
KNOWLEDGE_OWNER_FUNCTION = categories.FALLBACK_FUNCTION
# An answer is read by enterprises in Chinese: its question and answer carry Chinese text.
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")


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


def _chinese(value: str | None, field: str, limit: int) -> str:
    text = _clean(value, field, limit)
    if not _CJK.search(text):
        raise Invalid.field(field, "chinese", "should be written in Chinese")
    return text


def _categories(primary: str, also: Sequence[str]) -> tuple[str, list[str]]:
    """The answer's category and the further ones it applies to, each a known enterprise
    category, without repeats."""
    code = (primary or "").strip()
    if not categories.is_enterprise_category(code):
        raise Invalid.field("category", "enterprise-category", f"no enterprise category {code!r}")
    further: list[str] = []
    for raw in also:
        other = raw.strip()
        if not other or other == code or other in further:
            continue
        if not categories.is_enterprise_category(other):
            raise Invalid.field(
                "also_categories", "enterprise-category", f"no enterprise category {other!r}"
            )
        further.append(other)
    return code, further


def categories_of(answer: PolicyAnswer) -> list[str]:
    """Every category an answer applies to, its own first."""
    return [answer.category_code, *(answer.also_categories or [])]


def list_answers(
    session: Session,
    *,
    category: str | None = None,
    include_withdrawn: bool = False,
    text: str | None = None,
) -> list[PolicyAnswer]:
    """The answers of the knowledge base (public policy, anyone may read), by code.

    ``category`` keeps those that apply to it; ``text`` those whose code, question, answer
    or source contain it.
    """
    query = select(PolicyAnswer)
    if not include_withdrawn:
        query = query.where(PolicyAnswer.active.is_(True))
    found = list(session.scalars(query.order_by(PolicyAnswer.code)))
    if category:
        found = [a for a in found if category in categories_of(a)]
    words = (text or "").strip().lower()
    if words:
        found = [
            a
            for a in found
            if words in " ".join((a.code, a.question, a.answer, a.source or "")).lower()
        ]
    return found


def get_answer(session: Session, code: str) -> PolicyAnswer:
    """One answer by its code."""
    found = session.scalar(select(PolicyAnswer).where(PolicyAnswer.code == code))
    if found is None:
        raise NotFound(f"no answer {code!r} in the knowledge base")
    return found


def _record(
    session: Session, row: PolicyAnswer, caller: Principal | None, action: str, now: datetime
) -> None:
    """Keep this version of the answer: what it says, who changed it, when."""
    session.flush()
    session.add(
        PolicyAnswerVersion(
            answer_id=row.id,
            version=row.version,
            action=action,
            at=now,
            account_id=caller.account_id if caller else None,
            actor_name=caller.display_name if caller else None,
            categories=categories_of(row),
            question=row.question,
            answer=row.answer,
            source=row.source,
            active=row.active,
        )
    )
    session.flush()


def answer_versions(
    session: Session, caller: Principal, code: str
) -> Sequence[PolicyAnswerVersion]:
    """Every version of an answer, the latest first (for those who keep the base)."""
    check_knowledge_owner(caller)
    row = get_answer(session, code)
    return session.scalars(
        select(PolicyAnswerVersion)
        .where(PolicyAnswerVersion.answer_id == row.id)
        .order_by(PolicyAnswerVersion.version.desc(), PolicyAnswerVersion.id.desc())
    ).all()


def create_answer(
    session: Session,
    caller: Principal,
    *,
    code: str,
    category: str,
    question: str,
    answer: str,
    source: str | None = None,
    also_categories: Sequence[str] = (),
    now: datetime,
) -> PolicyAnswer:
    """Add an answer to the knowledge base (the government services office).

    It answers matching requests from the next filing on.
    """
    check_knowledge_owner(caller)
    code = _clean(code, "code", 64)
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]*", code):
        raise Invalid.field("code", "pattern", "lower-case letters, digits and hyphens")
    primary, further = _categories(category, also_categories)
    if session.scalar(select(PolicyAnswer.id).where(PolicyAnswer.code == code)) is not None:
        raise Conflict(f"an answer {code!r} exists already", extra={"field": "code"})
    row = PolicyAnswer(
        code=code,
        category_code=primary,
        also_categories=further,
        question=_chinese(question, "question", 2000),
        answer=_chinese(answer, "answer", 4000),
        source=(source or "").strip()[:256] or None,
        active=True,
        version=1,
        updated_at=now,
        updated_by_account_id=caller.account_id,
    )
    session.add(row)
    _record(session, row, caller, "create", now)
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
    category: str | None = None,
    also_categories: Sequence[str] | None = None,
) -> PolicyAnswer:
    """Change, retire (``active=False``) or restore an answer (the government services
    office); each change is a new version, and the matching uses it from the next filing."""
    check_knowledge_owner(caller)
    row = get_answer(session, code)
    if category is not None or also_categories is not None:
        row.category_code, row.also_categories = _categories(
            category if category is not None else row.category_code,
            also_categories if also_categories is not None else row.also_categories or [],
        )
    if question is not None:
        row.question = _chinese(question, "question", 2000)
    if answer is not None:
        row.answer = _chinese(answer, "answer", 4000)
    if source is not None:
        row.source = source.strip()[:256] or None
    action = "change"
    if active is not None and active != row.active:
        action = "restore" if active else "retire"
        row.active = active
    row.version = (row.version or 1) + 1
    row.updated_at = now
    row.updated_by_account_id = caller.account_id
    _record(session, row, caller, action, now)
    return row


def load_seed_answers(session: Session, *, now: datetime) -> int:
    """Put the repository's seed answers in the knowledge base (those not there yet)."""
    known = set(session.scalars(select(PolicyAnswer.code)))
    added = 0
    for entry in knowledge.seed_answers():
        if entry["code"] in known:
            continue
        row = PolicyAnswer(
            code=entry["code"],
            category_code=entry["category"],
            also_categories=[],
            question=entry["question"],
            answer=entry["answer"],
            source=entry.get("source"),
            active=True,
            version=1,
            updated_at=now,
        )
        session.add(row)
        _record(session, row, None, "create", now)
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
    if chosen is None or chosen not in categories_of(answer):
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
