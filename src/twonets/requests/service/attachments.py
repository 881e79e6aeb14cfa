"""Files that come with a request: uploaded, checked, kept by content hash, shown to those
who may see the request.

A file is refused when it is larger than ``MAX_BYTES`` (413) or when its content, sniffed
from its first bytes (``filetype``), is not a photo (JPEG, PNG, WebP) or a PDF (415): the
name and the type the client declares are not trusted (``core.uploads`` checks it). The
bytes are kept under the var directory by their SHA-256 (the same photo sent twice is kept
once).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from twonets.core.auth import Principal
from twonets.core.errors import Invalid, NotFound
from twonets.core.events import record_event
from twonets.core.uploads import ALLOWED_TYPES as ALLOWED_TYPES
from twonets.core.uploads import MAX_BYTES as MAX_BYTES
from twonets.core.uploads import FileTooLarge, UnsupportedFile, check, safe_name
from twonets.core.uploads import sniff as sniff
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

MAX_FILES = 10
# The file checks are the platform's (core.uploads), shared with the services' material.
AttachmentTooLarge = FileTooLarge
UnsupportedAttachment = UnsupportedFile


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
    return safe_name(name)


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
    content_type = check(data)
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
