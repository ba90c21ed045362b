"""`petitions sigscore` — placeholder registered so the CLI imports; being built now."""
from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser("sigscore", help="(not yet available)")
    p.set_defaults(func=_run)


def _run(args) -> int:
    raise NotImplementedError("petitions sigscore is being built")
