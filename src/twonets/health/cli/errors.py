"""How the ``twonets health`` commands report a wrong option: one line on stderr, exit 2."""

from __future__ import annotations

import typer

from twonets.core.errors import Invalid


def option_error(option: str, detail: str) -> typer.Exit:
    """Print ``error: --option: detail`` to stderr; return the ``Exit(2)`` to raise."""
    typer.echo(f"error: --{option.replace('_', '-')}: {detail}", err=True)
    return typer.Exit(2)


def invalid_option(exc: Invalid) -> typer.Exit:
    """The first problem of ``exc`` as an option error (its field names the option)."""
    field = exc.errors[0].field if exc.errors else ""
    detail = exc.errors[0].detail if exc.errors else exc.detail
    return option_error(field, detail)
