"""What the kiosk says aloud on each screen: the sentence a resident most needs there.

Qt-free: ``spoken_text(flow, t)`` reads the flow's state; the app hands the sentence to
:class:`kiosk.voice.Voice`, which interrupts whatever it was saying.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kiosk.i18n import Translator
from kiosk.visit.flow import Flow, Step

if TYPE_CHECKING:
    from kiosk.visit.service_result import ServiceResult

_KEYS = {
    Step.ATTRACT: ("attract.subtitle",),
    Step.HOME: ("home.title",),
    Step.PIN: ("pin.title", "pin.hint"),
    Step.FACE: ("face.title",),
    Step.PROCESSING: ("processing.title",),
    Step.PRINTING: ("printing.title", "printing.hint"),
    Step.TAKE_DOCUMENTS: ("take.title", "take.hint"),
    Step.RATING: ("rating.title",),
    Step.GOODBYE: ("goodbye.title", "goodbye.hint"),
    Step.OUT_OF_SERVICE: ("out_of_service.title", "out_of_service.hint"),
    Step.HELP: ("help.title", "help.text"),
    Step.SEARCH: ("search.title", "search.hint"),
}


def spoken_text(flow: Flow, t: Translator, lang: str | None = None) -> str:
    """The sentence for the flow's current state ("" when there is nothing to say), in
    ``lang`` (default: the screen's; ``t`` must speak it too): English speech chosen on a
    Chinese screen reads English sentences and the services' English names."""
    lang = lang or flow.language
    if flow.countdown_remaining is not None:
        return " ".join((t.t("timeout.title"),
                         t.t("timeout.text", seconds=max(1, round(flow.countdown_remaining)))))
    step, service = flow.step, flow.service
    if step is Step.INTRO and service is not None:
        need = service.what_you_need.get(lang) or service.what_you_need.get("zh_CN", "")
        return f"{service.name(lang)}。{t.t('intro.what_you_need')}：{need}"
    if step is Step.PLACE_CARD:
        ss = flow.auth == "ss_card+pin"
        parts = [t.t("place_card.title_ss" if ss else "place_card.title")]
        if flow.card_problem:
            parts.append(t.t(flow.card_problem))
        return " ".join(parts)
    if step is Step.PIN and flow.pin_problem:
        key, values = flow.pin_problem
        return t.t(key, **values)
    if step is Step.FACE and flow.face_problem:
        return t.t(flow.face_problem)
    if step is Step.INPUTS and service is not None and service.inputs:
        return service.inputs[0].label(lang)
    if step is Step.RESULT and flow.result is not None:
        return _summary(flow.result, lang)
    if step is Step.TAKE_DOCUMENTS and flow.take_reminders and flow.waiting_to_be_taken:
        return t.t(f"take.{flow.waiting_to_be_taken}_still_there")
    if step is Step.ATTRACT and flow.left_kind:
        return t.t(f"attract.{flow.left_kind}_left")
    if step is Step.ERROR:
        return t.t(flow.error_key or "central.error")
    return " ".join(t.t(k) for k in _KEYS.get(step, ()))


def _summary(result: ServiceResult, lang: str) -> str:
    try:
        return result.summary(lang)
    except Exception:  # a summary must never break the screen it belongs to
        return ""
