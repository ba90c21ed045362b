"""No SQL outside the store: ``petitions/store/`` is the only place that
holds a statement or touches a connection (DESIGN.md, "Store and
deployment"; issue 16).

Every ``.py`` under ``petitions/`` (except ``petitions/store/``) and ``gui/``
is read with :mod:`ast` and fails on

- a string that reads as an SQL statement (uppercase keywords, as the
  store writes them),
- reaching for the connection or the store's private SQL helpers
  (``.db``, ``.execute``, ``._rows``, ``.query`` ...),
- ``json_extract`` (SQLite-only: the server backend would not have it).
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STORE = ROOT / "petitions" / "store"


SQL_START = re.compile(r"^\s*(SELECT|INSERT|UPDATE|DELETE|CREATE|ALTER|DROP|WITH)\b")
SQL_INSIDE = re.compile(r"\b(SELECT .* FROM|INSERT INTO|UPDATE \w+ SET|DELETE FROM)\b", re.DOTALL)
SQLITE_ONLY = re.compile(r"json_extract")

# The connection and the store's SQL helpers: no caller outside the store
# may reach them, whatever the object is called there.
FORBIDDEN_ATTRIBUTES = frozenset({
    "db", "conn", "lastrowid", "execute", "executemany",
    "_rows", "_tuples", "_one", "_scalar", "_exec", "_insert", "_many", "_rows_in", "_db", "_backend",
    "query", "query_in",
})


def _sources() -> list[Path]:
    files = [p for p in sorted((ROOT / "petitions").rglob("*.py")) if STORE not in p.parents]
    files += sorted((ROOT / "gui").rglob("*.py"))
    return files


def _docstring_nodes(tree: ast.AST) -> set[int]:
    """ids of the constant nodes that are docstrings (prose may say SELECT)."""
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                out.add(id(body[0].value))
    return out


def violations(path: Path, root: Path = ROOT) -> list[str]:
    """Every reach past the store in one file, as ``file:line: what``."""
    rel = path.relative_to(root)
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    docstrings = _docstring_nodes(tree)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = node.value
            if SQLITE_ONLY.search(text):
                found.append(f"{rel}:{node.lineno}: json_extract (SQLite-only SQL)")
            elif id(node) not in docstrings and (SQL_START.search(text) or SQL_INSIDE.search(text)):
                first = text.strip().splitlines()[0][:60]
                found.append(f"{rel}:{node.lineno}: SQL statement {first!r}")
        elif isinstance(node, ast.Attribute) and node.attr in FORBIDDEN_ATTRIBUTES:
            found.append(f"{rel}:{node.lineno}: .{node.attr} (the store's connection or SQL helpers)")
    return found


def test_the_scan_sees_the_packages_and_catches_sql(tmp_path):
    # The scan itself is not marked: it must find the files and recognise
    # what it is looking for, or the boundary test below passes vacuously.
    files = _sources()
    assert any(p.parent.name == "gui" for p in files)
    assert any(p.parent.name == "stages" for p in files)
    assert not any(STORE in p.parents for p in files)
    sample = tmp_path / "petitions" / "x.py"
    sample.parent.mkdir()
    sample.write_text(
        '"""SELECT in prose is fine in a docstring."""\n'
        'A = "SELECT id FROM lines WHERE filing_id = ?"\n'
        'B = ("UPDATE lines SET state = ? "\n     "WHERE id = ?")\n'
        'C = "json_extract(details_json, \'$.x\')"\n'
        'D = "Select a filing from the list"\n'
        'def f(ws):\n    return ws.db.execute(A), ws.query(A), ws._rows(A)\n',
        encoding="utf-8",
    )
    found = violations(sample, root=tmp_path)
    kinds = [v.split(": ", 1)[1] for v in found]
    assert sum(k.startswith("SQL statement") for k in kinds) == 2, found
    assert sum(k.startswith("json_extract") for k in kinds) == 1, found
    assert {k.split()[0] for k in kinds if k.startswith(".")} == {".db", ".execute", ".query", "._rows"}, found


def test_no_sql_outside_the_store():
    found = [v for path in _sources() for v in violations(path)]
    assert not found, f"{len(found)} reaches past petitions/store/:\n" + "\n".join(found)


def test_workspace_exposes_no_connection_or_raw_sql(tmp_path):
    from petitions.store import Workspace

    with Workspace(tmp_path / "ws", create=True) as ws:
        public = [name for name in ("db", "conn", "query", "query_in", "scalar", "execute") if hasattr(ws, name)]
    assert not public, f"Workspace still offers {public} to callers outside the store"
