"""Supervisor work driven through real widgets (pytest-qt, offscreen) on a real
workspace: the blind QA audit through petitions.audit, agreement and routing
disagreements back, certify (refused while pending) and exports, roles,
keying, tooltips, visible focus and window-state restore."""
from __future__ import annotations

import json
import os
import shutil

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402

pytest.importorskip("pytestqt")

from PySide6.QtCore import QSettings, Qt  # noqa: E402
from PySide6.QtWidgets import (QAbstractButton, QAbstractSpinBox, QComboBox, QLabel, QLineEdit,  # noqa: E402
                               QTabBar)

import gui  # noqa: E402,F401
from gui.main_window import TABS, MainWindow  # noqa: E402
from gui_helpers import open_window, rule_by_key, wait_case  # noqa: E402
from gui_workspace_fixture import REVIEWER, SUPERVISOR, build_tiny_workspace  # noqa: E402
from petitions import audit  # noqa: E402
from petitions.status import line_status
from petitions.store import Workspace  # noqa: E402


@pytest.fixture()
def tiny(tmp_path):
    return build_tiny_workspace(tmp_path / "ws")


@pytest.fixture(scope="module")
def demo_master(tmp_path_factory):
    from petitions.demo import run_demo

    return run_demo(tmp_path_factory.mktemp("demo") / "ws", signatures=12, seed=1, log=lambda m: None)


@pytest.fixture()
def demo(demo_master, tmp_path):
    root = tmp_path / "demo"
    shutil.copytree(demo_master.workspace, root)
    return root, demo_master.filing_id


def wait_idle(qtbot, win):
    qtbot.waitUntil(lambda: not win._jobs and win.writer.pending == 0 and win.reader.pending == 0, timeout=30_000)


def texts(widget) -> str:
    return " ".join(w.text() for w in widget.findChildren(QLabel))


def test_audit_undo_pressed_before_the_write_answers_undoes_that_ruling(qtbot, tiny):
    from petitions import review

    with Workspace(tiny.root) as ws:   # a reviewer's rulings, and a QA sample of them
        for lid in tiny.review_ids[:4]:
            review.rule(ws, review.load_case(ws, lid), user=REVIEWER, action="accept")
        audit.draw_qa_sample(ws, tiny.filing_id, seed="qa-undo", user=SUPERVISOR)
        queue = [c.line_db_id for c in audit.qa_queue(ws, tiny.filing_id, user=SUPERVISOR)]
    assert len(queue) >= 2
    sup = open_window(qtbot, tiny.root, user=SUPERVISOR)
    wait_idle(qtbot, sup)
    sup._record_audit(queue[0], "accept", None)
    wait_idle(qtbot, sup)                          # the first ruling is in, and answered
    sup._record_audit(queue[1], "accept", None)    # the second one, and U before its answer
    sup._undo_audit()
    wait_idle(qtbot, sup)
    with Workspace(tiny.root) as ws:
        rows = ws._rows("SELECT line_id, action FROM rulings WHERE kind = 'audit' AND user = ? ORDER BY id",
                        (SUPERVISOR,))
    assert [(r["line_id"], r["action"]) for r in rows] == [
        (queue[0], "accept"), (queue[1], "accept"), (queue[1], "reopen")]
    sup.close()


