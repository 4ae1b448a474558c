"""The steps of a resident's visit and the timings that belong to them (shared by the flow
and its gates)."""

from __future__ import annotations

import enum


class Step(enum.StrEnum):
    ATTRACT = "attract"
    HOME = "home"
    SEARCH = "search"
    HELP = "help"
    INTRO = "intro"
    PLACE_CARD = "place_card"
    PIN = "pin"
    FACE = "face"
    INPUTS = "inputs"
    PROCESSING = "processing"
    RESULT = "result"
    PRINTING = "printing"
    TAKE_DOCUMENTS = "take_documents"
    RATING = "rating"
    GOODBYE = "goodbye"
    ERROR = "error"
    OUT_OF_SERVICE = "out_of_service"


# Steps where the kiosk, not the resident, is working: no idle countdown there.
_BUSY_STEPS = {Step.ATTRACT, Step.PROCESSING, Step.PRINTING, Step.OUT_OF_SERVICE}
# Steps where a removed card means the resident walked away mid-visit.
_CARD_NEEDED_STEPS = {Step.PLACE_CARD, Step.PIN, Step.FACE, Step.INPUTS, Step.PROCESSING,
                      Step.RESULT}
FACE_ATTEMPTS = 3
GOODBYE_SECONDS = 4.0
RATING_LEVELS = ("very_satisfied", "satisfied", "neutral", "dissatisfied", "very_dissatisfied")
