"""The cores import and work without Qt, and the arrows point one way:
gui -> petitions -> {matchers, sigverify}; the cores never touch the store."""
from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

BLOCKER = textwrap.dedent(
    """
    import importlib.abc, sys
    BLOCKED = {blocked!r}
    class Block(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split('.')[0] in BLOCKED:
                raise ImportError(f'{{name}} is blocked in this test')
            return None
    sys.meta_path.insert(0, Block())
    for mod in BLOCKED:
        sys.modules.pop(mod, None)
    """
)


def _run(blocked: set[str], body: str) -> subprocess.CompletedProcess:
    code = BLOCKER.format(blocked=sorted(blocked)) + textwrap.dedent(body)
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)


WALK = """
import importlib, pkgutil
def walk(pkg_name):
    pkg = importlib.import_module(pkg_name)
    names = [pkg_name]
    for info in pkgutil.walk_packages(pkg.__path__, pkg_name + '.'):
        importlib.import_module(info.name)
        names.append(info.name)
    return names
"""


def test_cores_import_and_work_without_qt_or_the_store():
    body = WALK + """
import numpy as np
mods = walk('sigverify') + walk('matchers')
assert len(mods) > 4, mods
leaked = sorted(m for m in sys.modules if m.split('.')[0] in ('petitions', 'gui', 'sqlite_utils', 'PySide6'))
assert not leaked, leaked
# ...and they work: a signature comparison and a name/address match.
import cv2, polars as pl, sigverify, matchers
img = np.full((80, 240), 255, np.uint8)
cv2.putText(img, 'J Doe', (10, 55), cv2.FONT_HERSHEY_SIMPLEX, 1.4, 0, 3)
s = sigverify.verify([img], [[img.copy()]])
assert s.score.shape == (1,) and s.decision[0] in ('consistent', 'review')
print('ok', len(mods))
"""
    r = _run({"PySide6", "petitions", "gui", "sqlite_utils"}, body)
    assert r.returncode == 0, r.stderr[-3000:]
    assert r.stdout.startswith("ok")


def test_petitions_imports_and_works_without_qt(tmp_path):
    body = WALK + f"""
mods = walk('petitions')
assert not [m for m in sys.modules if m.startswith(('PySide6', 'gui'))]
from petitions.store import Workspace
from petitions.law.projection import project
ws = Workspace({str(tmp_path)!r}, create=True)
ws.ensure_user('ann', 'supervisor')
assert ws.verify_chain().ok
assert project(25000, 1250, 900, 1).projected_valid == 17620
print('ok', len(mods))
"""
    r = _run({"PySide6", "gui"}, body)
    assert r.returncode == 0, r.stderr[-3000:]
    assert r.stdout.startswith("ok")


def _imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_arrows_point_one_way_in_the_source():
    forbidden = {
        "sigverify": {"petitions", "gui", "sqlite_utils", "PySide6", "matchers", "polars"},
        "matchers": {"petitions", "gui", "sqlite_utils", "PySide6", "sigverify", "cv2"},
        "petitions": {"gui", "PySide6"},
    }
    problems = []
    for pkg, bad in forbidden.items():
        files = sorted((ROOT / pkg).rglob("*.py"))
        assert files, pkg
        for f in files:
            hit = _imports_of(f) & bad
            if hit:
                problems.append(f"{f.relative_to(ROOT)} imports {sorted(hit)}")
    assert not problems, problems


def _lint_imports() -> str | None:
    """The import-linter CLI of this interpreter's environment, else on PATH."""
    beside = Path(sys.executable).parent / "lint-imports"
    return str(beside) if beside.exists() else shutil.which("lint-imports")


def test_import_contracts_hold():
    """The contracts of pyproject.toml ([tool.importlinter]) hold for this tree,
    so the plain test command checks them too, not only CI."""
    exe = _lint_imports()
    if exe is None:
        pytest.skip("import-linter is not installed (pip install -e '.[test]')")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    r = subprocess.run([exe, "--no-cache"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, (r.stdout + r.stderr)[-6000:]
    assert " 0 broken" in r.stdout, r.stdout[-3000:]
