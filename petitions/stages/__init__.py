"""The pipeline's stages, in the order a filing goes through them.

Each stage is a module with the shape *plan → compute (pure) → commit*
over the job helper in :mod:`petitions.stages.job`.
"""
from petitions.stages.decide import (  # noqa: F401
    run_triage,
    triage_inputs,
)
from petitions.stages.filings import (  # noqa: F401
    Filing,
    create_filing,
    get_filing,
)
from petitions.stages.ingest import (  # noqa: F401
    IngestReport,
    ingest_document,
    line_label,
    line_seq,
    page_image,
)
from petitions.stages.job import (  # noqa: F401
    CancelFn,
    Cancelled,
    ProgressFn,
    StageReport,
    file_sha256,
)
from petitions.stages.keying import (  # noqa: F401
    KEYED_COLUMNS,
    KeyedImport,
    import_keyed_entries,
    key_line,
)
from petitions.stages.match import (  # noqa: F401
    run_matching,
)
from petitions.stages.run import (  # noqa: F401
    run_all,
)
from petitions.stages.verify import (  # noqa: F401
    run_signatures,
)
from petitions.stages.voters import (  # noqa: F401
    ExemplarImport,
    VoterFileImport,
    active_voter_file,
    exemplars_for,
    import_exemplars,
    import_voter_file,
)

__all__ = [
    "CancelFn",
    "Cancelled",
    "ExemplarImport",
    "Filing",
    "IngestReport",
    "KEYED_COLUMNS",
    "KeyedImport",
    "ProgressFn",
    "StageReport",
    "VoterFileImport",
    "active_voter_file",
    "create_filing",
    "exemplars_for",
    "file_sha256",
    "get_filing",
    "import_exemplars",
    "import_keyed_entries",
    "import_voter_file",
    "ingest_document",
    "key_line",
    "line_label",
    "line_seq",
    "page_image",
    "run_all",
    "run_matching",
    "run_signatures",
    "run_triage",
    "triage_inputs",
]
