"""What the codes' screens share: the health colours in words, errors in a form's labels."""

from __future__ import annotations

from twonets.core.errors import TwonetsError

COLOURS = {
    "green": ("绿码", "Green", "You may enter places that check health status."),
    "yellow": ("黄码", "Yellow", "Some places will ask you to take a test first."),
    "red": ("红码", "Red", "Stay at home and follow the health department's instructions."),
}


def labelled(error: TwonetsError | None, labels: dict[str, str]) -> list[str]:
    """An error's messages as a form shows them: each field by its label, never its name."""
    if error is None:
        return []
    if not error.errors:
        return [error.detail]
    return [f"{labels.get(p.field, 'This form')}: {p.detail}" for p in error.errors]
