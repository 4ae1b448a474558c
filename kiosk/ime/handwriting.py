"""Handwriting recognition through ``libzinnia`` (ctypes) with Debian's tegaki model.

Why ctypes: Debian ships zinnia's C library and the trained Simplified Chinese model
(``tegaki-zinnia-simplified-chinese``) but no Python 3 binding; the C API is nine calls.
A :class:`Recognizer` is opened once and is safe to share: every call holds its lock, because
zinnia's recognizer is not documented as thread-safe.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import threading
from collections.abc import Sequence
from pathlib import Path

from kiosk.ime.errors import ImeError, ImeUnavailable

MODEL = Path("/usr/share/tegaki/models/zinnia/handwriting-zh_CN.model")
LIBRARY = "libzinnia.so.0"
CANVAS = 1000  # the tegaki models were trained on a 1000 × 1000 canvas

# One stroke is the finger's path from touch to lift, as (x, y) points on the pad.
Stroke = Sequence[tuple[float, float]]


class BadStrokes(ImeError, ValueError):
    """Strokes that cannot be a character: an empty stroke, or a pad of no size."""


_lib: ctypes.CDLL | None = None
_lib_lock = threading.Lock()


def _load() -> ctypes.CDLL:
    global _lib
    with _lib_lock:
        if _lib is not None:
            return _lib
        name = ctypes.util.find_library("zinnia") or LIBRARY
        try:
            lib = ctypes.CDLL(name)
        except OSError as exc:
            try:
                lib = ctypes.CDLL(LIBRARY)
            except OSError:
                raise ImeUnavailable("libzinnia", str(exc)) from exc
        vp, sz = ctypes.c_void_p, ctypes.c_size_t
        for fn, args, res in (
            ("zinnia_recognizer_new", [], vp),
            ("zinnia_recognizer_destroy", [vp], None),
            ("zinnia_recognizer_open", [vp, ctypes.c_char_p], ctypes.c_int),
            ("zinnia_recognizer_strerror", [vp], ctypes.c_char_p),
            ("zinnia_recognizer_classify", [vp, vp, sz], vp),
            ("zinnia_character_new", [], vp),
            ("zinnia_character_destroy", [vp], None),
            ("zinnia_character_set_width", [vp, sz], None),
            ("zinnia_character_set_height", [vp, sz], None),
            ("zinnia_character_add", [vp, sz, ctypes.c_int, ctypes.c_int], ctypes.c_int),
            ("zinnia_result_value", [vp, sz], ctypes.c_char_p),
            ("zinnia_result_score", [vp, sz], ctypes.c_float),
            ("zinnia_result_size", [vp], sz),
            ("zinnia_result_destroy", [vp], None),
        ):
            func = getattr(lib, fn)
            func.argtypes = args
            func.restype = res
        _lib = lib
        return lib


class Recognizer:
    """Ranked character candidates for the strokes a resident drew."""

    def __init__(self, model: Path = MODEL):
        if not model.is_file():
            raise ImeUnavailable("handwriting model", f"{model} not found")
        self._z = _load()
        self._lock = threading.Lock()
        self._handle: int | None = self._z.zinnia_recognizer_new()
        if not self._z.zinnia_recognizer_open(self._handle, str(model).encode()):
            reason = (self._z.zinnia_recognizer_strerror(self._handle) or b"").decode(
                errors="replace")
            self._z.zinnia_recognizer_destroy(self._handle)
            self._handle = None
            raise ImeUnavailable("handwriting model", f"{model}: {reason or 'cannot open'}")
        self.model = model

    def candidates(self, strokes: Sequence[Stroke], size: tuple[float, float],
                   limit: int = 10) -> list[str]:
        """Up to ``limit`` characters, likeliest first, for strokes drawn on a pad of ``size``
        (width, height). No strokes: no candidates. Raises :class:`BadStrokes`."""
        strokes = [s for s in strokes if len(s) > 0]
        if not strokes:
            return []
        width, height = size
        if width <= 0 or height <= 0:
            raise BadStrokes(f"pad size {size!r} has no area")
        # Scale the longer side to the model's canvas, keeping the aspect the resident saw.
        scale = CANVAS / max(width, height)
        with self._lock:
            if self._handle is None:
                raise ImeError("recognizer is closed")
            z = self._z
            char = z.zinnia_character_new()
            try:
                z.zinnia_character_set_width(char, CANVAS)
                z.zinnia_character_set_height(char, CANVAS)
                for index, stroke in enumerate(strokes):
                    for x, y in stroke:
                        px = min(max(int(x * scale), 0), CANVAS)
                        py = min(max(int(y * scale), 0), CANVAS)
                        z.zinnia_character_add(char, index, px, py)
                result = z.zinnia_recognizer_classify(self._handle, char, max(1, limit))
                if not result:
                    return []
                try:
                    count = z.zinnia_result_size(result)
                    return [z.zinnia_result_value(result, i).decode("utf-8")
                            for i in range(count)]
                finally:
                    z.zinnia_result_destroy(result)
            finally:
                z.zinnia_character_destroy(char)

    def close(self) -> None:
        with self._lock:
            if self._handle is not None:
                self._z.zinnia_recognizer_destroy(self._handle)
                self._handle = None

    def __enter__(self) -> Recognizer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_shared: Recognizer | None = None
_shared_lock = threading.Lock()


def shared_recognizer() -> Recognizer:
    """The one recognizer the pads share (the model is ~10 MB: opened once, on first use)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = Recognizer()
        return _shared
