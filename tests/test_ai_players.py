"""The AI players over the real ``openai`` client against the local stub server."""

from __future__ import annotations

import asyncio
import base64
import io
import math
import time
from collections.abc import Callable
from typing import Any

import openai
import pytest
from PIL import Image, ImageDraw

from bot.ai.client import LOCAL_KEY, make_client, max_tokens_param
from bot.ai.costs import cost_usd, price_for
from bot.ai.image_tokens import image_tokens
from bot.ai.images import NormalisedImage, normalise_upload
from bot.ai.players import (
    AIUnavailable,
    ModelAnswer,
    ModelGateway,
    dialect_messages,
    drawing_messages,
)
from bot.config import ConfigError, Settings, load_settings
from bot.i18n import text as i18n_text
from tests.stubs.openai_server import OpenAIStub

FAST = {"retry_base_delay": 0.01, "retry_max_delay": 0.05}


def settings_for(stub: OpenAIStub | None, **overrides: Any) -> Settings:
    """Settings pointing at the stub (aliased settings go in under their env names)."""
    values: dict[str, Any] = {"provider": "openai", "locale": "en", "model_timeout": 5.0}
    if stub is not None:
        values["OPENAI_BASE_URL"] = stub.base_url
    values.update(overrides)
    return load_settings(env_file=None, **values)


async def gateway_for(settings: Settings, **options: float) -> ModelGateway:
    return ModelGateway(settings, make_client(settings), **{**FAST, **options})