def test_blind_qa_audit_agreement_and_routing(qtbot, tiny):
    # A reviewer rules six lines: three accepts, three address rejections.
    win = open_window(qtbot, tiny.root)
    panel = win.review
    panel.setFocus()
    ruled = {}
    for key in (Qt.Key.Key_A, Qt.Key.Key_2, Qt.Key.Key_A, Qt.Key.Key_2, Qt.Key.Key_A, Qt.Key.Key_2):
        wait_case(qtbot, panel)
        ruled[panel.current] = "valid" if key == Qt.Key.Key_A else "invalid"
        rule_by_key(qtbot, panel, key)
    wait_idle(qtbot, win)
    win.close()

    sup = open_window(qtbot, tiny.root, user=SUPERVISOR)
    sup.show_tab("supervisor")
    sp = sup.supervisor
    sp.show_page("audit")
    page = sp.audit
    qtbot.keyClicks(page.seed, "qa-2024-11-05")
    qtbot.mouseClick(page.draw_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "Round 1" in page.drawn.text(), timeout=20_000)
    wait_idle(qtbot, sup)
    with Workspace(tiny.root) as ws:
        sample = audit.qa_sample(ws, tiny.filing_id)
        expected = [c.line_db_id for c in audit.qa_queue(ws, tiny.filing_id, user=SUPERVISOR)]
        pops = set(sample["population"].to_list())
    assert pops == {"software", REVIEWER}   # the auto-accepts and the reviewer, each its own population
    assert sample.filter(sample["population"] == REVIEWER).height == 6   # all of them: fewer than the minimum
    qtbot.waitUntil(lambda: [c.line_db_id for c in page.cases] == expected, timeout=10_000)

    # The case shown is blind: no status, determination, reasons, scores or earlier rulings.
    qtbot.waitUntil(lambda: page.view.case is not None and page.view.case.line_db_id == expected[0], timeout=10_000)
    shown = texts(page.view) + " " + " ".join(page.queue.item(i).text() for i in range(page.queue.count()))
    for word in ("valid", "invalid", "needs review", "score", "accepted", "rejected", REVIEWER, "Address does not",
                 "software", "auto"):
        assert word.lower() not in shown.lower(), word
    assert page.view.signature.has_image()

    # Rule every sampled line "reject (address)" by keyboard: disagrees with each accept.
    page.setFocus()
    page.reason.setCurrentIndex(page.reason.findData("address_mismatch"))
    decisions = {}
    for lid in expected:
        qtbot.waitUntil(lambda lid=lid: page.view.case is not None and page.view.case.line_db_id == lid,
                        timeout=10_000)
        qtbot.keyClick(page, Qt.Key.Key_R)
        decisions[lid] = "invalid"
    wait_idle(qtbot, sup)
    with Workspace(tiny.root) as ws:
        audits = ws._rows("SELECT line_id, user, action, reason_code FROM rulings WHERE kind = 'audit'")
        st = {r["line_db_id"]: r["status"] for r in line_status(ws, tiny.filing_id).iter_rows(named=True)}
        rep = audit.agreement_report(ws, tiny.filing_id)
    assert {a["line_id"] for a in audits} == set(expected)
    assert all(a["user"] == SUPERVISOR and a["action"] == "reject" and a["reason_code"] == "address_mismatch"
               for a in audits)
    # audit rulings never decide a line
    assert all(st[lid] == ruled[lid] for lid in ruled)
    assert page.queue.count() == 0

    # The agreement table shows the report: per reviewer (software included) and per reason.
    ag = sp.agreement
    qtbot.waitUntil(lambda: any(r[1] == REVIEWER for r in ag.rows()), timeout=10_000)
    rows = {(r[0], r[1]): r for r in ag.rows()}
    per = {r["group"]: r for r in rep.per_reviewer.iter_rows(named=True)}
    assert rows[("reviewer", "software")][2] == str(per["software"]["n"])
    # A rejection agrees only when its reason is in the same category (issue 18):
    # the reviewer's rejections agree with the audit's "address" ones only if
    # they named the same reason.
    with Workspace(tiny.root) as ws:
        same = ws._scalar("SELECT COUNT(*) FROM rulings WHERE kind = 'review' AND user = ? AND action = 'reject' "
                          "AND reason_code = 'address_mismatch'", (REVIEWER,))
    assert rows[("reviewer", REVIEWER)][2] == "6" and rows[("reviewer", REVIEWER)][3] == str(same)
    assert rows[("reviewer", REVIEWER)][4] == f"{100 * same / 6:.1f} %"
    assert ("overall", "all") in rows and any(k[0] == "reason" for k in rows)

    # Undo the last audit ruling (U): the line is back in the blind queue.
    qtbot.keyClick(page, Qt.Key.Key_U)
    wait_idle(qtbot, sup)
    qtbot.waitUntil(lambda: [c.line_db_id for c in page.cases] == [expected[-1]], timeout=10_000)
    qtbot.keyClick(page, Qt.Key.Key_R)
    wait_idle(qtbot, sup)

    # Send disagreements back: every line the audit disagrees with returns to review.
    sp.show_page("agreement")
    qtbot.mouseClick(ag.route_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "Sent back" in ag.routed.text(), timeout=20_000)
    wait_idle(qtbot, sup)
    with Workspace(tiny.root) as ws:
        routed = ws._rows("SELECT line_id FROM events WHERE kind = 'qa_disagreement_routed'")
        st = {r["line_db_id"]: r["status"] for r in line_status(ws, tiny.filing_id).iter_rows(named=True)}
        n_dis = audit.agreement_report(ws, tiny.filing_id).disagreements.height
    assert len(routed) == n_dis >= 4   # three accepts of the reviewer and the software's accept
    assert all(st[r["line_id"]] == "needs_review" for r in routed)
    assert f"Sent back: {n_dis}" in ag.routed.text()
    sup.close()


