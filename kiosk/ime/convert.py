"""Simplified → Traditional (Hong Kong) conversion of candidates, through ``libopencc`` (ctypes).

The handwriting model and the pinyin list are Simplified; a zh_HK screen shows the resident
Traditional candidates as written in Hong Kong (``s2hk``: 发 → 發, 里 → 裏). Why ctypes:
Debian ships libopencc and its dictionaries, and the C API is four calls.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import threading
from pathlib import Path

from kiosk.ime.errors import ImeUnavailable

OPENCC_DIR = Path("/usr/share/opencc")
LIBRARY = "libopencc.so.1.1"
# Which OpenCC configuration turns Simplified text into each screen language's script.
CONFIG_FOR = {"zh_HK": "s2hk.json"}


class ScriptConverter:
    """One OpenCC conversion (e.g. ``s2hk.json``); safe to share between threads."""

    def __init__(self, config: str, directory: Path = OPENCC_DIR):
        path = directory / config
        if not path.is_file():
            raise ImeUnavailable("libopencc", f"{path} not found (apt package libopencc-data)")
        name = ctypes.util.find_library("opencc") or LIBRARY
        try:
            lib = ctypes.CDLL(name)
        except OSError as exc:
            raise ImeUnavailable("libopencc", str(exc)) from exc
        lib.opencc_open.argtypes = [ctypes.c_char_p]
        lib.opencc_open.restype = ctypes.c_void_p
        lib.opencc_convert_utf8.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t]
        lib.opencc_convert_utf8.restype = ctypes.POINTER(ctypes.c_char)
        lib.opencc_convert_utf8_free.argtypes = [ctypes.POINTER(ctypes.c_char)]
        lib.opencc_convert_utf8_free.restype = None
        lib.opencc_close.argtypes = [ctypes.c_void_p]
        lib.opencc_close.restype = ctypes.c_int
        lib.opencc_error.argtypes = []
        lib.opencc_error.restype = ctypes.c_char_p
        handle = lib.opencc_open(str(path).encode())
        if handle is None or handle == ctypes.c_void_p(-1).value:
            reason = (lib.opencc_error() or b"").decode(errors="replace")
            raise ImeUnavailable("libopencc", f"{path}: {reason or 'cannot open'}")
        self._lib = lib
        self._handle: int | None = handle
        self._lock = threading.Lock()
        self.config = config

    def convert(self, text: str) -> str:
        """``text`` in the target script; empty stays empty."""
        if not text:
            return text
        data = text.encode("utf-8")
        with self._lock:
            if self._handle is None:
                raise ImeUnavailable("libopencc", "converter is closed")
            out = self._lib.opencc_convert_utf8(self._handle, data, len(data))
            if not out:
                reason = (self._lib.opencc_error() or b"").decode(errors="replace")
                raise ImeUnavailable("libopencc", reason or "conversion failed")
            try:
                return ctypes.string_at(out).decode("utf-8")
            finally:
                self._lib.opencc_convert_utf8_free(out)

    def close(self) -> None:
        with self._lock:
            if self._handle is not None:
                self._lib.opencc_close(self._handle)
                self._handle = None


_converters: dict[str, ScriptConverter] = {}
_lock = threading.Lock()


def to_script(text: str, lang: str) -> str:
    """``text`` (Simplified) as the screen language ``lang`` writes it: Traditional (HK) for
    zh_HK, unchanged otherwise. Raises :class:`ImeUnavailable` when OpenCC is missing."""
    config = CONFIG_FOR.get(lang)
    if config is None or not text:
        return text
    with _lock:
        converter = _converters.get(config)
        if converter is None:
            converter = _converters[config] = ScriptConverter(config)
    return converter.convert(text)