def png_drawing(width: int = 1200, height: int = 800) -> bytes:
    img = Image.new("RGBA", (width, height), (255, 255, 255, 0))
    draw = ImageDraw.Draw(img)
    draw.ellipse((width // 4, height // 4, 3 * width // 4, 3 * height // 4), fill=(220, 30, 30, 255))
    draw.line((width // 2, height // 4, width // 2, height // 8), fill=(90, 60, 20, 255), width=12)
    out = io.BytesIO()
    img.save(out, "PNG")
    return out.getvalue()


async def drawing() -> NormalisedImage:
    return await normalise_upload(png_drawing(), max_side=512)


# --- requests ------------------------------------------------------------------------------


async def test_drawing_request_carries_model_prompts_params_and_normalised_image(stub: OpenAIStub) -> None:
    stub.chat_reply = lambda body: "  an apple \n"
    settings = settings_for(stub, drawing_temperature=0.2, drawing_max_tokens=25, image_detail="low")
    gateway = await gateway_for(settings)
    answer = await gateway.guess_drawing(await drawing())
    await gateway.aclose()

    assert answer.text == "an apple"
    assert answer.model == "gpt-6-luna" and answer.retired_model is None
    body = stub.chat_requests()[-1]
    assert body["model"] == "gpt-6-luna"
    assert body["temperature"] == 0.2
    assert "top_p" not in body
    assert body["max_tokens"] == 25  # a custom base URL means a local server: max_tokens
    assert "max_completion_tokens" not in body
    system, user = body["messages"]
    assert system == {"role": "system", "content": settings.drawing_system_prompt}
    assert user["role"] == "user"
    text_part, image_part = user["content"]
    assert text_part == {"type": "text", "text": settings.drawing_user_prompt}
    assert image_part["type"] == "image_url" and image_part["image_url"]["detail"] == "low"
    url = image_part["image_url"]["url"]
    head, payload = url.split(",", 1)
    assert head.startswith("data:image/") and head.endswith(";base64")
    with Image.open(io.BytesIO(base64.b64decode(payload))) as sent:
        assert sent.mode == "RGB"
        assert max(sent.size) <= 512
        assert sent.size == (512, 341)
    assert body["messages"] == drawing_messages(settings, url)  # the builder fine-tuning uses too


async def test_dialect_request_and_parameter_names(stub: OpenAIStub) -> None:
    stub.chat_reply = lambda body: "뭐 하고 있어?"
    settings = settings_for(stub, dialect_top_p=0.5, max_tokens_param="max_completion_tokens")
    gateway = await gateway_for(settings)
    answer = await gateway.translate_dialect("뭐 하고 있노?")
    await gateway.aclose()
    assert answer.text == "뭐 하고 있어?"
    body = stub.chat_requests()[-1]
    assert body["model"] == "gpt-6-luna"
    assert body["messages"] == dialect_messages(settings, "뭐 하고 있노?")
    assert body["messages"][0]["content"] == settings.dialect_system_prompt
    assert body["messages"][1] == {"role": "user", "content": "뭐 하고 있노?"}
    assert "temperature" not in body  # unset: the provider's default applies
    assert body["top_p"] == 0.5
    assert body["max_completion_tokens"] == settings.dialect_max_tokens
    assert "max_tokens" not in body


def test_max_tokens_param_per_provider() -> None:
    openai_proper = load_settings(env_file=None, provider="openai", OPENAI_API_KEY="sk-test")
    assert max_tokens_param(openai_proper) == "max_completion_tokens"
    explicit = load_settings(
        env_file=None, provider="openai", OPENAI_API_KEY="sk", OPENAI_BASE_URL="https://api.openai.com/v1"
    )
    assert max_tokens_param(explicit) == "max_completion_tokens"
    azure = load_settings(env_file=None, AZURE_OPENAI_ENDPOINT="https://x.openai.azure.com", AZURE_OPENAI_API_KEY="k")
    assert azure.resolved_provider == "azure"
    assert max_tokens_param(azure) == "max_completion_tokens"
    local = load_settings(env_file=None, provider="openai", OPENAI_BASE_URL="http://127.0.0.1:8000/v1")
    assert max_tokens_param(local) == "max_tokens"
    forced = load_settings(
        env_file=None,
        provider="openai",
        OPENAI_BASE_URL="http://127.0.0.1:8000/v1",
        max_tokens_param="max_completion_tokens",
    )
    assert max_tokens_param(forced) == "max_completion_tokens"


async def test_rejected_max_tokens_name_is_swapped_once_and_kept(stub: OpenAIStub) -> None:
    stub.fail(
        "/chat/completions",
        400,
        body={
            "error": {
                "message": "Unsupported parameter: 'max_tokens' is not supported with this model. "
                "Use 'max_completion_tokens' instead.",
                "type": "invalid_request_error",
                "param": "max_tokens",
                "code": "unsupported_parameter",
            }
        },
    )
    gateway = await gateway_for(settings_for(stub, model_retries=0))
    answer = await gateway.translate_dialect("a")
    await gateway.translate_dialect("b")
    await gateway.aclose()
    assert answer.text == "stub answer" and answer.attempts == 2
    sent = [("max_tokens" in b, "max_completion_tokens" in b) for b in stub.chat_requests()]
    assert sent == [(True, False), (False, True), (False, True)]


async def test_a_server_refusing_both_names_fails_without_looping(stub: OpenAIStub) -> None:
    for param in ("max_tokens", "max_completion_tokens"):
        stub.fail(
            "/chat/completions",
            400,
            body={"error": {"message": f"Unsupported parameter: '{param}'", "param": param, "code": None}},
        )
    gateway = await gateway_for(settings_for(stub, model_retries=3))
    with pytest.raises(AIUnavailable) as caught:
        await gateway.translate_dialect("a")
    await gateway.aclose()
    assert caught.value.reason == "failed"
    assert len(stub.chat_requests()) == 2


async def test_make_client_per_provider(stub: OpenAIStub) -> None:
    assert make_client(load_settings(env_file=None, provider="none")) is None
    assert make_client(load_settings(env_file=None, provider="auto")) is None
    with pytest.raises(ConfigError, match="OPENAI_API_KEY"):
        make_client(load_settings(env_file=None, provider="openai"))
    with pytest.raises(ConfigError, match="AZURE_OPENAI_API_KEY"):
        make_client(load_settings(env_file=None, provider="azure", AZURE_OPENAI_ENDPOINT="https://x"))

    local = make_client(settings_for(stub))
    assert isinstance(local, openai.AsyncOpenAI) and local.max_retries == 0
    await local.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])
    assert stub.requests[-1].headers["authorization"] == f"Bearer {LOCAL_KEY}"
    await local.close()

    keyed = make_client(settings_for(stub, OPENAI_API_KEY="sk-secret"))
    assert keyed is not None
    await keyed.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])
    assert stub.requests[-1].headers["authorization"] == "Bearer sk-secret"
    await keyed.close()


