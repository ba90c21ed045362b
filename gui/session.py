"""Who is working on which filing of which workspace (a plain object)."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Session:
    root: Path
    user: str
    role: str
    filing_id: int | None = None
    filing_name: str = ""
    reject_codes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def is_supervisor(self) -> bool:
        return self.role == "supervisor"
