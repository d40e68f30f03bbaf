"""Settings → AI model and budget: per-store LLM choice (off / platform / own OpenAI-compatible
endpoint, key encrypted, SSRF-guarded) and monthly budget, used by the assistant. The provider is a
local server speaking chat-completions (conversations/tests/test_llm.py)."""

import pytest
from django.db.models import TextField
from django.db.models.functions import Cast
from django.test import override_settings

from conversations.models import LlmUsage
from conversations.tests.test_llm import EVIDENCE, FakeChatServer
from integrations.ai.llm import phrase_answer
from integrations.models import StoreLlmSettings
from kaleem.testing.factories import MerchantFactory
from merchants.tests.dashboard_helpers import page_client

pytestmark = pytest.mark.django_db
URL = "/dashboard/settings/ai/"


@pytest.fixture
def own_server():
    server = FakeChatServer()
    yield server
    server.close()


@pytest.fixture
def platform_server():
    server = FakeChatServer()
    with override_settings(
        LLM_ENABLED=True, LLM_BASE_URL=server.url, LLM_MODEL="platform-model", LLM_API_KEY="sk-platform"
    ):
        yield server
    server.close()


def _custom(server, **overrides):
    data = {"mode": "custom", "base_url": server.url, "model": "store-model", "api_key": "sk-store-secret"}
    data.update(overrides)
    return data


def test_admin_sets_own_endpoint_and_the_assistant_uses_it(own_server, platform_server):
    client, merchant, _user = page_client("admin")
    html = client.get(URL).content.decode()
    assert "platform-model" in html and 'name="mode"' in html
    r = client.post(URL, _custom(own_server, monthly_token_budget="5000"))
    assert r.status_code == 302
    row = StoreLlmSettings.objects.get(merchant=merchant)
    assert (row.mode, row.model, row.monthly_token_budget) == ("custom", "store-model", 5000)
    raw = StoreLlmSettings.objects.filter(pk=row.pk).annotate(raw=Cast("api_key", TextField())).get().raw
    assert raw and "sk-store-secret" not in raw  # encrypted at rest
    assert phrase_answer(merchant=merchant, question="shipping?", evidence=EVIDENCE, language="en")
    assert len(own_server.requests) == 1 and platform_server.requests == []
    sent = own_server.requests[0]
    assert sent["auth"] == "Bearer sk-store-secret" and sent["body"]["model"] == "store-model"
    page = client.get(URL).content.decode()
    assert "sk-store-secret" not in page and "A key is saved" in page
    assert "Tokens used this month: 132 of 5,000." in page
    # another store still gets the platform's model
    other = MerchantFactory()
    assert phrase_answer(merchant=other, question="shipping?", evidence=EVIDENCE, language="en")
    assert platform_server.requests[0]["auth"] == "Bearer sk-platform"
    # saving again without the key keeps it
    client.post(URL, _custom(own_server, api_key="", model="store-model-2"))
    row.refresh_from_db()
    assert row.api_key == "sk-store-secret" and row.model == "store-model-2"


def test_off_means_no_model_even_when_the_platform_has_one(platform_server):
    client, merchant, _user = page_client("owner")
    assert client.post(URL, {"mode": "off"}).status_code == 302
    assert phrase_answer(merchant=merchant, question="q", evidence=EVIDENCE, language="en") is None
    assert platform_server.requests == []
    assert "without a language model" in client.get(URL).content.decode()


def test_store_budget_is_enforced_per_store(platform_server):
    client, merchant, _user = page_client("admin")
    assert client.post(URL, {"mode": "platform", "monthly_token_budget": "100"}).status_code == 302
    assert phrase_answer(merchant=merchant, question="q", evidence=EVIDENCE, language="en")  # 132 tokens
    assert phrase_answer(merchant=merchant, question="q", evidence=EVIDENCE, language="en") is None
    assert len(platform_server.requests) == 1
    other = MerchantFactory()  # the platform default budget (200k) still applies elsewhere
    assert phrase_answer(merchant=other, question="q", evidence=EVIDENCE, language="en")
    assert LlmUsage.objects.get(merchant=merchant).calls == 1