async def test_space_override_model_is_used(stub: OpenAIStub) -> None:
    gateway = await gateway_for(settings_for(stub))
    answer = await gateway.guess_drawing(await drawing(), model="ft:gpt-4o:stub::space1")
    await gateway.translate_dialect("문디", model="dialect-special")
    await gateway.aclose()
    assert answer.model == "ft:gpt-4o:stub::space1"
    assert [b["model"] for b in stub.chat_requests()] == ["ft:gpt-4o:stub::space1", "dialect-special"]


async def test_azure_client_hits_the_deployment_url(stub: OpenAIStub) -> None:
    settings = load_settings(
        env_file=None,
        locale="en",
        AZURE_OPENAI_ENDPOINT=stub.azure_endpoint,
        AZURE_OPENAI_API_KEY="az-secret",
        OPENAI_API_VERSION="2025-01-01-preview",
        dialect_model="dialect-deploy",
    )
    client = make_client(settings)
    assert isinstance(client, openai.AsyncAzureOpenAI)
    gateway = ModelGateway(settings, client, **FAST)
    answer = await gateway.translate_dialect("우짜노")
    await gateway.aclose()
    assert answer.text == "stub answer"
    recorded = stub.requests[-1]
    assert recorded.path == "/openai/deployments/dialect-deploy/chat/completions"
    assert recorded.query["api-version"] == "2025-01-01-preview"
    assert recorded.headers["api-key"] == "az-secret"
    assert "max_completion_tokens" in recorded.json


# --- retries and failures --------------------------------------------------------------------


async def test_rate_limit_then_success_is_retried_and_counted(stub: OpenAIStub) -> None:
    stub.fail("/chat/completions", 429)
    gateway = await gateway_for(settings_for(stub, model_retries=3))
    answer = await gateway.translate_dialect("밥 뭇나")
    await gateway.aclose()
    assert answer.text == "stub answer"
    assert answer.attempts == 2
    assert len(stub.chat_requests()) == 2
    assert gateway.stats.retries == 1
    assert gateway.stats.by_status == {"429": 1}
    assert (gateway.stats.calls, gateway.stats.answered, gateway.stats.failed) == (1, 1, 0)


async def test_retry_after_is_honoured_but_capped(stub: OpenAIStub) -> None:
    stub.fail("/chat/completions", 429, headers={"retry-after": "0.3"})
    gateway = await gateway_for(settings_for(stub), retry_base_delay=0.01, retry_max_delay=0.5)
    started = time.perf_counter()
    await gateway.translate_dialect("a")
    assert time.perf_counter() - started >= 0.3

    stub.fail("/chat/completions", 429, headers={"retry-after": "30"})
    started = time.perf_counter()
    answer = await gateway.translate_dialect("b")
    assert time.perf_counter() - started < 3  # capped at retry_max_delay, not 30 s
    assert answer.attempts == 2
    await gateway.aclose()


async def test_server_errors_exhaust_retries(stub: OpenAIStub) -> None:
    retries = 2
    stub.fail("/chat/completions", 500, times=retries + 1)
    stub.chat_reply = lambda body: "too late"  # would answer on a 4th request
    gateway = await gateway_for(settings_for(stub, model_retries=retries))
    with pytest.raises(AIUnavailable) as caught:
        await gateway.translate_dialect("a")
    await gateway.aclose()
    assert caught.value.reason == "failed"
    assert len(stub.chat_requests()) == retries + 1
    assert gateway.stats.retries == retries
    assert gateway.stats.failed == 1
    assert "The AI player could not answer" in caught.value.message("en")
    # what the games say in a channel: a full sentence with no placeholders left
    for reason in ("no_model", "failed", "retired"):
        for locale in ("en", "ko"):
            assert "{" not in i18n_text(locale, f"ai.unavailable_{reason}")


async def test_bad_request_is_not_retried(stub: OpenAIStub) -> None:
    stub.fail("/chat/completions", 400, times=None)
    gateway = await gateway_for(settings_for(stub, model_retries=3))
    with pytest.raises(AIUnavailable) as caught:
        await gateway.translate_dialect("a")
    await gateway.aclose()
    assert caught.value.reason == "failed"
    assert len(stub.chat_requests()) == 1


