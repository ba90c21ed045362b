"""A long job's window: stage, progress bar, time left, Cancel."""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QDialog, QLabel, QProgressBar, QPushButton, QVBoxLayout

from gui.workers import JobThread


def _eta(seconds: float) -> str:
    if seconds < 0:
        return "estimating time left …"
    if seconds < 60:
        return f"about {seconds:.0f} s left"
    return f"about {seconds / 60:.0f} min left"


class JobDialog(QDialog):
    """Runs `fn(ws, progress, cancel)` in a :class:`JobThread` and shows it.
    The window stays responsive; Cancel asks the job to stop at its next
    batch (everything committed before stays)."""

    done = Signal(object)  # (result, error, cancelled)

    def __init__(self, root, fn, title: str, parent=None):
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setModal(False)
        self.result = self.error = None
        self.problems: list[str] = []
        self.was_cancelled = False
        #: True once the outcome is in (result / error / problems set, `done`
        #: emitted): the thread alone finishing is not enough, its report
        #: reaches this dialog through the event loop afterwards.
        self.completed = False
        lay = QVBoxLayout(self)
        self.stage = QLabel(f"{title} …")
        self.stage.setObjectName("jobStage")
        self.bar = QProgressBar()
        self.bar.setRange(0, 0)
        self.bar.setToolTip("Progress of the current stage")
        self.eta = QLabel("")
        self.eta.setObjectName("jobTimeLeft")
        self.cancel_btn = QPushButton("Cancel")
        self.cancel_btn.setToolTip("Stop after the batch in progress; committed work is kept and a rerun continues")
        self.cancel_btn.clicked.connect(self._cancel)
        for w in (self.stage, self.bar, self.eta, self.cancel_btn):
            lay.addWidget(w)
        self.thread = JobThread(root, fn, title, self)
        self.thread.progress_changed.connect(self._progress)
        self.thread.job_done.connect(self._finished)

    def start(self) -> None:
        self.show()
        self.thread.start()

    def _progress(self, stage: str, done: int, total: int, left: float) -> None:
        self.stage.setText(f"{stage}: {done:,} of {total:,}")
        self.bar.setRange(0, max(total, 1))
        self.bar.setValue(done)
        self.eta.setText(_eta(left))

    def _cancel(self) -> None:
        self.cancel_btn.setEnabled(False)
        self.cancel_btn.setText("Cancelling …")
        self.thread.cancel()

    def _finished(self, packet) -> None:
        self.thread.wait()
        self.result, self.error, self.was_cancelled = packet
        self.problems = list(self.thread.problems)
        self.completed = True
        self.done.emit(packet)
        self.accept()
