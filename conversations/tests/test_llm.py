"""Optional LLM phrasing against a local server that speaks OpenAI chat-completions."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.test import override_settings

from conversations.assistant.pipeline import run_turn
from conversations.models import LlmUsage
from integrations.ai.llm import guard_answer, phrase_answer, redact_pii

pytestmark = pytest.mark.django_db


class FakeChatServer:
    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.reply = "Shipping costs 25 SAR."
        self.status = 200
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                server.requests.append({"path": self.path, "body": body, "auth": self.headers.get("Authorization")})
                payload = {
                    "id": "chatcmpl-1",
                    "object": "chat.completion",
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": server.reply}}],
                    "usage": {"prompt_tokens": 120, "completion_tokens": 12, "total_tokens": 132},
                }
                data = json.dumps(payload).encode() if server.status == 200 else b'{"error": "boom"}'
                self.send_response(server.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args) -> None:  # noqa: ANN002
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def chat_server():
    server = FakeChatServer()
    with override_settings(
        LLM_ENABLED=True, LLM_BASE_URL=server.url, LLM_MODEL="test-model", LLM_API_KEY="sk-test", LLM_TIMEOUT=2.0
    ):
        yield server
    server.close()


EVIDENCE = ["Shipping costs 25 SAR, and shipping is free for orders above 300 SAR."]


def test_off_by_default_makes_no_call(owner):
    _client, merchant, _user = owner
    assert phrase_answer(merchant=merchant, question="shipping?", evidence=EVIDENCE, language="en") is None


def test_phrases_from_evidence_and_counts_tokens(owner, chat_server):
    _client, merchant, _user = owner
    text = phrase_answer(merchant=merchant, question="how much is shipping", evidence=EVIDENCE, language="en")
    assert text == "Shipping costs 25 SAR."
    request = chat_server.requests[0]
    assert request["path"] == "/v1/chat/completions" and request["auth"] == "Bearer sk-test"
    assert request["body"]["model"] == "test-model" and request["body"]["max_tokens"] == 300
    usage = LlmUsage.objects.get(merchant=merchant)
    assert (usage.prompt_tokens, usage.completion_tokens, usage.calls) == (120, 12, 1)


def test_guard_rejects_invented_numbers_and_urls(owner, chat_server):
    _client, merchant, _user = owner
    chat_server.reply = "Shipping costs 15 SAR and we give you 90% off!"
    assert phrase_answer(merchant=merchant, question="shipping", evidence=EVIDENCE, language="en") is None
    chat_server.reply = "See https://evil.example for details."
    assert phrase_answer(merchant=merchant, question="shipping", evidence=EVIDENCE, language="en") is None


def test_guard_unit_cases():
    assert guard_answer("الشحن 25 ريالاً", ["رسوم الشحن 25 ريالاً"])
    assert guard_answer("الشحن ٢٥ ريالاً", ["رسوم الشحن 25 ريالاً"])  # Arabic-Indic digits are the same number
    assert not guard_answer("الشحن 30 ريالاً", ["رسوم الشحن 25 ريالاً"])
    assert not guard_answer("Try the Royal Oud perfume", ["We ship in 2 days."], product_names=["Royal Oud perfume"])
    assert not guard_answer("", EVIDENCE)


def test_budget_spent_falls_back_without_calling(owner, chat_server):
    _client, merchant, _user = owner
    with override_settings(LLM_MONTHLY_TOKEN_BUDGET=100):
        assert phrase_answer(merchant=merchant, question="q", evidence=EVIDENCE, language="en")  # 132 tokens spent
        assert phrase_answer(merchant=merchant, question="q", evidence=EVIDENCE, language="en") is None
    assert len(chat_server.requests) == 1


def test_provider_error_falls_back(owner, chat_server):
    _client, merchant, _user = owner
    chat_server.status = 500
    assert phrase_answer(merchant=merchant, question="q", evidence=EVIDENCE, language="en") is None


def test_unreachable_provider_falls_back(owner):
    _client, merchant, _user = owner
    with override_settings(LLM_ENABLED=True, LLM_BASE_URL="http://127.0.0.1:9/v1", LLM_MODEL="m", LLM_TIMEOUT=0.5):
        assert phrase_answer(merchant=merchant, question="q", evidence=EVIDENCE, language="en") is None


def test_customer_pii_is_redacted_from_prompts(owner, chat_server):
    _client, merchant, _user = owner
    phrase_answer(
        merchant=merchant,
        question="I'm sara@example.com, call me on +966 55 123 4567 about shipping",
        evidence=EVIDENCE,
        language="en",
    )
    sent = json.dumps(chat_server.requests[0]["body"], ensure_ascii=False)
    assert "sara@example.com" not in sent and "123 4567" not in sent
    assert "[email]" in sent and "[phone]" in sent
    assert redact_pii("IBAN SA0380000000608010167519") == "IBAN [iban]"


def test_pipeline_uses_the_llm_and_keeps_the_citation(store, chat_server):
    chat_server.reply = "رسوم الشحن 25 ريالاً، ومجاني فوق 300 ريال."
    result = run_turn(merchant=store, text="كم رسوم الشحن؟", state={})
    assert result.reply.text.startswith("رسوم الشحن 25 ريالاً، ومجاني فوق 300 ريال.")
    assert "سياسة الشحن" in result.reply.text
    chat_server.reply = "رسوم الشحن 10 ريالات فقط!"  # invented: the extractive answer is used instead
    result = run_turn(merchant=store, text="كم رسوم الشحن؟", state={})
    assert "10 ريالات" not in result.reply.text and "25" in result.reply.text