def test_certify_refused_while_pending_then_certify_and_export(qtbot, demo, tmp_path):
    root, fid = demo
    sup = open_window(qtbot, root, user="demo-supervisor")
    assert sup.certify_action.isEnabled()
    pdf = tmp_path / "out" / "certificate.pdf"
    dlg = sup.certify()
    qtbot.keyClicks(dlg.official_name, "Dean Logan")
    dlg.pdf.setText(str(pdf))
    qtbot.mouseClick(dlg.ok_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dlg.error.text().startswith("Not done"), timeout=20_000)
    assert "still need review" in dlg.error.text() and dlg.isVisible()
    assert not pdf.exists()
    with Workspace(root) as ws:
        assert ws._scalar("SELECT COUNT(*) FROM events WHERE kind = 'certified'") == 0
    dlg.close()

    # Rule every pending line (accept), then certify.
    panel = sup.review
    panel.setFocus()
    while panel.model.rowCount():
        wait_case(qtbot, panel)
        qtbot.keyClick(panel, Qt.Key.Key_A)
    wait_idle(qtbot, sup)
    dlg = sup.certify()
    qtbot.keyClicks(dlg.official_name, "Dean Logan")
    dlg.pdf.setText(str(pdf))
    qtbot.mouseClick(dlg.ok_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dlg.isVisible(), timeout=30_000)
    wait_idle(qtbot, sup)
    assert pdf.exists() and pdf.read_bytes()[:4] == b"%PDF"
    with Workspace(root) as ws:
        cert = json.loads(ws._scalar("SELECT payload_json FROM events WHERE kind = 'certified'"))
    assert cert["official"] == "Dean Logan" and cert["pdf"] == str(pdf)
    assert any("Certified" in n.message for n in sup.notices)
    qtbot.waitUntil(lambda: "Certified" in sup.supervisor.cert_state.text(), timeout=10_000)

    # Export report to a folder.
    out = tmp_path / "report"
    job = sup.export_report(str(out))
    with qtbot.waitSignal(job.done, timeout=30_000):
        pass
    assert {p.name for p in out.iterdir()} == {"lines.csv", "tallies.csv", "events.csv", "sample.csv",
                                               "missing_pages.csv", "chain_head.txt"}

    # Proponent export: allowed only for a petition certified insufficient.
    pout = tmp_path / "proponents"
    job = sup.proponent_export(str(pout))
    with qtbot.waitSignal(job.done, timeout=30_000):
        pass
    if cert["result"] in ("insufficient", "fails"):
        assert (pout / "disqualified_lines.csv").exists() and job.error is None
    else:
        assert job.error and "insufficient" in job.error and not pout.exists()
        assert any("insufficient" in n.message for n in sup.notices)
    sup.close()


def test_reviewers_never_get_supervisor_actions(qtbot, tiny):
    win = open_window(qtbot, tiny.root)
    for a in (win.certify_action, win.report_action, win.proponent_action, win.filing_action):
        assert not a.isEnabled() and "supervisor" in a.toolTip()
    sup_i = TABS.index("supervisor")
    assert not win.tabs.isTabEnabled(sup_i) and "supervisor" in win.tabs.tabToolTip(sup_i)
    assert not win.supervisor.isEnabled()
    win.close()


