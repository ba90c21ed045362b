"""Named reads: the people of a workspace."""
from __future__ import annotations

from petitions.store.workspace import Workspace


def users(ws: Workspace) -> list[dict]:
    """Every user (name, role), by role then name. On a server: every login
    in a workbench group role (the database owner, a supervisor, included)."""
    if ws.backend == "postgresql":
        from petitions.store.server import ROLES

        rows = ws._rows("SELECT DISTINCT r.rolname AS name, g.rolname AS grp FROM pg_auth_members m "
                        "JOIN pg_roles r ON r.oid = m.member JOIN pg_roles g ON g.oid = m.roleid "
                        "WHERE r.rolcanlogin AND g.rolname IN (?, ?, ?)", tuple(ROLES.values()))
        owner = ws._scalar("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()")
        rank = {"supervisor": 0, "auditor": 1, "reviewer": 2}
        best: dict[str, str] = {owner: "supervisor"} if owner else {}
        group_role = {g: r for r, g in ROLES.items()}
        for r in rows:
            role = group_role[r["grp"]]
            if r["name"] not in best or rank[role] < rank[best[r["name"]]]:
                best[r["name"]] = role
        return sorted(({"name": n, "role": r} for n, r in best.items()), key=lambda u: (u["role"], u["name"]))
    return ws._rows("SELECT name, role FROM users ORDER BY role, name")


def user_names(ws: Workspace) -> list[str]:
    """Every user's name, alphabetically."""
    return [r["name"] for r in ws._rows("SELECT name FROM users ORDER BY name")]


def first_user(ws: Workspace) -> dict | None:
    """The first reviewer added (else the first user): name, role; None when there is nobody."""
    return ws._one("SELECT name, role FROM users "
                   "ORDER BY CASE WHEN role = 'reviewer' THEN 0 ELSE 1 END, created_at LIMIT 1")
