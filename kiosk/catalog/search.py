"""Resident search over the catalog, as they type: Chinese, English, full pinyin or initials.

``sbjf`` finds 社保缴费 (initials), ``shebao`` finds 社保 (full pinyin), ``shebaojf`` works too
(syllables may be cut short, as pinyin keyboards allow). Pinyin comes from ``pypinyin`` once,
when the index is built, so catalog entries only carry Chinese names and keywords.

Ranking: exact name > name prefix > name substring > keyword > pinyin/initials > English word;
among equals a popular (``hot``) service first, then catalog order. A keystroke scans
precomputed lowercase strings; when the new text only extends the previous one, only the
previous matches are scanned (every rule here is monotone: a match for ``shebaoj`` is a match
for ``shebao``), keeping typing within the 2 ms budget (``bench/catalog_search_bench.py``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pypinyin import Style, lazy_pinyin

if TYPE_CHECKING:
    from kiosk.catalog.services import Service

_ASCII = re.compile(r"^[a-z0-9' ]+$")
_HAN = re.compile(r"[\u3400-\u9fff]")


@dataclass
class _Pinyin:
    full: str  # "shebaojiaofei"
    initials: str  # "sbjf"
    syllables: list[str]
    starts: frozenset[int]  # offsets in ``full`` where a syllable begins


def _pinyin(text: str) -> _Pinyin | None:
    if not _HAN.search(text):
        return None
    syllables = [s.lower() for s in lazy_pinyin(text, style=Style.NORMAL, errors="ignore") if s.strip()]
    syllables = [re.sub(r"[^a-z0-9]", "", s) for s in syllables]
    syllables = [s for s in syllables if s]
    starts, offset = set(), 0
    for s in syllables:
        starts.add(offset)
        offset += len(s)
    return _Pinyin("".join(syllables), "".join(s[0] for s in syllables), syllables, frozenset(starts))


def _syllable_prefixes(query: str, syllables: list[str], j: int) -> bool:
    """Does ``query`` spell consecutive syllables from ``j``, each possibly cut short?"""
    if not query:
        return True
    if j >= len(syllables):
        return False
    syl = syllables[j]
    for k in range(min(len(syl), len(query)), 0, -1):
        if syl[:k] == query[:k] and _syllable_prefixes(query[k:], syllables, j + 1):
            return True
    return False


@dataclass
class _Entry:
    service: Service
    rank: int
    names: dict[str, str]
    keywords: list[str]
    words_en: list[str]
    pinyins: list[tuple[_Pinyin, int]] = field(default_factory=list)  # (pinyin, field weight)
    letters: frozenset[str] = frozenset()


def _text_score(query: str, text: str, exact: int, prefix: int, contains: int) -> int:
    if text == query:
        return exact
    if text.startswith(query):
        return prefix
    pos = text.find(query)
    return contains - min(pos, 8) if pos > 0 else 0


def _pinyin_score(query: str, py: _Pinyin, weight: int) -> int:
    if py.full.startswith(query):
        return 70 + weight
    if py.initials.startswith(query):
        return 68 + weight
    pos = py.full.find(query)
    while pos > 0:
        if pos in py.starts:
            return 60 + weight
        pos = py.full.find(query, pos + 1)
    if len(query) >= 2 and query in py.initials:
        return 58 + weight
    if any(s[0] == query[0] for s in py.syllables):
        for j, syl in enumerate(py.syllables):
            if syl[0] == query[0] and _syllable_prefixes(query, py.syllables, j):
                return (64 if j == 0 else 55) + weight
    return 0


class SearchIndex:
    """Precomputed search strings for a list of services (catalog order = tie-break order)."""

    def __init__(self, services: list[Service]):
        self._entries: list[_Entry] = []
        self._last: tuple[str, str, list[_Entry]] = ("", "", [])  # (query, lang, its matches)
        # short queries: (query, lang) -> (matches, ranked services)
        self._recent: dict[tuple[str, str], tuple[list[_Entry], list[Service]]] = {}
        for rank, service in enumerate(services):
            names = {lang: text.lower() for lang, text in service.names.items()}
            keywords = [k.lower() for k in service.keywords]
            entry = _Entry(service, rank, names, keywords,
                           re.findall(r"[a-z0-9]+", names.get("en", "")))
            for text, weight in [(service.names.get("zh_CN", ""), 3)] + [(k, 0) for k in service.keywords]:
                py = _pinyin(text)
                if py:
                    entry.pinyins.append((py, weight))
            entry.letters = frozenset("".join(p.full for p, _ in entry.pinyins))
            self._entries.append(entry)

    def score(self, entry: _Entry, query: str, lang: str) -> int:
        best = 0
        for name_lang, name in entry.names.items():
            s = _text_score(query, name, 100, 90, 80)
            if s and name_lang == lang:
                s += 1
            best = max(best, s)
        if best >= 90:
            return best
        for keyword in entry.keywords:
            best = max(best, _text_score(query, keyword, 85, 75, 65))
        if best or not _ASCII.match(query):
            return best
        compact = query.replace(" ", "").replace("'", "")
        if compact and set(compact) <= entry.letters | set("0123456789"):
            for py, weight in entry.pinyins:
                best = max(best, _pinyin_score(compact, py, weight))
        words = query.split()
        if words and all(any(w.startswith(q) for w in entry.words_en) for q in words):
            best = max(best, 62 if lang == "en" else 52)
        return best

    def search(self, text: str, lang: str = "zh_CN", limit: int = 20) -> list[Service]:
        """Best matches first; an empty query matches nothing (the home screen shows tiles)."""
        query = " ".join(text.lower().split())
        if not query:
            return []
        cached = self._recent.get((query, lang))
        if cached is not None:  # first keystrokes repeat from visit to visit: the costliest scans
            self._last = (query, lang, cached[0])
            return cached[1][:limit]
        last_query, last_lang, last_matches = self._last
        narrowing = last_query and lang == last_lang and query.startswith(last_query)
        scored = []
        matches = []
        for entry in last_matches if narrowing else self._entries:
            s = self.score(entry, query, lang)
            if s:
                matches.append(entry)
                scored.append((-(s + (2 if entry.service.hot else 0)), entry.rank, entry.service))
        self._last = (query, lang, matches)
        scored.sort(key=lambda t: (t[0], t[1]))
        ranked = [service for _, _, service in scored]
        if len(query) <= 2 and len(self._recent) < 4096:
            self._recent[(query, lang)] = (matches, ranked)
        return ranked[:limit]
