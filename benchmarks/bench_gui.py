"""Next-case latency of the review queue (target: <= 50 ms, prefetched), and
how soon the header shows a ruling (target: <= 200 ms).

Opens the workbench offscreen on a *copy* of a workspace (rulings are
written), then rules case after case with the keyboard (A = accept) and
measures, for each keystroke, the time until the next case is fully shown
(``ReviewPanel.case_shown``: signatures trimmed and normalised to their ink,
field levels from the matcher) and until the header's counts change. The reviewer's pace is simulated by waiting
until the prefetch of the next case has landed (``--think-ms`` at most)
before the next keystroke, as a person looks at a case for seconds.

    python benchmarks/bench_gui.py [--workspace DIR] [--cases 30] [--out bench_gui.json]

Without --workspace a tiny synthetic workspace is built. Prints JSON.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workspace", help="workspace to copy and review (default: a tiny synthetic one)")
    ap.add_argument("--user", help="reviewer to act as (default: the workspace's first reviewer)")
    ap.add_argument("--cases", type=int, default=30)
    ap.add_argument("--think-ms", type=int, default=2000, help="longest wait for the prefetch between keystrokes")
    ap.add_argument("--out", help="also write the JSON here")
    args = ap.parse_args(argv)

    import gui  # noqa: F401  (PySide6 work-around first)
    # isort: split
    from PySide6.QtCore import QElapsedTimer, Qt
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    from gui.main_window import MainWindow

    tmp = Path(tempfile.mkdtemp(prefix="bench_gui_"))
    try:
        root = tmp / "ws"
        if args.workspace:
            shutil.copytree(args.workspace, root, ignore=shutil.ignore_patterns("inputs"))
            source = str(args.workspace)
        else:
            from gui_workspace_fixture import build_tiny_workspace

            build_tiny_workspace(root)
            source = "tiny synthetic workspace (tests/gui_workspace_fixture.py)"
        app = QApplication.instance() or QApplication([])
        win = MainWindow(root, user=args.user, restore_state=False)
        win.show()
        timer = QElapsedTimer()
        timer.start()
        while not win.is_ready and timer.elapsed() < 60_000:
            app.processEvents()
        panel = win.review
        shown: list[tuple[int, float]] = []
        panel.case_shown.connect(lambda lid: shown.append((lid, time.perf_counter())))

        def wait_until(cond, ms):
            t = QElapsedTimer()
            t.start()
            while not cond() and t.elapsed() < ms:
                app.processEvents()
                time.sleep(0.001)
            return cond()

        wait_until(lambda: panel.current is not None and panel.current in panel.cache, 30_000)
        latencies, prefetched, header_ms = [], 0, []
        for _ in range(args.cases):
            if panel.model.rowCount() < 2:
                break
            nxt = panel._upcoming(1)[0]
            was_ready = wait_until(lambda nxt=nxt: nxt in panel.cache, args.think_ms)
            prefetched += bool(was_ready)
            shown.clear()
            head = win.strip.text()
            t0 = time.perf_counter()
            QTest.keyClick(panel, Qt.Key.Key_A)
            wait_until(lambda nxt=nxt: any(lid == nxt for lid, _ in shown), 30_000)
            t1 = next((t for lid, t in shown if lid == nxt), time.perf_counter())
            latencies.append((t1 - t0) * 1000.0)
            # the header follows the ruling (pending one less, valid one more)
            if wait_until(lambda head=head: win.strip.text() != head, 5_000):
                header_ms.append((time.perf_counter() - t0) * 1000.0)
        wait_until(lambda: panel.writer.pending == 0, 60_000)
        errors = panel.last_error
        win.close()
        lat = sorted(latencies)
        result = {
            "benchmark": "gui_next_case_latency",
            "workspace": source,
            "cases": len(lat),
            "prefetched": prefetched,
            "median_ms": round(statistics.median(lat), 2) if lat else None,
            "p95_ms": round(lat[min(len(lat) - 1, int(0.95 * len(lat)))], 2) if lat else None,
            "max_ms": round(lat[-1], 2) if lat else None,
            "target_ms": 50,
            "meets_target_p95": bool(lat) and lat[min(len(lat) - 1, int(0.95 * len(lat)))] <= 50,
            "header_update_median_ms": round(statistics.median(header_ms), 2) if header_ms else None,
            "header_update_p95_ms": round(sorted(header_ms)[min(len(header_ms) - 1, int(0.95 * len(header_ms)))], 2)
            if header_ms else None,
            "header_target_ms": 200,
            "writer_error": errors,
            "cpu_count": os.cpu_count(),
        }
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
