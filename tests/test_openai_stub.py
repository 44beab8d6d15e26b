"""The local OpenAI stand-in, checked against the real ``openai`` client.

Other tests (players, fine-tuning) rely on these shapes and behaviours.
"""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import AsyncIterator

import openai
import pytest

from tests.stubs.openai_server import OpenAIStub

MESSAGES = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "what is this"}]
TRAINING = b'{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]}\n' * 10


@pytest.fixture
async def client(stub: OpenAIStub) -> AsyncIterator[openai.AsyncOpenAI]:
    api = openai.AsyncOpenAI(api_key="test-key", base_url=stub.base_url, max_retries=0, timeout=5)
    yield api
    await api.close()


async def test_base_url_is_loopback_with_a_port(stub: OpenAIStub) -> None:
    assert stub.base_url.startswith("http://127.0.0.1:")
    assert stub.base_url.endswith("/v1")
    assert stub.port > 0


async def test_chat_default_reply_usage_and_recording(stub: OpenAIStub, client: openai.AsyncOpenAI) -> None:
    reply = await client.chat.completions.create(model="gpt-4o", messages=MESSAGES, max_completion_tokens=7)
    assert reply.choices[0].message.content == "stub answer"
    assert reply.model == "gpt-4o"
    assert reply.usage is not None
    assert reply.usage.prompt_tokens == 2 + 3 + 2  # words + 1 per message
    assert reply.usage.completion_tokens == 2
    recorded = stub.requests[-1]
    assert (recorded.method, recorded.path) == ("POST", "/v1/chat/completions")
    assert recorded.json["max_completion_tokens"] == 7
    assert recorded.headers["authorization"] == "Bearer test-key"
    assert stub.chat_requests() == [recorded.json]


async def test_chat_reply_callable_sync_async_none_and_usage_override(
    stub: OpenAIStub, client: openai.AsyncOpenAI
) -> None:
    stub.chat_reply = lambda body: f"you said {body['messages'][-1]['content']}"
    reply = await client.chat.completions.create(model="m", messages=MESSAGES)
    assert reply.choices[0].message.content == "you said what is this"

    async def later(body: dict) -> str:
        await asyncio.sleep(0)
        return "async answer"

    stub.chat_reply = later
    stub.usage = (1000, 50)
    reply = await client.chat.completions.create(model="m", messages=MESSAGES)
    assert reply.choices[0].message.content == "async answer"
    assert reply.usage is not None and (reply.usage.prompt_tokens, reply.usage.completion_tokens) == (
        1000,
        50,
    )

    stub.chat_reply = lambda body: None
    stub.include_usage = False
    reply = await client.chat.completions.create(model="m", messages=MESSAGES)
    assert reply.choices[0].message.content is None
    assert reply.usage is None


