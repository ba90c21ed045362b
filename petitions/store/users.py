"""Named reads: the people of a workspace."""
from __future__ import annotations

from petitions.store.workspace import Workspace


def users(ws: Workspace) -> list[dict]:
    """Every user (name, role), by role then name."""
    return ws._rows("SELECT name, role FROM users ORDER BY role, name")


def user_names(ws: Workspace) -> list[str]:
    """Every user's name, alphabetically."""
    return [r["name"] for r in ws._rows("SELECT name FROM users ORDER BY name")]


def first_user(ws: Workspace) -> dict | None:
    """The first reviewer added (else the first user): name, role; None when there is nobody."""
    return ws._one("SELECT name, role FROM users "
                   "ORDER BY CASE WHEN role = 'reviewer' THEN 0 ELSE 1 END, created_at LIMIT 1")
