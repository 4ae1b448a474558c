"""``kiosk screenshot --tree``: the visible widget tree a reviewer or a test reads — the header
shows the hall, a clock and 12345, the bottom bar has the volume buttons, a visit screen
marks one current step, and every node lies inside the window it was rendered at."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
KEYS = {"role", "text", "geometry", "enabled", "checked", "current", "font_px", "icon",
        "children"}


def shoot(tmp_path: Path, *args: str) -> dict:
    tree = tmp_path / "tree.json"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-m", "kiosk.cli", "screenshot", *args,
                          "--out", str(tmp_path / "shot.png"), "--tree", str(tree)],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert tree.stat().st_mode & 0o077 == 0  # a tree holds what the screen shows: 0600
    return json.loads(tree.read_text(encoding="utf-8"))


def nodes(node: dict) -> list[dict]:
    out = [node]
    for child in node["children"]:
        out.extend(nodes(child))
    return out


@pytest.mark.slow
def test_the_tree_of_the_result_screen_in_landscape(tmp_path):
    tree = shoot(tmp_path, "--screen", "result", "--size", "1920x1080", "--lang", "zh_HK")
    every = nodes(tree)
    assert all(KEYS <= set(n) for n in every)
    assert tree["geometry"] == [0, 0, 1920, 1080]
    for n in every:
        x, y, w, h = n["geometry"]
        if n["role"] != "cell":  # a table's rows beyond its viewport are left out already
            assert 0 <= x and 0 <= y and x + w <= 1920 and y + h <= 1080, n
    header = next(n for n in every if n["role"] == "header")
    texts = [n["text"] for n in nodes(header)]
    assert any("越秀區政務服務中心" in t for t in texts)  # the hall, from config, in 繁體
    assert any("12345" in t for t in texts)
    clock = next(n for n in nodes(header) if n["role"] == "clock")
    assert len(clock["text"]) == 5 and clock["text"][2] == ":"
    bar = next(n for n in every if n["role"] == "bottombar")
    names = {n["name"] for n in nodes(bar)}
    assert {"back", "home", "volume_down", "volume_up", "language", "elderly"} <= names
    assert all(n["icon"] for n in nodes(bar) if n["name"] in ("back", "home", "volume_up"))
    current = [n for n in every if n["role"] == "step" and n["current"]]
    assert [n["text"] for n in current] == ["4 查看列印"]
    assert any(n["role"] == "cell" and "¥" in n["text"] for n in every)


@pytest.mark.slow
def test_the_senior_switch_shows_its_state_in_the_tree(tmp_path):
    tree = shoot(tmp_path, "--screen", "home", "--elderly", "--lang", "en")
    switch = next(n for n in nodes(tree) if n["name"] == "elderly")
    assert switch["checked"] and switch["role"] == "switch"
    assert min(n["font_px"] for n in nodes(tree) if n["text"]) >= 40
