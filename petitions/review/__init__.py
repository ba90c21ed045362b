"""Review: queues, cases, voter records, keying and pages.

Everything the workbench shows comes from here, so that the GUI holds no
business rule. No Qt here: the model is usable from the CLI, tests and
worker threads.
"""
from petitions.review.case import (  # noqa: F401
    Candidate,
    Case,
    Exemplar,
    FieldDiff,
    Ruling,
    compare_fields,
    explain,
    load_case,
    rule,
    undo_ruling,
)
from petitions.review.keying import (  # noqa: F401
    KeyingLine,
    keying_line,
    keying_queue,
)
from petitions.review.pages import (  # noqa: F401
    PageLine,
    PageView,
    page_image,
    page_view,
    pages_of,
)
from petitions.review.queue import (  # noqa: F401
    MODE_KIND,
    MODE_LABELS,
    MODES,
    QUEUE_LEVEL,
    QueueItem,
    modes_for_role,
    reject_codes,
    review_queue,
)
from petitions.review.records import (  # noqa: F401
    VOTER_DISPLAY_COLUMNS,
    VoterDirectory,
)

__all__ = [
    "Candidate",
    "Case",
    "Exemplar",
    "FieldDiff",
    "KeyingLine",
    "MODES",
    "MODE_KIND",
    "MODE_LABELS",
    "PageLine",
    "PageView",
    "QUEUE_LEVEL",
    "QueueItem",
    "Ruling",
    "VOTER_DISPLAY_COLUMNS",
    "VoterDirectory",
    "compare_fields",
    "explain",
    "keying_line",
    "keying_queue",
    "load_case",
    "modes_for_role",
    "page_image",
    "page_view",
    "pages_of",
    "reject_codes",
    "review_queue",
    "rule",
    "undo_ruling",
]
