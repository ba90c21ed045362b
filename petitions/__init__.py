"""The petitions public API: what the workbench (gui) and the CLI call.

The pipeline reads top to bottom: the law and its arithmetic
(:mod:`petitions.law`, no store), the stages (:mod:`petitions.stages`),
review (:mod:`petitions.review`), counting, audit and reports, and one
summary of a filing (:mod:`petitions.summary`). Everything that touches the
database lives in :mod:`petitions.store`.
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# name -> (module, attribute). Resolved on first use, so that importing a
# pure part (``petitions.law``) does not pull in the store, and the CLI's
# start-up stays quick.
_API: dict[str, tuple[str, str]] = {
    "atomic_path": ("petitions.atomic", "atomic_path"),
    "atomic_write": ("petitions.atomic", "atomic_write"),
    "UserError": ("petitions.errors", "UserError"),
    "is_user_error": ("petitions.errors", "is_user_error"),
    "DB_NAME": ("petitions.store", "DB_NAME"),
    "Workspace": ("petitions.store", "Workspace"),
    "is_server_address": ("petitions.store.backends", "is_server_address"),
    "REASONS": ("petitions.law.reasons", "REASONS"),
    "reason_label": ("petitions.law.reasons", "label"),
    "normalize_for_display": ("sigverify.display", "normalize_for_display"),
    "ink_box": ("sigverify.display", "ink_box"),
    "builtin_rulesets": ("petitions.law.rules", "builtin_rulesets"),
    "load_ruleset": ("petitions.law.rules", "load_ruleset"),
    "Cancelled": ("petitions.stages.job", "Cancelled"),
    "StageReport": ("petitions.stages.job", "StageReport"),
    "import_voter_file": ("petitions.stages.voters", "import_voter_file"),
    "import_exemplars": ("petitions.stages.voters", "import_exemplars"),
    "Filing": ("petitions.stages.filings", "Filing"),
    "create_filing": ("petitions.stages.filings", "create_filing"),
    "get_filing": ("petitions.stages.filings", "get_filing"),
    "ingest_document": ("petitions.stages.ingest", "ingest_document"),
    "import_keyed_entries": ("petitions.stages.keying", "import_keyed_entries"),
    "key_line": ("petitions.stages.keying", "key_line"),
    "run_all": ("petitions.stages.run", "run_all"),
    "MODES": ("petitions.review.queue", "MODES"),
    "MODE_LABELS": ("petitions.review.queue", "MODE_LABELS"),
    "QueueItem": ("petitions.review.queue", "QueueItem"),
    "modes_for_role": ("petitions.review.queue", "modes_for_role"),
    "reject_codes": ("petitions.review.queue", "reject_codes"),
    "review_queue": ("petitions.review.queue", "review_queue"),
    "Candidate": ("petitions.review.case", "Candidate"),
    "Case": ("petitions.review.case", "Case"),
    "load_case": ("petitions.review.case", "load_case"),
    "rule": ("petitions.review.case", "rule"),
    "undo_ruling": ("petitions.review.case", "undo_ruling"),
    "VOTER_DISPLAY_COLUMNS": ("petitions.review.records", "VOTER_DISPLAY_COLUMNS"),
    "VoterDirectory": ("petitions.review.records", "VoterDirectory"),
    "KeyingLine": ("petitions.review.keying", "KeyingLine"),
    "keying_line": ("petitions.review.keying", "keying_line"),
    "keying_queue": ("petitions.review.keying", "keying_queue"),
    "PageView": ("petitions.review.pages", "PageView"),
    "page_image": ("petitions.review.pages", "page_image"),
    "page_view": ("petitions.review.pages", "page_view"),
    "pages_of": ("petitions.review.pages", "pages_of"),
    "default_user": ("petitions.users", "default_user"),
    "users": ("petitions.users", "users"),
    "dashboard": ("petitions.summary", "dashboard"),
    "samples_of": ("petitions.summary", "samples_of"),
    "summarize": ("petitions.summary", "summarize"),
    "FIGURE_WORDS": ("petitions.summary", "FIGURE_WORDS"),
    "counts": ("petitions.summary", "counts"),
    "draw_sample": ("petitions.counting", "draw_sample"),
    "sample_items": ("petitions.counting", "sample_items"),
    "void_sample": ("petitions.counting", "void_sample"),
    "certification_state": ("petitions.certification", "certification_state"),
    "reopen_certified": ("petitions.certification", "reopen"),
    "qa_status": ("petitions.audit", "qa_status"),
    "BlindCase": ("petitions.audit", "BlindCase"),
    "agreement_report": ("petitions.audit", "agreement_report"),
    "draw_qa_sample": ("petitions.audit", "draw_qa_sample"),
    "qa_queue": ("petitions.audit", "qa_queue"),
    "record_audit": ("petitions.audit", "record_audit"),
    "route_disagreements": ("petitions.audit", "route_disagreements"),
    "certify": ("petitions.reports", "certify"),
    "last_certification": ("petitions.reports", "last_certification"),
    "proponent_export": ("petitions.reports", "proponent_export"),
    "write_report": ("petitions.reports", "write_report"),
    # what comes in (issue 18 part B): intake checks, the period, confirmations, withdrawals
    "voter_file_problems": ("petitions.stages.voters", "voter_file_problems"),
    "voter_file_warnings": ("petitions.stages.filings", "voter_file_warnings"),
    "FilingStatus": ("petitions.period", "FilingStatus"),
    "list_filings": ("petitions.period", "list_filings"),
    "ConfirmReport": ("petitions.review.confirm", "ConfirmReport"),
    "confirm_invalid": ("petitions.review.confirm", "confirm_invalid"),
    "proposed_invalid": ("petitions.review.confirm", "proposed_invalid"),
    "WithdrawalImport": ("petitions.withdrawals", "WithdrawalImport"),
    "import_withdrawals": ("petitions.withdrawals", "import_withdrawals"),
    "withdrawals_of": ("petitions.withdrawals", "withdrawals_of"),
    # batches per reviewer (issue 17): the review screen's batch and the supervisor's assignment view
    "my_queue": ("petitions.review.batches", "my_queue"),
    "batch_status": ("petitions.review.batches", "batch_status"),
    "checkout_batch": ("petitions.review.batches", "checkout"),
    "renew_batch": ("petitions.review.batches", "renew"),
    "give_back_batch": ("petitions.review.batches", "give_back"),
    "assign_batch": ("petitions.review.batches", "assign"),
    "reclaim_batch": ("petitions.review.batches", "reclaim"),
    "batch_holdings": ("petitions.review.batches", "holdings"),
    "batch_throughput": ("petitions.review.batches", "throughput"),
    # `petitions.users` is also the submodule's name once it is imported: the GUI uses this one
    "workspace_users": ("petitions.users", "users"),
    # issue 18 rest: the confirm-invalid grid, the withdrawals screen, sections
    "send_to_review": ("petitions.review.confirm", "send_to_review"),
    "line_strips": ("petitions.review.confirm", "line_strips"),
    "withdrawal_preview": ("petitions.withdrawals", "withdrawal_preview"),
    "sections_of": ("petitions.sections", "sections_of"),
    "rule_section": ("petitions.sections", "rule_section"),
    "restore_section": ("petitions.sections", "restore_section"),
    "section_codes": ("petitions.law.reasons", "section_codes"),
    # one hand across many lines (issue 21): the same-hand scan and its clusters
    "ScanParams": ("petitions.stages.fraud", "ScanParams"),
    "scan_same_hand": ("petitions.stages.fraud", "scan_same_hand"),
    "same_hand_clusters": ("petitions.stages.fraud", "same_hand_clusters"),
    "same_hand_cluster": ("petitions.stages.fraud", "same_hand_cluster"),
    # templates from a blank form, in the workbench (issue 19)
    "TEMPLATE_COLUMN_NAMES": ("petitions.templates", "COLUMN_NAMES"),
    "TEMPLATE_FIELD_NAMES": ("petitions.templates", "FIELD_NAMES"),
    "draft_form_template": ("petitions.templates", "draft_from_scan"),
    "draw_template_on_blank": ("petitions.templates", "draw_on_blank"),
    "check_template_page": ("petitions.templates", "check_page"),
    "save_form_template": ("petitions.templates", "save_template"),
    "filing_templates": ("petitions.templates", "filing_templates"),
    "stored_template": ("petitions.templates", "stored_template"),
    # the workbench's scans on one shared pool of segmentation processes (issue 19)
    "ingest_files": ("petitions.stages.ingest", "ingest_files"),
    "worker_pool": ("sigverify.pages.batch", "worker_pool"),
}

__all__ = sorted(_API)


def __getattr__(name: str) -> Any:
    try:
        module, attr = _API[name]
    except KeyError:
        raise AttributeError(f"module 'petitions' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module), attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_API))


if TYPE_CHECKING:  # pragma: no cover - for type checkers and editors
    from petitions.atomic import atomic_path  # noqa: F401
    from petitions.atomic import atomic_write  # noqa: F401
    from petitions.errors import UserError  # noqa: F401
    from petitions.errors import is_user_error  # noqa: F401
    from petitions.store import DB_NAME  # noqa: F401
    from petitions.store import Workspace  # noqa: F401
    from petitions.store.backends import is_server_address  # noqa: F401
    from petitions.law.reasons import REASONS  # noqa: F401
    from petitions.law.reasons import label as reason_label  # noqa: F401
    from sigverify.display import normalize_for_display  # noqa: F401
    from sigverify.display import ink_box  # noqa: F401
    from petitions.law.rules import builtin_rulesets  # noqa: F401
    from petitions.law.rules import load_ruleset  # noqa: F401
    from petitions.stages.job import Cancelled  # noqa: F401
    from petitions.stages.job import StageReport  # noqa: F401
    from petitions.stages.voters import import_voter_file  # noqa: F401
    from petitions.stages.voters import import_exemplars  # noqa: F401
    from petitions.stages.filings import Filing  # noqa: F401
    from petitions.stages.filings import create_filing  # noqa: F401
    from petitions.stages.filings import get_filing  # noqa: F401
    from petitions.stages.ingest import ingest_document  # noqa: F401
    from petitions.stages.keying import import_keyed_entries  # noqa: F401
    from petitions.stages.keying import key_line  # noqa: F401
    from petitions.stages.run import run_all  # noqa: F401
    from petitions.review.queue import MODES  # noqa: F401
    from petitions.review.queue import MODE_LABELS  # noqa: F401
    from petitions.review.queue import QueueItem  # noqa: F401
    from petitions.review.queue import modes_for_role  # noqa: F401
    from petitions.review.queue import reject_codes  # noqa: F401
    from petitions.review.queue import review_queue  # noqa: F401
    from petitions.review.case import Candidate  # noqa: F401
    from petitions.review.case import Case  # noqa: F401
    from petitions.review.case import load_case  # noqa: F401
    from petitions.review.case import rule  # noqa: F401
    from petitions.review.case import undo_ruling  # noqa: F401
    from petitions.review.records import VOTER_DISPLAY_COLUMNS  # noqa: F401
    from petitions.review.records import VoterDirectory  # noqa: F401
    from petitions.review.keying import KeyingLine  # noqa: F401
    from petitions.review.keying import keying_line  # noqa: F401
    from petitions.review.keying import keying_queue  # noqa: F401
    from petitions.review.pages import PageView  # noqa: F401
    from petitions.review.pages import page_image  # noqa: F401
    from petitions.review.pages import page_view  # noqa: F401
    from petitions.review.pages import pages_of  # noqa: F401
    from petitions.users import default_user  # noqa: F401
    from petitions.users import users  # noqa: F401
    from petitions.summary import dashboard  # noqa: F401
    from petitions.summary import samples_of  # noqa: F401
    from petitions.summary import summarize  # noqa: F401
    from petitions.summary import FIGURE_WORDS  # noqa: F401
    from petitions.summary import counts  # noqa: F401
    from petitions.counting import draw_sample  # noqa: F401
    from petitions.counting import sample_items  # noqa: F401
    from petitions.counting import void_sample  # noqa: F401
    from petitions.certification import certification_state  # noqa: F401
    from petitions.certification import reopen as reopen_certified  # noqa: F401
    from petitions.audit import qa_status  # noqa: F401
    from petitions.audit import BlindCase  # noqa: F401
    from petitions.audit import agreement_report  # noqa: F401
    from petitions.audit import draw_qa_sample  # noqa: F401
    from petitions.audit import qa_queue  # noqa: F401
    from petitions.audit import record_audit  # noqa: F401
    from petitions.audit import route_disagreements  # noqa: F401
    from petitions.reports import certify  # noqa: F401
    from petitions.reports import last_certification  # noqa: F401
    from petitions.reports import proponent_export  # noqa: F401
    from petitions.reports import write_report  # noqa: F401
    from petitions.stages.voters import voter_file_problems  # noqa: F401
    from petitions.stages.filings import voter_file_warnings  # noqa: F401
    from petitions.period import FilingStatus  # noqa: F401
    from petitions.period import list_filings  # noqa: F401
    from petitions.review.confirm import ConfirmReport  # noqa: F401
    from petitions.review.confirm import confirm_invalid  # noqa: F401
    from petitions.review.confirm import proposed_invalid  # noqa: F401
    from petitions.withdrawals import WithdrawalImport  # noqa: F401
    from petitions.withdrawals import import_withdrawals  # noqa: F401
    from petitions.withdrawals import withdrawals_of  # noqa: F401
    from petitions.review.batches import my_queue  # noqa: F401
    from petitions.review.batches import batch_status  # noqa: F401
    from petitions.review.batches import checkout as checkout_batch  # noqa: F401
    from petitions.review.batches import renew as renew_batch  # noqa: F401
    from petitions.review.batches import give_back as give_back_batch  # noqa: F401
    from petitions.review.batches import assign as assign_batch  # noqa: F401
    from petitions.review.batches import reclaim as reclaim_batch  # noqa: F401
    from petitions.review.batches import holdings as batch_holdings  # noqa: F401
    from petitions.review.batches import throughput as batch_throughput  # noqa: F401
    from petitions.users import users as workspace_users  # noqa: F401
    from petitions.review.confirm import send_to_review  # noqa: F401
    from petitions.review.confirm import line_strips  # noqa: F401
    from petitions.withdrawals import withdrawal_preview  # noqa: F401
    from petitions.sections import sections_of  # noqa: F401
    from petitions.sections import rule_section  # noqa: F401
    from petitions.sections import restore_section  # noqa: F401
    from petitions.law.reasons import section_codes  # noqa: F401
    from petitions.stages.fraud import ScanParams  # noqa: F401
    from petitions.stages.fraud import scan_same_hand  # noqa: F401
    from petitions.stages.fraud import same_hand_clusters  # noqa: F401
    from petitions.stages.fraud import same_hand_cluster  # noqa: F401
    from petitions.templates import COLUMN_NAMES as TEMPLATE_COLUMN_NAMES  # noqa: F401
    from petitions.templates import FIELD_NAMES as TEMPLATE_FIELD_NAMES  # noqa: F401
    from petitions.templates import draft_from_scan as draft_form_template  # noqa: F401
    from petitions.templates import draw_on_blank as draw_template_on_blank  # noqa: F401
    from petitions.templates import check_page as check_template_page  # noqa: F401
    from petitions.templates import save_template as save_form_template  # noqa: F401
    from petitions.templates import filing_templates, stored_template  # noqa: F401
    from petitions.stages.ingest import ingest_files  # noqa: F401
    from sigverify.pages.batch import worker_pool  # noqa: F401
