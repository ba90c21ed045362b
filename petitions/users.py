"""The people of a workspace and who the workbench acts as.
"""
from __future__ import annotations

from petitions.errors import UserError
from petitions.store import Workspace


def default_user(ws: Workspace, preferred: str | None = None) -> tuple[str, str] | None:
    """Who the workbench acts as: `preferred` if known, else the OS login
    name if it is a workspace user, else the first reviewer, else the first
    user. Returns ``(name, role)`` or None when the workspace has no users."""
    for name in (preferred, _login()):
        if name:
            role = ws.user_role(name)
            if role:
                return name, role
    if preferred:
        raise UserError(f"unknown user {preferred!r}; users of this workspace: "
                        + ", ".join(u["name"] for u in ws.query("SELECT name FROM users ORDER BY name")))
    row = ws.db.execute("SELECT name, role FROM users ORDER BY role = 'reviewer' DESC, created_at LIMIT 1").fetchone()
    return (row[0], row[1]) if row else None


def _login() -> str | None:
    import getpass

    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no login name in some containers
        return None


def users(ws: Workspace) -> list[dict]:
    return ws.query("SELECT name, role FROM users ORDER BY role, name")

