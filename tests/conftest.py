"""Test-wide settings: Qt always renders offscreen; tests never need a display."""
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
