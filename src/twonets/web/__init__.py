"""The web front: app factory, pages, and the mounting of each domain's router."""

from twonets.web.app import create_app

__all__ = ["create_app"]
