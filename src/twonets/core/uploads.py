"""Files people upload (a request's photo, a service's material): checked before kept.

A file is refused when it is empty (422), larger than the limit (413), or when its content,
sniffed from its first bytes (``filetype``), is not a photo (JPEG, PNG, WebP) or a PDF
(415): the name and the type the client declares are not trusted. Each refusal is a
problem+json naming the form's field.
"""

from __future__ import annotations

from pathlib import PurePosixPath, PureWindowsPath

import filetype

from twonets.core.errors import Invalid, TwonetsError

MAX_BYTES = 5 * 1024 * 1024
ALLOWED_TYPES = frozenset({"image/jpeg", "image/png", "image/webp", "application/pdf"})


class FileTooLarge(TwonetsError):
    """The file is larger than an upload may be."""

    status = 413
    slug = "attachment-too-large"
    title = "Attachment too large"


class UnsupportedFile(TwonetsError):
    """The file's content is not of a type an upload may be."""

    status = 415
    slug = "unsupported-attachment-type"
    title = "Unsupported attachment type"


def safe_name(name: str | None, *, fallback: str = "attachment") -> str:
    """The file's own name without any folder, printable, at most 128 characters."""
    base = PureWindowsPath(PurePosixPath(name or "").name).name.strip()
    cleaned = "".join(c for c in base if c.isprintable() and c not in '"\\/')
    return cleaned[:128] or fallback


def sniff(data: bytes, *, field: str = "file") -> str:
    """The type of ``data`` from its content; ``UnsupportedFile`` unless allowed."""
    kind = filetype.guess(data[:8192])
    mime = str(kind.mime) if kind is not None else None
    if mime not in ALLOWED_TYPES:
        found = mime or "unknown content"
        raise UnsupportedFile(
            f"{field}: {found} is not accepted; send a photo (JPEG, PNG, WebP) or a PDF",
            extra={"field": field, "rule": "content-type", "accepted": sorted(ALLOWED_TYPES)},
        )
    return mime


def check(data: bytes, *, field: str = "file", max_bytes: int = MAX_BYTES) -> str:
    """The content type of an upload that may be kept; refused (naming ``field``) otherwise."""
    if len(data) > max_bytes:
        raise FileTooLarge(
            f"{field}: should be at most {max_bytes // (1024 * 1024)} MiB",
            extra={"field": field, "rule": "size", "max_bytes": max_bytes},
        )
    if not data:
        raise Invalid.field(field, "required", "the file is empty")
    return sniff(data, field=field)
