"""Shared test set-up: Qt runs offscreen, and every module in tests/fixtures/ is a plugin
(one per simulator or service: central, idcard, printer, pcsc, cups …)."""

import os
import pathlib

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("KIOSK_SPEECH", "off")  # tests capture speech explicitly when they need it

pytest_plugins = sorted(
    f"tests.fixtures.{p.stem}"
    for p in (pathlib.Path(__file__).parent / "fixtures").glob("*.py")
    if p.stem not in ("__init__", "procs")
)
