"""GeoReport v2's XML: the specification's required format, from the same data as the JSON.

Each resource's root element and the element of each item follow the specification's
examples (``<services><service>``, ``<service_requests><request>``, ``<errors><error>``,
``<discovery><endpoints><endpoint><formats><format>``); an absent value is an empty element,
a boolean ``true`` or ``false``. Pure: no database.
"""

from __future__ import annotations

from typing import Any
from xml.etree import ElementTree as ET

MEDIA_TYPE = "text/xml; charset=utf-8"
# The element of each item of a list, by the list's element.
ITEMS = {
    "services": "service",
    "service_requests": "request",
    "errors": "error",
    "endpoints": "endpoint",
    "formats": "format",
    "attributes": "attribute",
    "values": "value",
}


def _allowed(c: str) -> bool:
    """Whether XML 1.0 may carry the character (a filer's text may hold anything)."""
    code = ord(c)
    return c in "\t\n\r" or (0x20 <= code <= 0xD7FF) or (0xE000 <= code <= 0xFFFD) or code > 0xFFFF


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return "".join(c for c in str(value) if _allowed(c))


def _fill(element: ET.Element, value: Any) -> None:
    if isinstance(value, dict):
        for key, child in value.items():
            _fill(ET.SubElement(element, key), child)
    elif isinstance(value, list):
        item = ITEMS.get(element.tag, "item")
        for child in value:
            _fill(ET.SubElement(element, item), child)
    else:
        element.text = _text(value)


def to_xml(root: str, value: Any) -> bytes:
    """``value`` (a list of items, or a mapping) as the document ``<root>``."""
    element = ET.Element(root)
    _fill(element, value)
    body: bytes = ET.tostring(element, encoding="utf-8", xml_declaration=True)
    return body


def errors_xml(status: int, description: str) -> bytes:
    """An error in the specification's XML shape."""
    return to_xml("errors", [{"code": status, "description": description}])
