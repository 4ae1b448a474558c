"""The card photo: 1024 WLT-compressed bytes, decoded only by a vendor's licensed library.

No open decoder exists, so a terminal may or may not have one (``libwlt2bmp.so`` and kin,
loaded with ctypes from the reader URI's ``wlt=`` path). Reading a card never depends on it:
the identity keeps ``photo_wlt``; :meth:`PhotoDecoder.decode` gives a 102×126 BMP when a
decoder is configured and works, else ``None`` with :attr:`PhotoDecoder.state` saying why.
"""

from __future__ import annotations

import ctypes
import logging

log = logging.getLogger(__name__)

BMP_SIZE = 38862  # 54-byte header + 126 rows of 102 BGR pixels padded to 308 bytes
WLT_SIZE = 1024
_UNPACK_SAVE_NONE = 0  # iIsSave: return the bitmap, write no file


class PhotoDecoder:
    """ctypes binding of a WLT decoder's ``int unpack(char *wlt, char *bmp, int save)``."""

    def __init__(self, library: str | None) -> None:
        self.library = library or ""
        self._lib: ctypes.CDLL | None = None
        self._failed: str | None = None

    @property
    def state(self) -> str:
        """One line for doctor: which decoder, or plainly that there is none."""
        if not self.library:
            return "no WLT photo decoder configured (photos are kept undecoded)"
        if self._failed:
            return f"WLT photo decoder {self.library} unusable: {self._failed}"
        return f"WLT photo decoder {self.library}"

    def _load(self) -> ctypes.CDLL | None:
        if self._lib is None and self.library and self._failed is None:
            try:
                lib = ctypes.CDLL(self.library)
                lib.unpack.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_int]
                lib.unpack.restype = ctypes.c_int
            except (OSError, AttributeError) as exc:
                self._failed = str(exc)
                log.warning("WLT photo decoder %s unusable: %s", self.library, exc)
                return None
            self._lib = lib
        return self._lib

    def check(self) -> bool:
        """Load the decoder now (for doctor); True when one is configured and loads."""
        return self._load() is not None

    def decode(self, photo_wlt: bytes | None) -> bytes | None:
        """The photo as a BMP, or None (no decoder, a decoder error, no photo): never raises."""
        if not photo_wlt or len(photo_wlt) != WLT_SIZE:
            return None
        lib = self._load()
        if lib is None:
            return None
        out = ctypes.create_string_buffer(BMP_SIZE)
        code = lib.unpack(photo_wlt, out, _UNPACK_SAVE_NONE)
        if code != 1:
            log.warning("WLT photo decoder %s refused a photo (code %d)", self.library, code)
            return None
        return out.raw
