"""Evaluation of the assistant on a JSONL set of cases (see docs/quality.md for the format).

Each case: {"id", "fixture": merchant slug, "turns": [customer messages], "lang", "split": "dev"|"holdout",
"tags": [...], "expect": {"intent"?, "products"? [SKUs expected in the top 5], "policy"? ("returns" —
a policy kind — or "faq:<topic>"), "handoff"? bool, "answerable"? bool}}. Expectations apply to the
last turn. The assistant runs exactly as in production (`run_turn`), state carried across turns."""

import json
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conversations.assistant.pipeline import TurnResult, run_turn


@dataclass
class CaseResult:
    case: dict
    result: TurnResult
    latencies: list[float]
    skus: list[str]
    handoff: bool
    intent_ok: bool | None = None
    answered: bool = False
    policy_ok: bool | None = None
    recall: float | None = None
    invented: bool = False
    failures: list[str] = field(default_factory=list)


def load_cases(path: str | Path) -> list[dict]:
    cases = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            case = json.loads(line)
            if "turns" not in case:
                case["turns"] = [case.get("text", "")]
            case.setdefault("id", f"line-{number}")
            case.setdefault("expect", {})
            case.setdefault("split", "dev")
            cases.append(case)
    return cases


def _source_matches(expected: str, source: dict | None, faq_keys: dict[str, str]) -> bool:
    if not source:
        return False
    if expected.startswith("faq:"):
        return (
            source.get("kind") == "faq"
            and faq_keys.get(source.get("id", ""), "").startswith(f"demo:faq:{expected[4:]}:")
            or faq_keys.get(source.get("id", ""), "") == expected
        )
    return source.get("kind") == "policy" and source.get("policy_kind") == expected


def evaluate_case(case: dict, *, merchant: Any, sku_by_id: dict[str, str], faq_keys: dict[str, str]) -> CaseResult:
    state: dict = {}
    latencies = []
    handoff = False
    result = None
    for text in case["turns"]:
        result = run_turn(merchant=merchant, text=text, state=state)
        state = result.state
        latencies.append(result.latency_ms)
        handoff = handoff or result.handoff
        if result.handoff:
            break
    assert result is not None
    skus = [sku_by_id.get(pid, pid) for pid in result.product_ids]
    out = CaseResult(case=case, result=result, latencies=latencies, skus=skus, handoff=handoff)
    expect = case["expect"]
    out.answered = result.outcome == "answered"
    if "intent" in expect:
        out.intent_ok = result.intent == expect["intent"]
        if not out.intent_ok:
            out.failures.append(f"intent {result.intent} != {expect['intent']}")
    if expect.get("products"):
        expected = expect["products"]
        top = set(skus[:5])
        out.recall = sum(1 for sku in expected if sku in top) / len(expected)
        if out.recall < 1:
            out.failures.append(f"recall {out.recall:.2f} top5={skus[:5]}")
    if expect.get("policy"):
        out.policy_ok = out.answered and _source_matches(expect["policy"], result.source, faq_keys)
        if not out.policy_ok:
            out.failures.append(f"policy {result.source} != {expect['policy']} (outcome {result.outcome})")
    if expect.get("answerable") is False:
        # An invented fact = an answer backed by "evidence" to a question the store's data cannot answer.
        out.invented = out.answered and bool(result.source or result.product_ids)
        if out.invented:
            out.failures.append("answered an unanswerable question")
    # A hand-off is wrong when one was expected and did not happen, or when it happened on a question
    # the assistant should have answered (handing off an unanswerable question is a correct outcome).
    if expect.get("handoff") and not handoff:
        out.failures.append("expected a hand-off")
    elif handoff and not expect.get("handoff") and expect.get("answerable", True) is not False:
        out.failures.append("handed off an answerable question")
    return out


def _pct(values: list[bool]) -> float | None:
    return round(100.0 * sum(values) / len(values), 1) if values else None


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return round(ordered[index], 2)


def summarise(results: list[CaseResult]) -> dict[str, Any]:
    intents = [r.intent_ok for r in results if r.intent_ok is not None]
    answerable = [
        r
        for r in results
        if r.case["expect"].get("answerable", True) is not False
        and (r.case["expect"].get("policy") or r.case["expect"].get("products"))
    ]
    policy_cases = [r for r in results if r.case["expect"].get("policy")]
    policy_answered = [r for r in policy_cases if r.answered]
    unanswerable = [r for r in results if r.case["expect"].get("answerable") is False]
    product_cases = [r for r in results if r.recall is not None]
    predicted_handoff = [r for r in results if r.handoff]
    expected_handoff = [r for r in results if r.case["expect"].get("handoff")]
    latencies = [ms for r in results for ms in r.latencies]
    per_intent: dict[str, list[bool]] = defaultdict(list)
    for r in results:
        if r.intent_ok is not None:
            per_intent[r.case["expect"]["intent"]].append(bool(r.intent_ok))
    return {
        "cases": len(results),
        "intent_accuracy": _pct(intents),
        "answer_coverage": _pct([r.answered for r in answerable]),
        "policy_accuracy": _pct([bool(r.policy_ok) for r in policy_answered]),
        "policy_accuracy_strict": _pct([bool(r.policy_ok) for r in policy_cases]),
        "invented_facts": sum(1 for r in unanswerable if r.invented),
        "unanswerable_cases": len(unanswerable),
        "product_recall_at_5": round(100.0 * statistics.mean(r.recall for r in product_cases), 1)
        if product_cases
        else None,
        "handoff_precision": _pct(
            [
                bool(r.case["expect"].get("handoff")) or r.case["expect"].get("answerable") is False
                for r in predicted_handoff
            ]
        ),
        "handoff_recall": _pct([r.handoff for r in expected_handoff]),
        "turn_latency_ms_p50": _percentile(latencies, 0.5),
        "turn_latency_ms_p95": _percentile(latencies, 0.95),
        "turns": len(latencies),
        "per_intent_accuracy": {k: _pct(v) for k, v in sorted(per_intent.items())},
    }


def run_eval(cases: list[dict], *, merchants: dict[str, Any], warmup: bool = True) -> dict[str, Any]:
    from catalog.models import Product
    from merchants.knowledge.models import Faq

    lookups = {}
    for slug, merchant in merchants.items():
        lookups[slug] = (
            {str(pid): sku for pid, sku in Product.objects.for_merchant(merchant).values_list("id", "sku")},
            {str(fid): key for fid, key in Faq.objects.for_merchant(merchant).values_list("id", "key")},
        )
    if warmup:  # load models and indexes once so latency measures the steady state
        for merchant in merchants.values():
            for text in ("مرحبا", "عندكم عبايات؟", "كم رسوم الشحن؟"):
                run_turn(merchant=merchant, text=text, state={})
    results = []
    for case in cases:
        slug = case.get("fixture", "demo-fashion")
        sku_by_id, faq_keys = lookups[slug]
        results.append(evaluate_case(case, merchant=merchants[slug], sku_by_id=sku_by_id, faq_keys=faq_keys))
    report = {"all": summarise(results)}
    for split in sorted({r.case["split"] for r in results}):
        report[split] = summarise([r for r in results if r.case["split"] == split])
    slowest = sorted(((max(r.latencies), r.case["id"]) for r in results), reverse=True)[:10]
    report["slowest_cases"] = [{"id": case_id, "ms": ms} for ms, case_id in slowest]
    report["failures"] = [
        {"id": r.case["id"], "split": r.case["split"], "turns": r.case["turns"], "problems": r.failures}
        for r in results
        if r.failures
    ]
    return report
