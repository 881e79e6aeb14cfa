"""One error tree for every domain; the web layer renders it as RFC 9457 problem+json."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, TypeVar

PROBLEM_BASE = "https://twonets.dev/problems/"


@dataclass(frozen=True)
class FieldProblem:
    """One field that broke one rule: ``field`` is a dotted path, ``rule`` a stable name."""

    field: str
    rule: str
    detail: str

    def to_json(self) -> dict[str, str]:
        """The field problem as it appears in a problem+json ``errors`` list."""
        return {"field": self.field, "rule": self.rule, "detail": self.detail}


class TwonetsError(Exception):
    """Base of every error a use case raises on purpose; carries its HTTP status and type."""

    status: ClassVar[int] = 500
    slug: ClassVar[str] = "error"
    title: ClassVar[str] = "Internal error"

    def __init__(
        self,
        detail: str,
        *,
        errors: Sequence[FieldProblem] = (),
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = tuple(errors)
        self.extra = dict(extra or {})

    @property
    def type_uri(self) -> str:
        """The stable problem type URI of this error class."""
        return PROBLEM_BASE + self.slug

    def to_problem(self, *, instance: str | None = None) -> dict[str, Any]:
        """The RFC 9457 body of this error."""
        body: dict[str, Any] = {
            "type": self.type_uri,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if instance:
            body["instance"] = instance
        if self.errors:
            body["errors"] = [e.to_json() for e in self.errors]
        body.update(self.extra)
        return body


class Invalid(TwonetsError):
    """The request breaks a rule about its own content (a field, a format, a range)."""

    status = 422
    slug = "invalid"
    title = "Invalid input"

    @classmethod
    def field(cls, field: str, rule: str, detail: str) -> Invalid:
        """An error about exactly one field, with a detail that names it."""
        return cls(f"{field}: {detail}", errors=[FieldProblem(field, rule, detail)])


class NotFound(TwonetsError):
    """The thing named does not exist (or the caller may not know that it does)."""

    status = 404
    slug = "not-found"
    title = "Not found"


class Conflict(TwonetsError):
    """The request is valid but clashes with the current state (a duplicate, a stale version)."""

    status = 409
    slug = "conflict"
    title = "Conflict"


class Unauthenticated(TwonetsError):
    """No valid credentials came with the request."""

    status = 401
    slug = "unauthenticated"
    title = "Authentication required"


class Forbidden(TwonetsError):
    """The caller is known but lacks the role, grant or purpose the action needs."""

    status = 403
    slug = "forbidden"
    title = "Forbidden"


class TooManyAttempts(TwonetsError):
    """The caller tried too often (failed logins); waiting, or an administrator, lifts it."""

    status = 429
    slug = "too-many-attempts"
    title = "Too many attempts"


class Unavailable(TwonetsError):
    """A dependency (database, broker) cannot serve the request now; retrying may help."""

    status = 503
    slug = "unavailable"
    title = "Service unavailable"


class ConfigurationError(TwonetsError):
    """The deployment's settings are missing or wrong; raised at start-up, not per request."""

    status = 500
    slug = "configuration"
    title = "Configuration error"


@dataclass
class ProblemList:
    """Collects several field problems before raising one ``Invalid`` for all of them."""

    problems: list[FieldProblem] = field(default_factory=list)

    def add(self, field: str, rule: str, detail: str) -> None:
        """Record that ``field`` broke ``rule``."""
        self.problems.append(FieldProblem(field, rule, detail))

    def raise_if_any(self) -> None:
        """Raise one ``Invalid`` naming every recorded problem, the first in the detail."""
        if self.problems:
            first = self.problems[0]
            more = f" (and {len(self.problems) - 1} more)" if len(self.problems) > 1 else ""
            raise Invalid(f"{first.field}: {first.detail}{more}", errors=self.problems)


T = TypeVar("T")


@dataclass(frozen=True)
class Refusable(Generic[T]):
    """What a use case returns when a refusal must be recorded before it is given.

    A failed login or a wrong sign-up code is remembered (to count tries); raising inside
    the unit of work would roll that back. Such a use case returns either its ``value`` or
    the ``refusal``, and the caller raises the refusal with ``unwrap()`` once the unit of
    work has committed.
    """

    value: T | None = None
    refusal: TwonetsError | None = None

    def unwrap(self) -> T:
        """The value, or raise the refusal."""
        if self.refusal is not None:
            raise self.refusal
        if self.value is None:
            raise ValueError("a Refusable holds neither a value nor a refusal")
        return self.value
