"""The ``petitions`` command line (shared/CONTRACT.md).

Library first, thin CLI second: each command module under
:mod:`petitions.commands` converts its arguments and makes library calls.
A command module exposes ``register(subparsers)``, which adds its parser and
sets ``func`` to a callable taking the parsed ``argparse.Namespace`` and
returning an exit code.
"""
from __future__ import annotations

import argparse
import functools
import importlib
import logging
import sys
import traceback

from petitions.errors import is_user_error

# One module per command family; each owns its parser and its --help text.
COMMAND_MODULES = (
    "petitions.commands.demo",
    "petitions.commands.workspace",
    "petitions.commands.filings",
    "petitions.commands.confirm",
    "petitions.commands.withdrawals",
    "petitions.commands.match",
    "petitions.commands.sigscore",
    "petitions.commands.segment",
    "petitions.commands.sampling",
    "petitions.commands.reports",
    "petitions.commands.backup",
    "petitions.commands.template",
    "petitions.commands.samehand",
    "petitions.commands.sections",
    "petitions.commands.fraudscan",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="petitions",
        description=(
            "Petition signature verification workbench: import a voter file, "
            "ingest scanned petitions, match signers to voters, compare "
            "signatures, triage, sample and count. Software only ever accepts; "
            "every rejection is a person's ruling."
        ),
    )
    parser.add_argument("--verbose", "-v", action="store_true", help="log progress and debug details to stderr")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


@functools.lru_cache(maxsize=1)
def _parser() -> argparse.ArgumentParser:
    # Built once per process: a program (or a test) that calls main() many
    # times pays for the ~40 sub-parsers once, not per call.
    return build_parser()


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("petitions: interrupted; everything committed so far is kept, rerun to resume", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - the one place errors become exit codes
        if is_user_error(exc):
            print(f"petitions {args.command}: error: {exc}", file=sys.stderr)
            return 2
        logging.getLogger("petitions").error("internal error\n%s", traceback.format_exc())
        print(
            f"petitions {args.command}: internal error ({type(exc).__name__}: {exc}); "
            "this is a bug, please report it with the output of --verbose",
            file=sys.stderr,
        )
        return 3


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