async def test_images_count_in_prompt_tokens(stub: OpenAIStub, client: openai.AsyncOpenAI) -> None:
    content = [
        {"type": "text", "text": "what"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA", "detail": "low"}},
    ]
    reply = await client.chat.completions.create(model="m", messages=[{"role": "user", "content": content}])
    assert reply.usage is not None and reply.usage.prompt_tokens == 2 + 85


async def test_missing_model_is_a_404_model_not_found(stub: OpenAIStub, client: openai.AsyncOpenAI) -> None:
    stub.missing_models.add("gpt-old")
    with pytest.raises(openai.NotFoundError) as caught:
        await client.chat.completions.create(model="gpt-old", messages=MESSAGES)
    assert caught.value.code == "model_not_found"
    assert "does not exist" in str(caught.value)
    listed = await client.models.list()
    assert "gpt-old" not in [m.id async for m in listed]


async def test_fail_injects_errors_with_headers_a_number_of_times(stub: OpenAIStub, client: openai.AsyncOpenAI) -> None:
    fault = stub.fail("/v1/chat/completions", 429, times=2, headers={"retry-after": "3"})
    for _ in range(2):
        with pytest.raises(openai.RateLimitError) as caught:
            await client.chat.completions.create(model="m", messages=MESSAGES)
        assert caught.value.response.headers["retry-after"] == "3"
    assert fault.hits == 2
    reply = await client.chat.completions.create(model="m", messages=MESSAGES)
    assert reply.choices[0].message.content == "stub answer"

    stub.fail("/chat/completions", 500, body={"error": {"message": "boom", "type": "server_error"}})
    with pytest.raises(openai.InternalServerError) as server_error:
        await client.chat.completions.create(model="m", messages=MESSAGES)
    assert "boom" in str(server_error.value)


async def test_fail_can_target_one_model(stub: OpenAIStub, client: openai.AsyncOpenAI) -> None:
    stub.fail("/chat/completions", 503, times=None, model="flaky")
    with pytest.raises(openai.InternalServerError):
        await client.chat.completions.create(model="flaky", messages=MESSAGES)
    reply = await client.chat.completions.create(model="steady", messages=MESSAGES)
    assert reply.choices[0].message.content == "stub answer"


async def test_hang_outlasts_the_client_timeout(stub: OpenAIStub) -> None:
    api = openai.AsyncOpenAI(api_key="k", base_url=stub.base_url, max_retries=0, timeout=0.3)
    stub.hang("/chat/completions", seconds=10)
    started = time.perf_counter()
    with pytest.raises(openai.APITimeoutError):
        await api.chat.completions.create(model="m", messages=MESSAGES)
    assert time.perf_counter() - started < 2
    reply = await api.chat.completions.create(model="m", messages=MESSAGES)  # only once
    assert reply.choices[0].message.content == "stub answer"
    await api.close()


async def test_per_model_delay(stub: OpenAIStub, client: openai.AsyncOpenAI) -> None:
    stub.delays["slow"] = 0.3
    started = time.perf_counter()
    await client.chat.completions.create(model="slow", messages=MESSAGES)
    assert time.perf_counter() - started >= 0.3


async def test_drip_sends_a_complete_reply_slowly(stub: OpenAIStub, client: openai.AsyncOpenAI) -> None:
    stub.drips["drippy"] = 0.4
    started = time.perf_counter()
    reply = await client.chat.completions.create(model="drippy", messages=MESSAGES)
    assert time.perf_counter() - started >= 0.4
    assert reply.choices[0].message.content == "stub answer"


async def test_azure_deployment_path(stub: OpenAIStub) -> None:
    azure = openai.AsyncAzureOpenAI(
        azure_endpoint=stub.azure_endpoint, api_key="az-key", api_version="2024-10-21", max_retries=0
    )
    reply = await azure.chat.completions.create(model="my-deployment", messages=MESSAGES)
    assert reply.model == "my-deployment"
    recorded = stub.requests[-1]
    assert recorded.path == "/openai/deployments/my-deployment/chat/completions"
    assert recorded.query["api-version"] == "2024-10-21"
    assert recorded.headers["api-key"] == "az-key"

    stub.fail("/chat/completions", 429)  # a chat fault also covers the Azure path
    with pytest.raises(openai.RateLimitError):
        await azure.chat.completions.create(model="my-deployment", messages=MESSAGES)
    stub.missing_models.add("gone-deployment")
    with pytest.raises(openai.NotFoundError) as caught:
        await azure.chat.completions.create(model="gone-deployment", messages=MESSAGES)
    assert caught.value.code == "DeploymentNotFound"
    await azure.close()


async def test_required_key(stub: OpenAIStub) -> None:
    stub.required_key = "right"
    wrong = openai.AsyncOpenAI(api_key="wrong", base_url=stub.base_url, max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        await wrong.chat.completions.create(model="m", messages=MESSAGES)
    right = openai.AsyncOpenAI(api_key="right", base_url=stub.base_url, max_retries=0)
    await right.chat.completions.create(model="m", messages=MESSAGES)
    await wrong.close()
    await right.close()


async def test_models_list_retrieve_and_delete_rules(stub: OpenAIStub, client: openai.AsyncOpenAI) -> None:
    ids = [m.id async for m in await client.models.list()]
    assert "gpt-4o-mini" in ids
    model = await client.models.retrieve("gpt-4o-mini")
    assert model.id == "gpt-4o-mini"
    with pytest.raises(openai.NotFoundError):
        await client.models.retrieve("no-such-model")
    with pytest.raises(openai.NotFoundError):  # only fine-tunes the stub made can go
        await client.models.delete("gpt-4o-mini")


async def test_files_create_retrieve_list_content_delete(stub: OpenAIStub, client: openai.AsyncOpenAI) -> None:
    created = await client.files.create(file=("train.jsonl", TRAINING), purpose="fine-tune")
    assert created.id.startswith("file-")
    assert (created.filename, created.bytes, created.purpose, created.status) == (
        "train.jsonl",
        len(TRAINING),
        "fine-tune",
        "processed",
    )
    upload = stub.requests[-1]
    assert upload.form["file"] == TRAINING
    assert upload.form["purpose"] == "fine-tune"
    assert upload.filenames["file"] == "train.jsonl"

    fetched = await client.files.retrieve(created.id)
    assert fetched.id == created.id
    assert [f.id async for f in await client.files.list()] == [created.id]
    content = await client.files.content(created.id)
    assert content.content == TRAINING

    deleted = await client.files.delete(created.id)
    assert deleted.deleted is True
    with pytest.raises(openai.NotFoundError):
        await client.files.retrieve(created.id)
    with pytest.raises(openai.NotFoundError):
        await client.files.delete(created.id)


async def test_file_rejections(stub: OpenAIStub, client: openai.AsyncOpenAI) -> None:
    stub.fail(
        "/v1/files",
        400,
        body={
            "error": {
                "message": "file rejected: line 3 is not JSON",
                "type": "invalid_request_error",
                "param": "file",
                "code": "invalid_file",
            }
        },
    )
    with pytest.raises(openai.BadRequestError) as caught:
        await client.files.create(file=("train.jsonl", TRAINING), purpose="fine-tune")
    assert caught.value.code == "invalid_file"
    assert "line 3 is not JSON" in str(caught.value)

    stub.file_check = lambda name, data: None if data.endswith(b"\n") else "file must end with a newline"
    with pytest.raises(openai.BadRequestError) as checked:
        await client.files.create(file=("bad.jsonl", b"{}"), purpose="fine-tune")
    assert "end with a newline" in str(checked.value)
    ok = await client.files.create(file=("good.jsonl", TRAINING), purpose="fine-tune")
    assert ok.id in stub.files


async def test_job_runs_to_success_with_model_results_events_checkpoints(
    stub: OpenAIStub, client: openai.AsyncOpenAI
) -> None:
    train = await client.files.create(file=("train.jsonl", TRAINING), purpose="fine-tune")
    valid = await client.files.create(file=("valid.jsonl", TRAINING), purpose="fine-tune")
    job = await client.fine_tuning.jobs.create(
        model="gpt-4o-mini",
        training_file=train.id,
        validation_file=valid.id,
        suffix="catch",
        seed=7,
        method={"type": "supervised", "supervised": {"hyperparameters": {"n_epochs": 2, "batch_size": 4}}},
    )
    assert job.status == "validating_files"
    assert job.seed == 7
    body = stub.requests[-1].json
    assert body["method"]["supervised"]["hyperparameters"] == {"n_epochs": 2, "batch_size": 4}
    assert job.hyperparameters.n_epochs == 2

    job = await client.fine_tuning.jobs.retrieve(job.id)
    assert job.status == "running"
    assert job.fine_tuned_model is None
    assert job.hyperparameters.learning_rate_multiplier == 2.0  # "auto" resolved once running
    job = await client.fine_tuning.jobs.retrieve(job.id)
    assert job.status == "succeeded"
    assert job.fine_tuned_model == f"ft:gpt-4o-mini:stub:catch:{job.id[-8:]}"
    assert job.trained_tokens and job.trained_tokens > 0
    assert job.finished_at is not None
    assert job.method is not None and job.method.type == "supervised"
    again = await client.fine_tuning.jobs.retrieve(job.id)  # terminal: stays put
    assert again.status == "succeeded"

    events = await client.fine_tuning.jobs.list_events(job.id, limit=100)
    messages = [e.message for e in events.data]
    assert messages[0] == "The job has successfully completed"  # newest first
    assert any(m.startswith("Step 1/10: training loss=") for m in messages)
    assert messages[-1].startswith("Created fine-tuning job")
    metrics = [e for e in events.data if e.type == "metrics"]
    assert len(metrics) == 10 and isinstance(metrics[0].data, dict) and "train_loss" in metrics[0].data
    first_page = await client.fine_tuning.jobs.list_events(job.id, limit=2)
    assert first_page.has_more is True and len(first_page.data) == 2
    every = [e.id async for e in client.fine_tuning.jobs.list_events(job.id, limit=3)]
    assert every == [e.id for e in events.data]  # auto-paging with `after` walks them all

    checkpoints = await client.fine_tuning.jobs.checkpoints.list(job.id)
    steps = [c.step_number for c in checkpoints.data]
    assert steps == sorted(steps, reverse=True) and steps[0] == 10
    assert checkpoints.data[0].fine_tuned_model_checkpoint == f"{job.fine_tuned_model}:ckpt-step-10"
    assert checkpoints.data[0].metrics.full_valid_loss is not None

    csv = (await client.files.content(job.result_files[0])).text.strip().splitlines()
    assert csv[0].split(",")[:5] == [
        "step",
        "train_loss",
        "train_accuracy",
        "valid_loss",
        "valid_mean_token_accuracy",
    ]
    assert len(csv) == 11
    last = dict(zip(csv[0].split(","), csv[-1].split(","), strict=True))
    assert last["step"] == "10" and float(last["valid_loss"]) > 0 and float(last["full_valid_loss"]) > 0
    result_file = await client.files.retrieve(job.result_files[0])
    assert result_file.purpose == "fine-tune-results"

    assert job.fine_tuned_model in [m.id async for m in await client.models.list()]
    reply = await client.chat.completions.create(model=job.fine_tuned_model, messages=MESSAGES)
    assert reply.model == job.fine_tuned_model
    deleted = await client.models.delete(job.fine_tuned_model)
    assert deleted.deleted is True
    assert stub.requests[-1].path == f"/v1/models/{job.fine_tuned_model}"
    with pytest.raises(openai.NotFoundError):
        await client.chat.completions.create(model=job.fine_tuned_model, messages=MESSAGES)
    with pytest.raises(openai.NotFoundError):
        await client.models.delete(job.fine_tuned_model)


async def test_job_legacy_hyperparameters_and_bad_files(stub: OpenAIStub, client: openai.AsyncOpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        await client.fine_tuning.jobs.create(model="gpt-4o-mini", training_file="file-nope")
    assert caught.value.param == "training_file"
    train = stub.add_file(TRAINING)
    with pytest.raises(openai.BadRequestError):
        await client.fine_tuning.jobs.create(model="gpt-4o-mini", training_file=train, validation_file="file-x")
    job = await client.fine_tuning.jobs.create(
        model="gpt-4o", training_file=train, hyperparameters={"n_epochs": 5, "learning_rate_multiplier": 0.5}
    )
    assert stub.requests[-1].json["hyperparameters"] == {"n_epochs": 5, "learning_rate_multiplier": 0.5}
    assert job.hyperparameters.n_epochs == 5
    assert job.hyperparameters.batch_size == "auto"
    assert job.fine_tuned_model is None


async def test_job_list_pagination_cancel_fail_and_scripts(stub: OpenAIStub, client: openai.AsyncOpenAI) -> None:
    train = stub.add_file(TRAINING)
    stub.job_script = ["validating_files", "queued", "running", "succeeded"]
    first = await client.fine_tuning.jobs.create(model="gpt-4o-mini", training_file=train)
    second = await client.fine_tuning.jobs.create(model="gpt-4o-mini", training_file=train)
    third = await client.fine_tuning.jobs.create(model="gpt-4o-mini", training_file=train)

    page = await client.fine_tuning.jobs.list(limit=2)
    assert [j.id for j in page.data] == [third.id, second.id]  # newest first
    assert page.has_more is True
    rest = await client.fine_tuning.jobs.list(limit=2, after=second.id)
    assert [j.id for j in rest.data] == [first.id] and rest.has_more is False
    assert [j.id async for j in client.fine_tuning.jobs.list(limit=1)] == [third.id, second.id, first.id]

    assert (await client.fine_tuning.jobs.retrieve(first.id)).status == "queued"
    cancelled = await client.fine_tuning.jobs.cancel(first.id)
    assert cancelled.status == "cancelled"
    with pytest.raises(openai.BadRequestError):
        await client.fine_tuning.jobs.cancel(first.id)
    assert (await client.fine_tuning.jobs.retrieve(first.id)).status == "cancelled"

    stub.fail_job(second.id, "Training file has 3 examples; at least 10 are required.", code="invalid_n_examples")
    failed = await client.fine_tuning.jobs.retrieve(second.id)
    assert failed.status == "failed"
    assert failed.error is not None and failed.error.code == "invalid_n_examples"
    assert "at least 10" in failed.error.message
    events = await client.fine_tuning.jobs.list_events(second.id)
    assert events.data[0].level == "error"

    stub.advance(third.id, "succeeded")
    done = await client.fine_tuning.jobs.retrieve(third.id)
    assert done.status == "succeeded" and done.fine_tuned_model

    stub.job_script = [
        "validating_files",
        ("failed", {"error": {"code": "invalid_file", "message": "bad line 2"}}),
    ]
    doomed = await client.fine_tuning.jobs.create(model="gpt-4o-mini", training_file=train)
    doomed = await client.fine_tuning.jobs.retrieve(doomed.id)
    assert doomed.status == "failed" and doomed.error is not None and doomed.error.message == "bad line 2"

    with pytest.raises(openai.NotFoundError):
        await client.fine_tuning.jobs.retrieve("ftjob-missing")


async def test_auto_advance_off_and_base64_results(stub: OpenAIStub, client: openai.AsyncOpenAI) -> None:
    stub.auto_advance = False
    stub.results_base64 = True
    stub.job_steps = 4
    train = stub.add_file(TRAINING)
    job = await client.fine_tuning.jobs.create(model="gpt-4o-mini", training_file=train)
    for _ in range(3):
        assert (await client.fine_tuning.jobs.retrieve(job.id)).status == "validating_files"
    stub.advance(job.id, "running")
    stub.advance(job.id, "succeeded", trained_tokens=1234)
    job = await client.fine_tuning.jobs.retrieve(job.id)
    assert job.trained_tokens == 1234
    raw = (await client.files.content(job.result_files[0])).content
    csv = base64.b64decode(raw).decode().splitlines()
    assert csv[0].startswith("step,train_loss") and len(csv) == 5
    assert (await client.fine_tuning.jobs.list_events(job.id, limit=1)).data[0].message.startswith("The job")


async def test_stop_while_a_request_hangs(stub: OpenAIStub) -> None:
    api = openai.AsyncOpenAI(api_key="k", base_url=stub.base_url, max_retries=0, timeout=5)
    stub.hang("/chat/completions", seconds=30)
    pending = asyncio.create_task(api.chat.completions.create(model="m", messages=MESSAGES))
    await stub.wait_for_requests(1)
    started = time.perf_counter()
    await stub.stop()
    assert time.perf_counter() - started < 3
    with pytest.raises(openai.APIError):
        await pending
    await api.close()
