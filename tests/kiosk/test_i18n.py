"""Texts are complete in all three languages, and no screen asks for a text that is missing."""

import re
from pathlib import Path

import pytest

from kiosk.i18n import LANGUAGES, Translator, load_texts

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [*ROOT.glob("screens/*.py"), *(ROOT / "kiosk" / f for f in (
    "visit/flow.py", "visit/gates.py", "app/kiosk_app.py", "central/client.py", "central/errors.py",
    "visit/service_run.py", "visit/effects.py", "voice/guidance.py", "demo/visit.py"))]
KEY_RE = re.compile(r"""["']((?:app|app_code|lang|chrome|common|attract|home|search|help|banner|intro|place_card|card|pin|face|inputs|processing|result|printing|take|rating|goodbye|error|errors|timeout|central|service|out_of_service)\.[a-z_]+)["']""")


def used_keys() -> set[str]:
    keys: set[str] = set()
    for path in SOURCES:
        keys.update(KEY_RE.findall(path.read_text(encoding="utf-8")))
    return keys


@pytest.mark.parametrize("lang", LANGUAGES[1:])
def test_every_language_has_exactly_the_same_keys(lang):
    assert set(load_texts(lang)) == set(load_texts("zh_CN"))


def test_every_key_the_code_names_exists():
    missing = used_keys() - set(load_texts("zh_CN"))
    assert not missing


def test_no_text_is_empty_and_placeholders_agree():
    base = load_texts("zh_CN")
    for lang in LANGUAGES:
        for key, text in load_texts(lang).items():
            assert text.strip(), f"{lang} {key} is empty"
            assert set(re.findall(r"{(\w+)}", text)) == set(re.findall(r"{(\w+)}", base[key])), key


def test_translator_fills_placeholders():
    t = Translator("en")
    assert t.t("timeout.text", seconds=5) == "Time left: 5 s. Then your data is cleared"


DYNAMIC_RE = re.compile(r"""f["']([a-z_]+(?:\.[a-z_]+)*)\.\{""")


def test_no_text_is_unused():
    """A key nothing asks for is dead text a translator keeps paying for. Keys built at run
    time (``f"rating.reason.{reason}"``) count for their whole prefix."""
    sources = "\n".join(p.read_text(encoding="utf-8") for p in SOURCES)
    literal = set(KEY_RE.findall(sources))
    prefixes = {m + "." for m in DYNAMIC_RE.findall(sources)}
    unused = [k for k in load_texts("zh_CN")
              if k not in literal and not any(k.startswith(p) for p in prefixes)]
    assert not unused