async def test_timeouts_are_retried_then_unavailable(stub: OpenAIStub) -> None:
    stub.hang("/chat/completions", seconds=10, times=None)
    gateway = await gateway_for(settings_for(stub, model_timeout=0.2, model_retries=1))
    started = time.perf_counter()
    with pytest.raises(AIUnavailable) as caught:
        await gateway.translate_dialect("a")
    elapsed = time.perf_counter() - started
    await gateway.aclose()
    assert caught.value.reason == "failed"
    assert len(stub.chat_requests()) == 2
    assert gateway.stats.by_status == {"timeout": 2}
    assert elapsed < 3


async def test_timeout_then_success(stub: OpenAIStub) -> None:
    stub.hang("/chat/completions", seconds=10, times=1)
    gateway = await gateway_for(settings_for(stub, model_timeout=0.2, model_retries=2))
    answer = await gateway.translate_dialect("a")
    await gateway.aclose()
    assert answer.text == "stub answer" and answer.attempts == 2


async def test_a_dripping_reply_is_cut_by_the_overall_limit(stub: OpenAIStub) -> None:
    stub.drips["gpt-6-luna"] = 4.0  # each piece arrives in 0.2 s, inside the SDK's read time-out
    gateway = await gateway_for(settings_for(stub, model_timeout=0.4, model_retries=1))
    started = time.perf_counter()
    with pytest.raises(AIUnavailable) as caught:
        await gateway.translate_dialect("a")
    elapsed = time.perf_counter() - started
    await gateway.aclose()
    assert caught.value.reason == "failed"
    assert len(stub.chat_requests()) == 2
    assert elapsed < 2.5


async def test_connection_refused_is_unavailable() -> None:
    async with OpenAIStub() as gone:
        settings = settings_for(gone, model_retries=1)
    gateway = await gateway_for(settings)  # the server is stopped now
    with pytest.raises(AIUnavailable) as caught:
        await gateway.translate_dialect("a")
    await gateway.aclose()
    assert caught.value.reason == "failed"
    assert gateway.stats.by_status == {"connection": 2}


async def test_no_client_means_no_model() -> None:
    gateway = ModelGateway(load_settings(env_file=None, provider="none"), None)
    assert gateway.enabled is False
    with pytest.raises(AIUnavailable) as caught:
        await gateway.translate_dialect("a")
    assert caught.value.reason == "no_model"


# --- retired models --------------------------------------------------------------------------


async def test_missing_model_falls_back_once_and_remembers(stub: OpenAIStub) -> None:
    stub.missing_models.add("gpt-6-luna")
    stub.chat_reply = lambda body: f"answer from {body['model']}"
    gateway = await gateway_for(settings_for(stub))
    answer = await gateway.translate_dialect("a")
    assert answer.text == "answer from gpt-6.1-terra"
    assert answer.model == "gpt-6.1-terra"
    assert answer.retired_model == "gpt-6-luna"
    assert [b["model"] for b in stub.chat_requests()] == ["gpt-6-luna", "gpt-6.1-terra"]
    assert gateway.stats.fallbacks == 1
    assert answer.attempts == 2

    again = await gateway.translate_dialect("b")  # no doomed request the second time
    assert again.retired_model == "gpt-6-luna"
    assert [b["model"] for b in stub.chat_requests()][2:] == ["gpt-6.1-terra"]
    assert again.attempts == 1
    await gateway.aclose()


async def test_deprecated_model_message_also_falls_back(stub: OpenAIStub) -> None:
    stub.fail(
        "/chat/completions",
        400,
        body={
            "error": {
                "message": "The model `gpt-6-luna` has been deprecated.",
                "type": "invalid_request_error",
                "code": "model_deprecated",
            }
        },
        model="gpt-6-luna",
    )
    gateway = await gateway_for(settings_for(stub))
    answer = await gateway.guess_drawing(await drawing())
    await gateway.aclose()
    assert answer.retired_model == "gpt-6-luna" and answer.model == "gpt-6.1-terra"


async def test_model_and_fallback_missing(stub: OpenAIStub) -> None:
    stub.missing_models.update({"gpt-6-luna", "gpt-6.1-terra"})
    gateway = await gateway_for(settings_for(stub))
    with pytest.raises(AIUnavailable) as caught:
        await gateway.translate_dialect("a")
    await gateway.aclose()
    assert caught.value.reason == "retired"
    assert (caught.value.model, caught.value.fallback) == ("gpt-6-luna", "gpt-6.1-terra")
    assert len(stub.chat_requests()) == 2
    assert "gpt-6-luna" in caught.value.message("en") and "gpt-6.1-terra" in caught.value.message("ko")


