"""Search cost per keystroke, as a resident types (goal: <= 2 ms per keystroke).

Each query is typed one character at a time; every prefix is one search over the whole
catalog. Prints the catalog load time, the index build time (pypinyin), and per-keystroke
median / p95 / max over all prefixes of all queries, repeated.

    .venv/bin/python bench/catalog_search_bench.py
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kiosk.catalog.services import Catalog  # noqa: E402

QUERIES = [
    ("sbjf", "zh_CN"), ("shebaojiaofei", "zh_CN"), ("shebaojf", "zh_CN"), ("个人社保缴费明细", "zh_CN"),
    ("公积金提取", "zh_CN"), ("gjj", "zh_CN"), ("bdcdj", "zh_CN"), ("不动产查册", "zh_CN"),
    ("繳費明細", "zh_HK"), ("social security card", "en"), ("passport appointment", "en"),
    ("jiaotongweifa", "zh_CN"), ("12345", "zh_CN"), ("qqqqzzzz", "zh_CN"), ("yiliaobaoxian", "zh_CN"),
]
REPEATS = 20


def main() -> None:
    t0 = time.perf_counter()
    catalog = Catalog.load()
    t1 = time.perf_counter()
    catalog.search("x", "zh_CN")  # builds the index (pypinyin import + pinyin of every name)
    t2 = time.perf_counter()
    passes: list[list[float]] = []
    for _ in range(REPEATS):
        samples = []
        for text, lang in QUERIES:
            for n in range(1, len(text) + 1):
                start = time.perf_counter()
                catalog.search(text[:n], lang)
                samples.append((time.perf_counter() - start) * 1000)
        passes.append(samples)
    print(f"services: {len(catalog.services)} in {len(catalog.departments)} departments")
    print(f"catalog load: {(t1 - t0) * 1000:.1f} ms; search index build: {(t2 - t1) * 1000:.1f} ms")
    for label, ms in (("first pass (no short-query cache)", passes[0]),
                      (f"all {REPEATS} passes", [m for p in passes for m in p])):
        ms = sorted(ms)
        print(f"{label}: {len(ms)} keystrokes; per keystroke median {statistics.median(ms):.3f} ms, "
              f"p95 {ms[int(len(ms) * 0.95)]:.3f} ms, max {ms[-1]:.3f} ms (goal <= 2 ms)")


if __name__ == "__main__":
    main()
