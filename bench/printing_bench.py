"""Printing speed: ESC/POS bytes for a service receipt (goal ≤ 30 ms) and a 2-page A4 PDF
(goal ≤ 250 ms). Medians over repeated runs after one warm-up (fonts, templates cached).

Run: .venv/bin/python bench/printing_bench.py
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from drivers.escpos_encoder import encode_receipt  # noqa: E402
from drivers.receipt_printer import load_profile  # noqa: E402
from kiosk.documents.a4 import render_a4  # noqa: E402
from kiosk.documents.a4_templates import sample_a4_context  # noqa: E402
from kiosk.documents.receipts import render_receipt, sample_context  # noqa: E402


def median_ms(fn, runs: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def pages(pdf: bytes) -> int:
    with tempfile.NamedTemporaryFile(suffix=".pdf") as tmp:
        tmp.write(pdf)
        tmp.flush()
        out = subprocess.run(["pdfinfo", tmp.name], capture_output=True, text=True).stdout
    return int(next(ln.split()[-1] for ln in out.splitlines() if ln.startswith("Pages:")))


def main() -> int:
    ctx = sample_context("service_receipt")
    ok = True
    for profile_name in ("80mm-cjk", "58mm-cjk", "80mm-latin"):
        profile = load_profile(profile_name)

        def receipt(profile=profile) -> bytes:
            return encode_receipt(render_receipt("service_receipt", ctx, "zh_CN"), profile)

        ms = median_ms(receipt, 50)
        goal = ms <= 30
        ok &= goal or not profile.chinese_font  # the raster path is reported, not gated
        print(f"receipt service_receipt zh_CN [{profile_name}]: {ms:6.2f} ms median, "
              f"{len(receipt())} bytes {'OK' if goal else 'over 30 ms goal'}")
    a4_ctx = sample_a4_context("social_insurance_payments", rows=40)
    pdf = render_a4("social_insurance_payments", a4_ctx, "zh_CN")
    ms = median_ms(lambda: render_a4("social_insurance_payments", a4_ctx, "zh_CN"), 20)
    ok &= ms <= 250
    print(f"A4 social_insurance_payments zh_CN: {pages(pdf)} pages, {len(pdf)} bytes, "
          f"{ms:6.1f} ms median {'OK' if ms <= 250 else 'over 250 ms goal'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
