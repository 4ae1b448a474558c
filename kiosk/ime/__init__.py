"""Chinese text entry without Qt: handwriting recognition (zinnia), pinyin candidates, and
Simplified → Traditional conversion for zh_HK (OpenCC). The pads in ``screens/`` draw; this
package decides which characters a resident meant."""

from kiosk.ime.convert import ScriptConverter, to_script
from kiosk.ime.errors import ImeError, ImeUnavailable
from kiosk.ime.handwriting import Recognizer, Stroke
from kiosk.ime.pinyin import PinyinDictionary, split_syllables

__all__ = [
    "ImeError",
    "ImeUnavailable",
    "PinyinDictionary",
    "Recognizer",
    "ScriptConverter",
    "Stroke",
    "split_syllables",
    "to_script",
]