async def test_fallback_equal_to_model_is_retired_at_once(stub: OpenAIStub) -> None:
    stub.missing_models.add("same")
    gateway = await gateway_for(settings_for(stub, dialect_model="same", dialect_fallback_model="same"))
    with pytest.raises(AIUnavailable) as caught:
        await gateway.translate_dialect("a")
    await gateway.aclose()
    assert caught.value.reason == "retired"
    assert len(stub.chat_requests()) == 1


# --- output ----------------------------------------------------------------------------------


async def test_output_is_neutralised_and_cut(stub: OpenAIStub) -> None:
    stub.chat_reply = lambda body: "@everyone look <@123> and @here <!channel>"
    gateway = await gateway_for(settings_for(stub))
    answer = await gateway.translate_dialect("a")
    assert answer.text.startswith("@\u200beveryone look <\u200b@123>")
    for ping in ("@everyone", "@here", "<@123>", "<!channel>"):
        assert ping not in answer.text

    stub.chat_reply = lambda body: "long " * 100
    answer = await gateway.translate_dialect("a")
    assert len(answer.text) <= 200

    stub.chat_reply = lambda body: None
    answer = await gateway.translate_dialect("a")
    assert answer.text == ""
    await gateway.aclose()


async def test_a_huge_answer_without_usage_is_cut_and_billed_at_most_max_tokens(stub: OpenAIStub) -> None:
    stub.include_usage = False
    stub.chat_reply = lambda body: "@everyone " + "가" * 500_000  # 3 MB as JSON escapes: under the byte cap
    settings = settings_for(stub, dialect_model="gpt-6.1-sol")
    gateway = await gateway_for(settings)
    answer = await gateway.translate_dialect("a")
    await gateway.aclose()
    assert answer.text.endswith("…") and len(answer.text) < 210 and "@everyone" not in answer.text
    assert answer.completion_tokens == settings.model_config_for("dialect").max_tokens
    assert answer.cost_estimated is True


