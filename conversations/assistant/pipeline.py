"""Assistant pipeline (being built): placeholder that answers honestly until the full pipeline lands."""

import time
from dataclasses import dataclass, field
from typing import Any

from conversations.services import Reply


@dataclass
class TurnResult:
    reply: Reply
    intent: str
    confidence: float
    language: str
    state: dict
    handoff: bool = False
    handoff_reason: str = ""
    evidence: list[dict] = field(default_factory=list)
    latency_ms: float = 0.0
    gap_reason: str = ""
    normalized: str = ""


def wants_bot_back(text: str) -> bool:
    return False


def run_turn(
    *, merchant: Any, text: str, state: dict, language_hint: str = "", has_attachments: bool = False
) -> TurnResult:
    started = time.perf_counter()
    return TurnResult(
        reply=Reply(text="شكراً لرسالتك، سيتواصل معك فريقنا قريباً."),
        intent="other",
        confidence=0.0,
        language=language_hint or "ar",
        state=dict(state),
        latency_ms=(time.perf_counter() - started) * 1000,
    )
