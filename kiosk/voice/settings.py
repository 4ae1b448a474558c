"""Voice settings per screen language, read from ``config/voice.toml``.

The voices, speaking rates and the slower senior-mode rates are data so that a technician
or a fleet update can tune them without a software release. Every value is checked at load
time: a bad file is a :class:`VoiceConfigError` naming the key, not a silent espeak failure.
"""

from __future__ import annotations

import re
import subprocess
import tomllib
from dataclasses import dataclass
from pathlib import Path

from kiosk.paths import CONFIG_DIR

VOICE_CONFIG = CONFIG_DIR / "voice.toml"
ESPEAK = "espeak-ng"

# A voice name goes onto espeak-ng's command line: letters, digits, "-", "_", "/", "+" only,
# and never a leading "-" (it would be read as an option).
_VOICE_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_/+-]*$")
_RANGES = {
    "rate": (80, 450),
    "slow_rate": (80, 450),
    "gap": (0, 100),
    "slow_gap": (0, 100),
    "pitch": (0, 99),
    "volume": (0, 200),
}


class VoiceError(Exception):
    """Base of everything voice guidance raises."""


class VoiceConfigError(VoiceError):
    """``config/voice.toml`` is missing, unreadable or holds a bad value (``key`` names it)."""

    def __init__(self, message: str, *, path: Path, key: str = "", cause: Exception | None = None):
        super().__init__(f"{path}: {key + ': ' if key else ''}{message}")
        self.path = path
        self.key = key
        self.cause = cause


class UnknownVoiceLanguage(VoiceError, ValueError):
    """The app asked to speak a language no voice is configured for (a bug the tests catch)."""

    def __init__(self, lang: str, known: tuple[str, ...]):
        super().__init__(f"no voice for language {lang!r}; configured: {', '.join(known)}")
        self.lang = lang


@dataclass(frozen=True)
class VoiceProfile:
    """How one screen language is spoken."""

    lang: str
    voice: str
    rate: int
    slow_rate: int
    gap: int
    slow_gap: int
    pitch: int
    volume: int

    def espeak_args(self, *, slow: bool) -> list[str]:
        """espeak-ng options for this language; senior mode (``slow``) is slower with longer gaps."""
        return [
            "-v", self.voice,
            "-s", str(self.slow_rate if slow else self.rate),
            "-g", str(self.slow_gap if slow else self.gap),
            "-p", str(self.pitch),
            "-a", str(self.volume),
        ]  # fmt: skip


@dataclass(frozen=True)
class VoiceSettings:
    profiles: dict[str, VoiceProfile]
    aliases: dict[str, str]

    @property
    def languages(self) -> tuple[str, ...]:
        return tuple(self.profiles)

    def profile(self, lang: str) -> VoiceProfile:
        """The profile for an app language (``zh_CN``) or one of its aliases (``cmn``, ``yue``)."""
        key = lang if lang in self.profiles else self.aliases.get(lang)
        if key is None:
            key = self.aliases.get(lang.lower().replace("-", "_"))
        if key is None:
            raise UnknownVoiceLanguage(lang, self.languages)
        return self.profiles[key]


# espeak-ng's own defaults, for keys neither the language nor [defaults] sets.
_BUILTIN = {"gap": 0, "slow_gap": 0, "pitch": 50, "volume": 100}


def _int(table: dict, name: str, fallback: dict, path: Path, where: str) -> int:
    value = table.get(name, fallback.get(name, _BUILTIN.get(name)))
    key = f"{where}.{name}"
    if value is None:
        raise VoiceConfigError("missing", path=path, key=key)
    if not isinstance(value, int) or isinstance(value, bool):
        raise VoiceConfigError(f"must be a whole number, not {value!r}", path=path, key=key)
    low, high = _RANGES[name]
    if not low <= value <= high:
        raise VoiceConfigError(f"{value} is outside {low}..{high}", path=path, key=key)
    return value


def load_voice_settings(path: Path = VOICE_CONFIG) -> VoiceSettings:
    """Read and validate the voice file; raises :class:`VoiceConfigError` with the bad key."""
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except OSError as exc:
        raise VoiceConfigError(exc.strerror or "unreadable", path=path, cause=exc) from exc
    except tomllib.TOMLDecodeError as exc:
        raise VoiceConfigError(str(exc), path=path, cause=exc) from exc
    defaults = data.get("defaults", {})
    languages = data.get("languages")
    if not isinstance(defaults, dict):
        raise VoiceConfigError("must be a table", path=path, key="defaults")
    if not isinstance(languages, dict) or not languages:
        raise VoiceConfigError(
            "needs at least one [languages.<lang>] table", path=path, key="languages"
        )
    profiles: dict[str, VoiceProfile] = {}
    aliases: dict[str, str] = {}
    for lang, table in languages.items():
        where = f"languages.{lang}"
        if not isinstance(table, dict):
            raise VoiceConfigError("must be a table", path=path, key=where)
        voice = table.get("voice")
        if not isinstance(voice, str) or not _VOICE_NAME_RE.match(voice):
            raise VoiceConfigError(
                f"not an espeak-ng voice name: {voice!r}", path=path, key=f"{where}.voice"
            )
        values = {name: _int(table, name, defaults, path, where) for name in _RANGES}
        if values["slow_rate"] >= values["rate"]:
            raise VoiceConfigError(
                "senior mode must be slower than rate", path=path, key=f"{where}.slow_rate"
            )
        profiles[lang] = VoiceProfile(lang=lang, voice=voice, **values)
        names = table.get("aliases", [])
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise VoiceConfigError("must be a list of strings", path=path, key=f"{where}.aliases")
        for alias in names:
            if aliases.get(alias, lang) != lang or (alias in languages and alias != lang):
                raise VoiceConfigError(
                    f"alias {alias!r} is used twice", path=path, key=f"{where}.aliases"
                )
            aliases[alias] = lang
            aliases.setdefault(alias.lower().replace("-", "_"), lang)
    return VoiceSettings(profiles=profiles, aliases=aliases)


def installed_voices(espeak: str = ESPEAK) -> set[str]:
    """Voice and language names this machine's espeak-ng accepts for ``-v`` (for the doctor)."""
    try:
        listing = subprocess.run(
            [espeak, "--voices"], capture_output=True, text=True, timeout=10, check=True
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return set()
    names: set[str] = set()
    for line in listing.splitlines()[1:]:
        fields = line.split()
        if len(fields) >= 5:
            names.add(fields[1].lower())  # language, e.g. cmn-latn-pinyin
            names.add(fields[4].lower())  # voice file, e.g. sit/cmn-Latn-pinyin
    return names


def missing_voices(settings: VoiceSettings, espeak: str = ESPEAK) -> dict[str, str]:
    """Configured languages whose voice this machine's espeak-ng lacks: ``{lang: voice}``."""
    have = installed_voices(espeak)
    return {p.lang: p.voice for p in settings.profiles.values() if p.voice.lower() not in have}
