"""The people of a workspace and who the workbench acts as.
"""
from __future__ import annotations

from petitions.errors import UserError
from petitions.store import Workspace
from petitions.store import users as users_db


def default_user(ws: Workspace, preferred: str | None = None) -> tuple[str, str] | None:
    """Who the workbench acts as: `preferred` if known, else the OS login
    name if it is a workspace user, else the first reviewer, else the first
    user. Returns ``(name, role)`` or None when the workspace has no users.

    On a server it is always the signed-in login (another `preferred` name
    is refused), with the role its database group gives it.
    """
    if ws.login is not None:
        login = ws.acting_user(preferred)
        role = ws.user_role(login)
        if role is None:
            raise UserError(f"{login} signed in, but is not a workbench login (a member of sigverify_reviewer, "
                            "sigverify_auditor or sigverify_supervisor); the database administrator adds people "
                            "with `petitions user-add`")
        return login, role
    for name in (preferred, _login()):
        if name:
            role = ws.user_role(name)
            if role:
                return name, role
    if preferred:
        raise UserError(f"unknown user {preferred!r}; users of this workspace: "
                        + ", ".join(users_db.user_names(ws)))
    row = users_db.first_user(ws)
    return (row["name"], row["role"]) if row else None


def _login() -> str | None:
    import getpass

    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no login name in some containers
        return None


def users(ws: Workspace) -> list[dict]:
    """Every user of the workspace (name, role), by role then name."""
    return users_db.users(ws)

