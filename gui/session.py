"""Who is working on which filing of which workspace (a plain object), and
where that workspace is: a folder, or a server address signed in to."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from petitions import Workspace, is_server_address


class ServerLocation(str):
    """A workspace server's address (no password in it) that keeps the
    password given at sign-in in memory, so that each worker thread's own
    connection signs in as the same person. ``str()`` never shows it."""

    password: str | None

    def __new__(cls, address: str, password: str | None = None) -> "ServerLocation":
        obj = super().__new__(cls, address)
        obj.password = password
        return obj

    def __repr__(self) -> str:
        return f"ServerLocation({str(self)!r})"


def location_of(root: str | Path) -> Path | ServerLocation:
    """A folder as a Path; a server address as a :class:`ServerLocation`."""
    if isinstance(root, ServerLocation):
        return root
    if is_server_address(str(root)) and not isinstance(root, Path):
        return ServerLocation(str(root))
    return Path(root)


def open_at(root: str | Path, **kw) -> Workspace:
    """Open the workspace at `root` (signing in with the kept password)."""
    loc = location_of(root)
    return Workspace(loc, password=getattr(loc, "password", None), **kw)


@dataclass
class Session:
    root: Path | ServerLocation
    user: str
    role: str
    filing_id: int | None = None
    filing_name: str = ""
    reject_codes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def is_supervisor(self) -> bool:
        return self.role == "supervisor"

    @property
    def on_server(self) -> bool:
        return isinstance(self.root, ServerLocation)
