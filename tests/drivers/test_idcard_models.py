"""Reader model files (``config/readers/*.toml``): every shipped file loads, and a mistake in
one is a single line naming the file and the key."""

from __future__ import annotations

import pytest

from drivers.reader_models import ReaderModelError, load_model, load_models, match_usb


def test_shipped_models_cover_each_connection_kind():
    models = {m.model: m for m in load_models()}
    assert {m.transport for m in models.values()} == {"serial", "usb", "hid", "sdk"}
    ss628 = models["ss628-100u"]
    assert (ss628.usb_id, ss628.chunk, ss628.transport) == ("0400:c35a", 64, "usb")
    assert models["ss628-100h"].strip_preamble is True
    assert {m.family for m in models.values() if m.transport == "sdk"} == {"SDT", "CVR"}
    assert match_usb(list(models.values()), 0x0400, 0xC35A) == ss628
    assert match_usb(list(models.values()), 0x1234, 0x5678) is None


@pytest.mark.parametrize(("text", "needle"), [
    ('transport = "usb"\nvid = 1\npid = 2\ncolour = "red"\n',
     "broken.toml: unknown key 'colour' (known: "),
    ('transport = "usb"\nvid = 1\npid = 2\n[usb]\nchunk_size = 64\n',
     "broken.toml: unknown key usb.chunk_size (known: chunk, endpoint_in"),
    ('transport = "usb"\nvid = 1\n', "broken.toml: a usb reader needs vid and pid"),
    ('transport = "bluetooth"\n', "transport must be one of serial, usb, hid, sdk, got 'bluetooth'"),
    ('transport = "usb"\nvid = 70000\npid = 2\n', "vid must be an integer 0…65535, got 70000"),
    ('transport = "usb"\nvid = 1\npid = 2\n[usb]\nendpoint_in = "0x82"\n',
     "usb.endpoint_in must be an integer 0…255, got '0x82'"),
    ('transport = "sdk"\n[sdk]\nfamily = "XYZ"\nlibrary = "libx.so"\n',
     "sdk.family must be one of SDT, CVR, got 'XYZ'"),
    ('transport = "hid"\nvid = 1\npid = 2\n[hid]\nstrip_preamble = "yes"\n',
     "hid.strip_preamble must be true or false"),
    ('transport = "usb"\nvid = 1\npid = 2\nquirks = ["sticky"]\n',
     "quirks must be a list of card_must_leave"),
    ('transport = "usb"\nvid = 1\n pid = = 2\n', "broken.toml: not valid TOML"),
])
def test_a_bad_model_file_is_one_line_naming_file_and_key(tmp_path, text, needle):
    (tmp_path / "broken.toml").write_text(text, encoding="utf-8")
    with pytest.raises(ReaderModelError) as info:
        load_models(tmp_path)
    message = str(info.value)
    assert needle in message
    assert "\n" not in message.split(" (native")[0]


def test_unknown_model_name_lists_the_known_ones():
    with pytest.raises(ReaderModelError, match=r"no reader model 'ss999' \(known: .*ss628-100u"):
        load_model("ss999")
