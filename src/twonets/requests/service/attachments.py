"""Files that come with a request: uploaded, checked, kept by content hash, shown to those
who may see the request.

A file is refused when it is larger than ``MAX_BYTES`` (413) or when its content, sniffed
from its first bytes (``filetype``), is not a photo (JPEG, PNG, WebP) or a PDF (415): the
name and the type the client declares are not trusted. The bytes are kept under the var
directory by their SHA-256 (the same photo sent twice is kept once).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath, PureWindowsPath

import filetype
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from twonets.core.auth import Principal
from twonets.core.errors import Invalid, NotFound, TwonetsError
from twonets.core.events import record_event
from twonets.requests.models import Request, RequestAttachment
from twonets.requests.service.common import (
    IllegalStatus,
    RequestStatus,
    _is_filer,
    _require_holder,
    check_may_download,
    check_may_see,
    get_request_row,
)

MAX_BYTES = 5 * 1024 * 1024
MAX_FILES = 10
ALLOWED_TYPES = frozenset({"image/jpeg", "image/png", "image/webp", "application/pdf"})


class AttachmentTooLarge(TwonetsError):
    """The file is larger than a request's attachment may be."""

    status = 413
    slug = "attachment-too-large"
    title = "Attachment too large"


class UnsupportedAttachment(TwonetsError):
    """The file's content is not of a type a request's attachment may be."""

    status = 415
    slug = "unsupported-attachment-type"
    title = "Unsupported attachment type"


@dataclass(frozen=True)
class StoredFile:
    """An attachment and where its bytes are kept."""

    attachment: RequestAttachment
    path: Path


def attachment_dir(var_dir: Path) -> Path:
    """Where requests' attachments are kept, by content hash."""
    return var_dir / "requests" / "attachments"


def _path(store: Path, digest: str) -> Path:
    return store / digest[:2] / digest


def _safe_name(name: str | None) -> str:
    base = PureWindowsPath(PurePosixPath(name or "").name).name.strip()
    cleaned = "".join(c for c in base if c.isprintable() and c not in '"\\/')
    return cleaned[:128] or "attachment"


def sniff(data: bytes) -> str:
    """The type of ``data`` from its content; ``UnsupportedAttachment`` unless allowed."""
    kind = filetype.guess(data[:8192])
    mime = str(kind.mime) if kind is not None else None
    if mime not in ALLOWED_TYPES:
        found = mime or "unknown content"
        raise UnsupportedAttachment(
            f"file: {found} is not accepted; send a photo (JPEG, PNG, WebP) or a PDF",
            extra={"field": "file", "rule": "content-type", "accepted": sorted(ALLOWED_TYPES)},
        )
    return mime


def add_attachment(
    session: Session,
    caller: Principal,
    request_id: int,
    *,
    name: str | None,
    data: bytes,
    store: Path,
    now: datetime,
) -> RequestAttachment:
    """Keep a file with a request: from its filer, or the department it is routed to.

    The same bytes sent again to the same request (a retried upload) return the first record.
    """
    row = get_request_row(session, request_id)
    if not _is_filer(caller, row, session):
        _require_holder(caller, row)
    if row.status == RequestStatus.CLOSED.value:
        raise IllegalStatus(f"request {row.number} is closed", extra={"status": row.status})
    if len(data) > MAX_BYTES:
        raise AttachmentTooLarge(
            f"file: should be at most {MAX_BYTES // (1024 * 1024)} MiB",
            extra={"field": "file", "rule": "size", "max_bytes": MAX_BYTES},
        )
    if not data:
        raise Invalid.field("file", "required", "the file is empty")
    content_type = sniff(data)
    digest = hashlib.sha256(data).hexdigest()
    same = session.scalar(
        select(RequestAttachment).where(
            RequestAttachment.request_id == row.id, RequestAttachment.sha256 == digest
        )
    )
    if same is not None:
        return same  # a retried upload: the file is there already
    count = session.scalar(
        select(func.count())
        .select_from(RequestAttachment)
        .where(RequestAttachment.request_id == row.id)
    )
    if (count or 0) >= MAX_FILES:
        raise Invalid.field("file", "count", f"a request keeps at most {MAX_FILES} files")
    _write(_path(store, digest), data)
    attachment = RequestAttachment(
        request_id=row.id,
        name=_safe_name(name),
        sha256=digest,
        content_type=content_type,
        size=len(data),
        added_at=now,
    )
    session.add(attachment)
    row.updated_at = now
    session.flush()
    record_event(
        session,
        "requests.attachment.added",
        {"request": row.number, "attachment": attachment.id, "type": content_type},
        now=now,
    )
    return attachment


def _write(path: Path, data: bytes) -> None:
    """Write once, atomically: a file kept by its hash never changes."""
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def list_attachments(
    session: Session, caller: Principal, request_id: int
) -> Sequence[RequestAttachment]:
    """The files and links of a request, for those who may see it."""
    row = get_request_row(session, request_id)
    check_may_see(session, caller, row)
    return session.scalars(
        select(RequestAttachment)
        .where(RequestAttachment.request_id == row.id)
        .order_by(RequestAttachment.id)
    ).all()


def open_attachment(
    session: Session, caller: Principal, request_id: int, attachment_id: int, *, store: Path
) -> StoredFile:
    """One kept file of a request, for its filer and the departments holding it."""
    row: Request = get_request_row(session, request_id)
    check_may_download(session, caller, row)
    found = session.get(RequestAttachment, attachment_id)
    if found is None or found.request_id != row.id or found.sha256 is None:
        raise NotFound(f"no file {attachment_id} on request {row.number}")
    path = _path(store, found.sha256)
    if not path.exists():
        raise NotFound(f"the file {attachment_id} of request {row.number} is no longer kept")
    return StoredFile(found, path)