def test_pipeline_answers_through_the_stores_endpoint(own_server):
    from conversations.assistant.pipeline import run_turn
    from conversations.demo import demo_load_knowledge

    client, merchant, _user = page_client("admin")
    demo_load_knowledge(merchant=merchant)
    client.post(URL, _custom(own_server))
    own_server.reply = "رسوم الشحن 25 ريالاً، ومجاني فوق 300 ريال."
    result = run_turn(merchant=merchant, text="كم رسوم الشحن؟", state={})
    assert result.reply.text.startswith("رسوم الشحن 25 ريالاً، ومجاني فوق 300 ريال.")
    assert own_server.requests and own_server.requests[0]["body"]["model"] == "store-model"


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"mode": "custom", "base_url": "", "model": "m"}, "base_url", "This field is required."),
        ({"mode": "custom", "base_url": "https://llm.example.com/v1", "model": ""}, "model", "This field is required."),
        ({"mode": "custom", "base_url": "ftp://x/v1", "model": "m"}, "base_url", "Enter a valid URL."),
        ({"mode": "custom", "base_url": "https://llm.example.com/v1", "model": "bad model"}, "model", "valid value"),
        ({"mode": "platform", "monthly_token_budget": "-5"}, "monthly_token_budget", "greater than or equal to 0"),
        ({"mode": "platform", "monthly_token_budget": "999999999"}, "monthly_token_budget", "platform limit"),
        ({"mode": "gpt"}, "mode", "Select a valid choice."),
    ],
)
def test_invalid_settings_are_shown_inline_and_nothing_changes(data, field, message):
    client, merchant, _user = page_client("admin")
    r = client.post(URL, data)
    assert r.status_code == 400
    html = r.content.decode()
    assert f'id="id_{field}_error"' in html and message in html
    assert not StoreLlmSettings.objects.filter(merchant=merchant).exists()


def test_private_endpoint_is_refused(settings):
    settings.SSRF_ALLOW_PRIVATE = False
    client, merchant, _user = page_client("admin")
    for url in ("http://169.254.169.254/v1", "http://127.0.0.1:11434/v1", "http://10.0.0.5/v1"):
        r = client.post(URL, {"mode": "custom", "base_url": url, "model": "m", "api_key": "k"})
        assert r.status_code == 400 and "must be a public http(s) address" in r.content.decode()
    assert not StoreLlmSettings.objects.filter(merchant=merchant).exists()


def test_saved_endpoint_is_rechecked_at_call_time(own_server, settings):
    """An address that was public when saved but now points inside (DNS rebinding) is not called."""
    client, merchant, _user = page_client("admin")
    client.post(URL, _custom(own_server))
    settings.SSRF_ALLOW_PRIVATE = False
    assert phrase_answer(merchant=merchant, question="q", evidence=EVIDENCE, language="en") is None
    assert own_server.requests == []


@pytest.mark.parametrize("role", ["viewer", "agent"])
def test_viewer_and_agent_cannot_see_or_change_ai_settings(role, own_server):
    client, merchant, _user = page_client(role)
    assert client.get(URL).status_code == 403
    assert client.post(URL, _custom(own_server)).status_code == 403
    assert not StoreLlmSettings.objects.filter(merchant=merchant).exists()


def test_settings_are_per_store():
    client, merchant, _user = page_client("admin")
    other = MerchantFactory()
    StoreLlmSettings.objects.create(merchant=other, mode="custom", base_url="https://x.example/v1", model="theirs")
    html = client.get(URL).content.decode()
    assert "theirs" not in html and "x.example" not in html
    client.post(URL, {"mode": "off"})
    assert StoreLlmSettings.objects.get(merchant=other).mode == "custom"
    assert StoreLlmSettings.objects.get(merchant=merchant).mode == "off"


def test_ai_page_query_count(django_assert_max_num_queries):
    client, _merchant, _user = page_client("admin")
    with django_assert_max_num_queries(10):
        assert client.get(URL).status_code == 200


def test_errors_are_in_arabic_for_an_arabic_admin(settings):
    from merchants.models import Merchant
    from merchants.tests.test_pages_i18n import untranslated

    settings.SSRF_ALLOW_PRIVATE = False
    client, merchant, _user = page_client("admin", language="ar")
    Merchant.objects.filter(pk=merchant.pk).update(name="متجر الأناقة")
    html = client.post(URL, {"mode": "custom", "base_url": "https://llm.example.com/v1", "model": ""}).content.decode()
    assert "هذا الحقل مطلوب" in html
    assert untranslated(html) == []
    html = client.post(URL, {"mode": "custom", "base_url": "http://10.0.0.5/v1", "model": "m"}).content.decode()
    assert "يجب أن يكون عنوان" in html
    assert untranslated(html) == []
