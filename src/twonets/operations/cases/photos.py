"""Handlers' photos: checked by their first bytes and decoded whole, kept by their SHA-256."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from twonets.core.errors import Invalid

PHOTO_TYPES = {
    "image/jpeg": ("jpg", (b"\xff\xd8\xff",)),
    "image/png": ("png", (b"\x89PNG\r\n\x1a\n",)),
    "image/webp": ("webp", (b"RIFF",)),
}
MAX_PHOTO_BYTES = 5 * 1024 * 1024
MAX_PHOTOS = 5


@dataclass(frozen=True)
class Photo:
    """An uploaded photo: its bytes and the type the client said it was."""

    content: bytes
    content_type: str
    filename: str = ""


def check_photo(photo: Photo, index: int) -> str:
    field = f"photos[{index}]"
    kind = PHOTO_TYPES.get(photo.content_type)
    if kind is None:
        raise Invalid.field(
            field, "photo-type", f"should be JPEG, PNG or WebP, got {photo.content_type!r}"
        )
    if not photo.content:
        raise Invalid.field(field, "photo-size", "is empty")
    if len(photo.content) > MAX_PHOTO_BYTES:
        raise Invalid.field(
            field, "photo-size", f"is {len(photo.content):,} bytes; at most {MAX_PHOTO_BYTES:,}"
        )
    magic_ok = any(photo.content.startswith(m) for m in kind[1])
    if photo.content_type == "image/webp":
        magic_ok = magic_ok and photo.content[8:12] == b"WEBP"
    if not magic_ok:
        raise Invalid.field(field, "photo-type", f"the content is not {photo.content_type}")
    try:  # a damaged or cut-short file starts right but does not decode
        with Image.open(io.BytesIO(photo.content)) as image:
            image.load()
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError, SyntaxError):
        raise Invalid.field(
            field, "photo-type", f"the content is not a whole {photo.content_type} picture"
        ) from None
    return kind[0]


def photo_path(photo_dir: Path, sha256: str, content_type: str) -> Path:
    """Where a photo's bytes live."""
    return photo_dir / sha256[:2] / f"{sha256}.{PHOTO_TYPES[content_type][0]}"


def store_photo(photo_dir: Path, photo: Photo, digest: str) -> Path:
    """Write the photo's bytes once (an identical photo is stored once); returns its path."""
    path = photo_path(photo_dir, digest, photo.content_type)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        tmp = path.with_suffix(".part")
        tmp.write_bytes(photo.content)
        tmp.replace(path)
    return path
