"""``kiosk camera check``: the technician's JSON and exit codes, through the real entry point."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from kiosk.cli.main import main

KEYS = {"frames", "fps", "faces", "best_quality"}


def check(capsys, uri: str, *extra: str) -> tuple[int, dict | None, str]:
    code = main(["camera", "check", "--uri", uri, "--json", *extra])
    out, err = capsys.readouterr()
    return code, (json.loads(out) if out.strip() else None), err


def test_good_clip_reports_every_frame_with_one_face(capsys, camera_clips):
    code, report, err = check(capsys, f"camera://{camera_clips['live']}?fps=120", "--frames", "20")
    assert code == 0 and err == ""
    assert set(report) == KEYS
    assert report["frames"] == 20 and report["faces"] == 20 and report["best_quality"] == "ok"
    assert report["fps"] > 0


def test_default_reads_sixty_frames_looping_a_shorter_clip(capsys, camera_clips):
    code, report, _ = check(capsys, f"camera://{camera_clips['live']}?fps=240")
    assert code == 0 and report["frames"] == 60  # the clip has 45: it looped


@pytest.mark.parametrize("kind, faces, best", [
    ("two_faces", 0, "multiple_faces"),
    ("no_face", 0, "no_face"),
    ("blurred", 10, "blurry"),
    ("dark", 10, "too_dark"),
])
def test_failing_clips_name_the_reason(capsys, camera_clips, kind, faces, best):
    code, report, _ = check(capsys, f"camera://{camera_clips[kind]}?fps=120", "--frames", "10")
    assert code == 0
    assert (report["faces"], report["best_quality"]) == (faces, best)


def test_sim_feed_has_no_face(capsys):
    code, report, _ = check(capsys, "sim?fps=120", "--frames", "5")
    assert code == 0 and report == {**report, "frames": 5, "faces": 0, "best_quality": "no_face"}


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kiosk.cli", *args], capture_output=True,
                          text=True, timeout=60)


@pytest.mark.parametrize("uri", ["camera:///nonexistent/clip.avi", "camera://63"])
def test_source_that_cannot_open_exits_4_with_one_line(tmp_path, uri):
    done = run_cli("camera", "check", "--uri", uri, "--json")
    assert done.returncode == 4
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("kiosk camera: disconnected:")


def test_malformed_uri_is_a_usage_error(capsys):
    code, report, err = check(capsys, "camera://front")
    assert code == 2 and report is None and "device index" in err


def test_too_few_frames_before_the_timeout_exits_3(capsys, camera_clips):
    code, report, err = check(capsys, f"camera://{camera_clips['live']}?fps=5",
                              "--frames", "50", "--timeout", "0.5")
    assert code == 3
    assert 0 < report["frames"] < 50 and "of 50 frames" in err


def test_human_output_names_the_prompt(capsys, camera_clips):
    code = main(["camera", "check", "--uri", f"camera://{camera_clips['small']}?fps=120",
                 "--frames", "5"])
    out = capsys.readouterr().out
    assert code == 0 and "too_small" in out and "请靠近一点" in out