def _bomb(inflated: int) -> bytes:
    """A gzip body of a chat completion padded with spaces to ``inflated`` bytes (a few hundred KB sent)."""
    import zlib

    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    parts = [packer.compress(b'{"id": "x", "object": "chat.completion", "created": 0, "model": "m", "choices": [')]
    block = b" " * (1024 * 1024)
    parts += [packer.compress(block) for _ in range(inflated // len(block))]
    parts.append(packer.compress(b"]}") + packer.flush())
    return b"".join(parts)


@pytest.mark.parametrize(
    ("body", "headers"),
    [
        (lambda: _bomb(1024 * 1024 * 1024), {"Content-Encoding": "gzip", "Content-Type": "application/json"}),
        (lambda: b"{" + b" " * (10 * 1024 * 1024) + b"}", {"Content-Type": "application/json"}),
        (lambda: b"\x00" * 1024, {"Content-Encoding": "br", "Content-Type": "application/json"}),  # not asked for
    ],
    ids=["gzip-bomb", "ten-megabytes", "unasked-encoding"],
)
async def test_an_answer_past_the_byte_cap_is_not_read_and_not_asked_again(
    stub: OpenAIStub, body: Callable[[], bytes], headers: dict[str, str]
) -> None:
    stub.fail("/v1/chat/completions", status=200, body=await asyncio.to_thread(body), headers=headers, times=None)
    settings = settings_for(stub, dialect_model="gpt-6.1-sol", model_retries=2)
    gateway = await gateway_for(settings)
    with pytest.raises(AIUnavailable) as caught:
        await gateway.translate_dialect("a")
    await gateway.aclose()
    assert caught.value.reason == "failed" and "larger than" in str(caught.value.detail)
    assert len([r for r in stub.requests if r.path.endswith("/chat/completions")]) == 1  # no retry
    assert stub.requests[-1].headers["accept-encoding"] == "gzip, deflate"


@pytest.mark.parametrize("body", ["<html>Bad Gateway</html>", "not json at all"])
async def test_an_answer_that_is_not_a_chat_completion_is_the_usual_could_not_answer(
    stub: OpenAIStub, body: str
) -> None:
    stub.fail("/v1/chat/completions", status=200, body=body, headers={"Content-Type": "text/html"})
    gateway = await gateway_for(settings_for(stub, dialect_model="gpt-6.1-sol"))
    with pytest.raises(AIUnavailable) as caught:
        await gateway.translate_dialect("a")
    await gateway.aclose()
    assert caught.value.reason == "failed"


# --- costs -----------------------------------------------------------------------------------


async def test_cost_from_usage_and_price_table(stub: OpenAIStub) -> None:
    stub.usage = (1000, 500)
    settings = settings_for(stub, dialect_model="gpt-6.1-sol")
    gateway = await gateway_for(settings)
    answer = await gateway.translate_dialect("a")
    await gateway.aclose()
    assert (answer.prompt_tokens, answer.completion_tokens) == (1000, 500)
    assert answer.cost_usd == pytest.approx((1000 * 2.00 + 500 * 8.00) / 1_000_000)  # 0.006
    assert answer.cost_estimated is False
    assert answer.image_tokens == 0


async def test_custom_prices_fine_tunes_and_unknown_models() -> None:
    settings = load_settings(env_file=None, prices={"my-deploy": {"input": 1.0, "output": 3.0}})
    assert cost_usd(settings, "my-deploy", 2_000_000, 1_000_000) == (5.0, False)
    assert price_for(settings, "gpt-4o-mini-2024-07-18") == ({"input": 0.15, "output": 0.60}, False)
    row, estimated = price_for(settings, "ft:gpt-4o-mini-2024-07-18:org:catch:abc123")
    assert row == {"input": 0.15, "output": 0.60} and estimated is True
    assert price_for(settings, "llama3:8b") == (settings.prices["*"], True)


async def test_drawing_image_tokens_and_estimated_cost_without_usage(stub: OpenAIStub) -> None:
    stub.include_usage = False
    stub.chat_reply = lambda body: "apple"
    settings = settings_for(stub, drawing_model="gpt-4o-mini", image_detail="low")
    gateway = await gateway_for(settings)
    image = await drawing()
    answer = await gateway.guess_drawing(image)
    expected_image, _ = image_tokens("gpt-4o-mini", image.width, image.height, "low")
    assert answer.image_tokens == expected_image
    text_chars = len(settings.drawing_system_prompt) + len(settings.drawing_user_prompt)
    assert answer.prompt_tokens == math.ceil(text_chars / 3) + expected_image
    assert answer.completion_tokens == math.ceil(len("apple") / 3)
    assert answer.cost_estimated is True
    expected_usd, _ = cost_usd(settings, "gpt-4o-mini", answer.prompt_tokens, answer.completion_tokens)
    assert answer.cost_usd == pytest.approx(expected_usd)

    # The eval path passes prebuilt messages: the image size is read from the data URL.
    evaluated = await gateway.complete("drawing", drawing_messages(settings, image.data_url()))
    assert evaluated.image_tokens == expected_image
    await gateway.aclose()


# --- concurrency -----------------------------------------------------------------------------


async def test_slow_model_does_not_hold_up_another_call(stub: OpenAIStub) -> None:
    stub.delays["slow-model"] = 2.0
    gateway = await gateway_for(settings_for(stub))
    image = await drawing()
    started = time.perf_counter()
    slow = asyncio.create_task(gateway.guess_drawing(image, model="slow-model"))
    await stub.wait_for_requests(1)  # the slow call is in flight
    fast: ModelAnswer = await gateway.guess_drawing(image, model="fast-model")
    fast_done = time.perf_counter() - started
    assert fast.model == "fast-model"
    assert fast_done < 1.0
    assert not slow.done()
    slow_answer = await slow
    assert slow_answer.model == "slow-model"
    assert slow_answer.latency_ms >= 1900
    await gateway.aclose()


async def test_many_calls_in_flight_at_once(stub: OpenAIStub) -> None:
    stub.default_delay = 0.3
    gateway = await gateway_for(settings_for(stub))
    started = time.perf_counter()
    answers = await asyncio.gather(*(gateway.translate_dialect(f"문장 {i}") for i in range(20)))
    await gateway.aclose()
    assert len(answers) == 20
    assert time.perf_counter() - started < 2.0  # 20 x 0.3 s would be 6 s one at a time
