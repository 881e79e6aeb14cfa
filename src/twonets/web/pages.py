"""What every page shares: rendering in the shell, local times, forms, safe redirects, QR photos.

The core's own screens (login, sign-up, home, accounts, places) live in ``web/core/``; each
domain's screens in ``web/<domain>/``.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import Annotated, Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse

from twonets.core import auth
from twonets.core.errors import Invalid, TwonetsError
from twonets.web.i18n import current_language
from twonets.web.navigation import nav_for


def render(
    request: Request,
    template: str,
    principal: auth.Principal | None,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """Render a page inside the shell, with the menu this caller may see."""
    templates = request.app.state.templates
    response: HTMLResponse = templates.TemplateResponse(
        request,
        template,
        {"principal": principal, "nav": nav_for(principal), "path": request.url.path, **context},
        status_code=status_code,
    )
    return response


try:
    SHANGHAI: tzinfo = ZoneInfo("Asia/Shanghai")
except ZoneInfoNotFoundError:  # no tz database: Shanghai has kept UTC+8 without DST since 1991
    SHANGHAI = timezone(timedelta(hours=8), "CST")


def _moment(value: datetime | str) -> datetime:
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(SHANGHAI)


def local_time(value: datetime | str | None) -> str:
    """A moment as people in Shanghai read it: ``2026年11月30日 17:05``, ``30 Nov 2026, 17:05``.

    In the language of the page being made (``i18n.current_language``).
    """
    if value is None or value == "":
        return "—"
    moment = _moment(value)
    if current_language().code == "zh":
        return f"{moment.year}年{moment.month}月{moment.day}日 {moment:%H:%M}"
    return f"{moment.day} {moment:%b %Y, %H:%M}"


def local_date(value: datetime | str | None) -> str:
    """The Shanghai date of a moment in the page's language: ``2026年11月30日``, ``30 Nov 2026``."""
    if value is None or value == "":
        return "—"
    moment = _moment(value)
    if current_language().code == "zh":
        return f"{moment.year}年{moment.month}月{moment.day}日"
    return f"{moment.day} {moment:%b %Y}"


def local_iso(value: datetime | str) -> str:
    """The moment in Shanghai time, ISO 8601 (for ``<time datetime>``)."""
    return _moment(value).isoformat(timespec="minutes")


async def form_fields(request: Request) -> dict[str, str]:
    """The submitted form as plain strings (files are ignored), parsed before the handler runs."""
    form = await request.form()
    return {key: value.strip() for key, value in form.items() if isinstance(value, str)}


FormFields = Annotated[dict[str, str], Depends(form_fields)]


def field_errors(error: TwonetsError | None) -> dict[str, str]:
    """The message for each field an error names, for a form to show beside the field."""
    if error is None:
        return {}
    return {problem.field: problem.detail for problem in error.errors}


def safe_next(value: str | None) -> str:
    """``value`` if it is a path of this site, else ``/`` (a link must not lead elsewhere)."""
    # Only same-site paths: a login link must not bounce the user to another site.
    if not value or not value.startswith("/") or value.startswith("//") or urlsplit(value).netloc:
        return "/"
    return value


# A photo of a QR code a verifier uploads (a licence, a personal code).
MAX_IMAGE_BYTES = 10 * 1024 * 1024
MAX_IMAGE_PIXELS = 40_000_000


def decode_qr_image(data: bytes, name: str | None = None) -> str:
    """The text of the QR code in an image (PNG, JPEG, ...), or ``Invalid`` saying why not.

    ``name``, the uploaded file's name, leads each refusal, so the person knows which file.
    """
    import zxingcpp
    from PIL import Image, UnidentifiedImageError

    of = f"{name}: " if name else ""
    if not data:
        raise Invalid.field("image", "empty", f"{of}the file is empty")
    if len(data) > MAX_IMAGE_BYTES:
        raise Invalid.field(
            "image", "size", f"{of}the image is larger than {MAX_IMAGE_BYTES // (1024 * 1024)} MB"
        )
    try:
        with Image.open(io.BytesIO(data)) as opened:
            width, height = opened.size
            if width * height > MAX_IMAGE_PIXELS:
                raise Invalid.field(
                    "image", "size", f"{of}the image is too large ({width} × {height} pixels)"
                )
            image = opened.convert("L")
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError):
        raise Invalid.field(
            "image", "image", f"{of}the file is not an image that can be read (use PNG or JPEG)"
        ) from None
    found = zxingcpp.read_barcodes(
        image, formats=zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)
    )
    texts = [barcode.text for barcode in found if barcode.valid and barcode.text]
    if not texts:
        raise Invalid.field(
            "image",
            "no-qr-code",
            f"{of}no QR code was found in the image: photograph the code straight on, close "
            "enough that it fills most of the picture, without glare",
        )
    return texts[0]