def test_keying_a_chosen_line_with_candidates_as_you_type(qtbot, tiny):
    win = open_window(qtbot, tiny.root)
    qtbot.waitUntil(lambda: win.review.voters is not None, timeout=10_000)
    win.show_tab("keying")
    k = win.keying
    qtbot.waitUntil(lambda: "nothing keyed" in k.status.text() or "Every signed line" in k.status.text(),
                    timeout=10_000)
    line = tiny.line_ids[6]
    with Workspace(tiny.root) as ws:
        label = ws._scalar("SELECT label FROM lines WHERE id = ?", (line,))
    qtbot.keyClicks(k.goto, label.lower())
    qtbot.keyClick(k.goto, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: k.line is not None and k.line.line_db_id == line, timeout=10_000)
    assert k.name_crop.has_image() and k.addr_crop.has_image()
    for e in k.fields.values():
        e.clear()
    qtbot.keyClicks(k.fields["name"], "garc")
    qtbot.waitUntil(lambda: k.model.rowCount() == 2, timeout=10_000)
    assert "party" not in k.model.columns
    qtbot.keyClicks(k.fields["address"], "240")
    qtbot.waitUntil(lambda: k.model.rowCount() == 1 and k.model.rows[0]["voter_id"] == "V021", timeout=10_000)
    qtbot.keyClicks(k.fields["city"], "Los Angeles")
    qtbot.keyClicks(k.fields["date_signed"], "2024-02-30")
    qtbot.keyClick(k.fields["city"], Qt.Key.Key_Return)
    assert "Date signed" in k.status.text()   # a bad date is not saved
    k.fields["date_signed"].setText("2024-02-03")
    qtbot.keyClick(k.fields["city"], Qt.Key.Key_Return)
    wait_idle(qtbot, win)
    with Workspace(tiny.root) as ws:
        rows = ws._rows("SELECT name, address, city, zip, date_signed, source, keyed_by FROM current_keyed "
                        "WHERE line_id = ?", (line,))
    assert rows == [{"name": "garc", "address": "240", "city": "Los Angeles", "zip": "", "date_signed": "2024-02-03",
                     "source": "workbench", "keyed_by": REVIEWER}]
    win.close()


def _missing_tooltips(win) -> list[str]:
    missing = []
    for cls in (QAbstractButton, QLineEdit, QComboBox):
        for w in win.findChildren(cls):
            if not w.isEnabled() or w.toolTip().strip():
                continue
            # the inner parts of a spin box, combo box or tab bar show their owner's tooltip
            p = w.parentWidget()
            if isinstance(p, (QAbstractSpinBox, QComboBox, QTabBar)) and p.toolTip().strip():
                continue
            missing.append(f"{type(w).__name__} {w.objectName()!r} {getattr(w, 'text', lambda: '')()!r}")
    return missing


def test_every_control_has_a_tooltip(qtbot, tiny):
    for user in (SUPERVISOR, REVIEWER):
        win = open_window(qtbot, tiny.root, user=user)
        for key in TABS:
            win.show_tab(key)
        if user == SUPERVISOR:
            for page in ("sample", "audit", "agreement", "certify"):
                win.supervisor.show_page(page)
        assert _missing_tooltips(win) == []
        for a in win.menuBar().actions():
            for sub in a.menu().actions():
                assert sub.isSeparator() or sub.toolTip() != sub.text().replace("&", ""), sub.text()
        win.close()


def test_focus_is_visible(qtbot, tiny):
    win = open_window(qtbot, tiny.root)
    win.activateWindow()
    b = win.review.buttons["accept"]
    plain = b.grab().toImage()
    b.setFocus(Qt.FocusReason.TabFocusReason)
    qtbot.waitUntil(b.hasFocus, timeout=5_000)
    focused = b.grab().toImage()
    assert plain != focused   # the focused control looks different (border and background)
    win.close()


def test_window_state_is_restored(qtbot, tiny, tmp_path):
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path / "settings"))
    win = open_window(qtbot, tiny.root, restore_state=True)
    assert not win.isMaximized()
    win.showMaximized()
    qtbot.waitUntil(win.isMaximized, timeout=5_000)
    win.show_tab("pages")
    win.close()
    assert list((tmp_path / "settings").rglob("*.ini"))   # written to the temporary path only
    again = open_window(qtbot, tiny.root, restore_state=True)
    qtbot.waitUntil(again.isMaximized, timeout=5_000)
    assert again.tabs.currentIndex() == TABS.index("pages")
    again.close()
    # a screenshot run neither reads nor writes the window state
    shot = open_window(qtbot, tiny.root, restore_state=False)
    assert not shot.isMaximized() and shot.tabs.currentIndex() == TABS.index("review")
    shot.close()
