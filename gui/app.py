"""``petition-workbench [WORKSPACE] [--screenshot OUT.png]``: the GUI entry point."""
from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

TAB_CHOICES = ("dashboard", "review", "pages", "lookup", "keying", "supervisor")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="petition-workbench",
        description="The petition signature verification workbench (review queue, pages, voter lookup, "
                    "dashboard, supervisor tools).")
    p.add_argument("workspace", nargs="?", help="workspace folder to open (e.g. the one `petitions demo` made), or a "
                                                 "server address postgresql://HOST[:PORT]/DB (asks you to sign in); "
                                                 "default: $SIGVERIFY_WORKSPACE")
    p.add_argument("--user", help="act as this workspace user (default: your login name if it is a user, "
                                  "else the first reviewer)")
    p.add_argument("--filing", help="filing id or name (default: the newest)")
    p.add_argument("--screenshot", metavar="OUT.png",
                   help="render the main window on WORKSPACE to OUT.png and exit (works offscreen)")
    p.add_argument("--tab", choices=TAB_CHOICES, default="review", help="tab to show (with --screenshot)")
    p.add_argument("--size", default="1366x768", help="window size WxH for --screenshot (default 1366x768)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    args.workspace = args.workspace or os.environ.get("SIGVERIFY_WORKSPACE") or None
    if args.screenshot:
        if not args.workspace:
            print("petition-workbench: --screenshot needs a WORKSPACE", file=sys.stderr)
            return 2
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    server = bool(args.workspace) and args.workspace.startswith(("postgresql://", "postgres://"))
    if server and args.screenshot:
        print("petition-workbench: --screenshot needs a workspace folder", file=sys.stderr)
        return 2
    if args.workspace and not server and not (Path(args.workspace) / "workspace.sqlite").exists():
        print(f"petition-workbench: {args.workspace}: not a workspace (no workspace.sqlite inside); "
              "create one with `petitions init -w DIR` (or try `petitions demo --workspace DIR`)", file=sys.stderr)
        return 2
    try:
        w, h = (int(v) for v in args.size.lower().split("x"))
    except ValueError:
        print(f"petition-workbench: --size must look like 1366x768, got {args.size!r}", file=sys.stderr)
        return 2

    from PySide6.QtWidgets import QApplication

    from petitions import UserError

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("petition-workbench")
    app.setOrganizationName("sigverify")
    from gui.main_window import MainWindow

    if server:
        win, _dialog = server_window(args.workspace, user=args.user, filing=args.filing)
        return app.exec()
    try:
        win = MainWindow(args.workspace, user=args.user, filing=args.filing, restore_state=not args.screenshot)
    except UserError as exc:
        print(f"petition-workbench: {exc}", file=sys.stderr)
        return 2
    if args.screenshot:
        return screenshot(app, win, args.screenshot, tab=args.tab, size=(w, h))
    win.show()
    return app.exec()


def server_window(address: str, *, user: str | None = None, filing=None, restore_state: bool = True):
    """The main window with the sign-in dialog over it (which opens the
    server once it took the login): ``(window, dialog)``."""
    from gui.main_window import MainWindow

    win = MainWindow(None, restore_state=restore_state)
    win.show()
    return win, win.open_server(address, user, filing=filing)


def screenshot(app, win, out: str | Path, *, tab: str = "review", size=(1366, 768), timeout_s: float = 60.0) -> int:
    """Wait until the window has shown its data, render it to `out`, exit."""
    from PySide6.QtCore import QElapsedTimer, QEventLoop, QTimer

    from petitions import atomic_path

    win.resize(*size)
    win.show()
    if not win.is_ready:
        loop = QEventLoop()
        win.ready.connect(loop.quit)
        QTimer.singleShot(int(timeout_s * 1000), loop.quit)
        loop.exec()
    win.show_tab(tab)
    if tab == "lookup" and win.session and win.session.filing_id is not None:
        _demo_lookup(win)
    elif tab == "keying" and win.session and win.session.filing_id is not None:
        _demo_keying(win)
    elif tab == "supervisor" and win.session and win.session.is_supervisor:
        _wait(lambda: False, 600)   # the QA queue and agreement report load with the window
        if win.supervisor.audit.cases:
            win.supervisor.show_page("audit")
            _wait(lambda: win.supervisor.audit.view.case is not None, 3000)
    # let layouts and the chosen tab settle
    t = QElapsedTimer()
    t.start()
    while t.elapsed() < 400:
        app.processEvents()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    image = win.grab()
    with atomic_path(out) as tmp:
        ok = image.save(str(tmp), "PNG")
        os.chmod(tmp, 0o644)   # a document to share, not a private temp file
    win.close()
    if not ok:
        print(f"petition-workbench: could not write {out}", file=sys.stderr)
        return 1
    print(out)
    return 0


def _wait(cond, ms: int) -> None:
    from PySide6.QtCore import QElapsedTimer
    from PySide6.QtWidgets import QApplication

    t = QElapsedTimer()
    t.start()
    while t.elapsed() < ms and not cond():
        QApplication.processEvents()


def _demo_keying(win) -> None:
    """For a keying screenshot: open the first unkeyed line, else the open case's line."""
    k = win.keying
    _wait(lambda: k.line is not None, 1500)
    if k.line is None and win.review.view.loaded is not None:
        k.line_requested.emit(str(win.review.view.loaded.case.line_db_id))
        _wait(lambda: k.line is not None, 3000)
    _wait(lambda: k.model.rows, 3000)


def _demo_lookup(win) -> None:
    """For a look-up screenshot: search for the open case's voter's surname."""
    from PySide6.QtCore import QElapsedTimer
    from PySide6.QtWidgets import QApplication

    loaded = win.review.view.loaded
    if loaded is None or loaded.case.candidate is None:
        return
    rec = loaded.case.candidate.record
    win.lookup.name.setText(str(rec.get("last_name") or "")[:5])
    t = QElapsedTimer()
    t.start()
    while t.elapsed() < 3000 and not win.lookup.model.rows:
        QApplication.processEvents()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
