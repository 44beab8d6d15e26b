"""`catchbot finetune ...` against the local OpenAI-compatible stub, with the real openai client."""

from __future__ import annotations

import io
import re
from pathlib import Path

import openai
import pytest
from PIL import Image

from bot.finetune import jobs
from bot.finetune.errors import FinetuneError
from storage import Database
from tests.stubs.openai_server import OpenAIStub
from tests.test_finetune_support import good_dialect_file, make_settings, run_cli, write_jsonl

FAST = ["--poll-interval", "0.01"]


@pytest.fixture
async def stub() -> OpenAIStub:
    async with OpenAIStub() as server:
        yield server


def job_id_from(out: str) -> str:
    match = re.search(r"^Job: (\S+)$", out, re.MULTILINE)
    assert match, out
    return match.group(1)


def single_error(err: str) -> str:
    """The one sentence a failing command printed (and nothing else, no traceback)."""
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("catchbot: ") and "Traceback" not in err
    return lines[0].removeprefix("catchbot: ")


async def test_start_refuses_a_broken_file_before_any_upload(
    stub: OpenAIStub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = make_settings(tmp_path, stub.base_url)
    broken = write_jsonl(tmp_path / "broken.jsonl", ["{not json"] * 12)
    code = await run_cli(["finetune", "start", str(broken), "--base", "gpt-4o-mini"], settings)
    captured = capsys.readouterr()
    assert code == 2
    assert "line 1: not JSON" in captured.out
    assert single_error(captured.err) == f"Refusing to upload {broken}: fix the problems listed above first."
    assert stub.requests == []  # nothing reached the provider

    # A broken validation file is refused just the same.
    good = good_dialect_file(tmp_path / "train.jsonl")
    valid = write_jsonl(tmp_path / "valid.jsonl", [{"messages": []}])
    argv = ["finetune", "start", str(good), "--valid", str(valid), "--base", "gpt-4o-mini"]
    assert await run_cli(argv, settings) == 2
    assert "Refusing to upload" in capsys.readouterr().err
    assert stub.requests == []


async def test_start_uploads_creates_and_follows_to_success(
    stub: OpenAIStub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = make_settings(tmp_path, stub.base_url)
    train = good_dialect_file(tmp_path / "train.jsonl", 12)
    valid = good_dialect_file(tmp_path / "valid.jsonl", 3)
    argv = [
        "finetune",
        "start",
        str(train),
        "--valid",
        str(valid),
        "--base",
        "gpt-4o-mini-2024-07-18",
        "--epochs",
        "2",
        "--batch-size",
        "4",
        "--lr-multiplier",
        "0.5",
        "--suffix",
        "dialect",
        *FAST,
    ]
    assert await run_cli(argv, settings) == 0
    out = capsys.readouterr().out

    uploads = [r for r in stub.requests if r.method == "POST" and r.path == "/v1/files"]
    assert [(u.form["purpose"], u.filenames["file"], u.form["file"]) for u in uploads] == [
        ("fine-tune", "train.jsonl", train.read_bytes()),
        ("fine-tune", "valid.jsonl", valid.read_bytes()),
    ]
    train_id, valid_id = [f.id for f in stub.files.values()][:2]
    created = [r for r in stub.requests if r.method == "POST" and r.path == "/v1/fine_tuning/jobs"]
    assert len(created) == 1
    assert created[0].json == {
        "model": "gpt-4o-mini-2024-07-18",
        "training_file": train_id,
        "validation_file": valid_id,
        "suffix": "dialect",
        "method": {
            "type": "supervised",
            "supervised": {"hyperparameters": {"n_epochs": 2, "batch_size": 4, "learning_rate_multiplier": 0.5}},
        },
    }
    job_id = job_id_from(out)
    assert job_id in stub.jobs
    assert stub.jobs[job_id].data["status"] == "succeeded"
    # Plain (non-TTY) follow output: status changes, messages, the newest metric line.
    assert "status: running" in out and "status: succeeded" in out
    assert "Fine-tuning job started" in out
    assert "Step 10/10: training loss=" in out
    assert "Step 1/10" not in out  # only the newest metric event of a poll is printed
    model = stub.jobs[job_id].data["fine_tuned_model"]
    assert f"Fine-tuned model: {model}" in out
    assert "Billed training tokens:" in out  # the check report came first


async def test_start_auto_hyperparameters_and_detach(
    stub: OpenAIStub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = make_settings(tmp_path, stub.base_url)
    train = good_dialect_file(tmp_path / "train.jsonl")
    assert await run_cli(["finetune", "start", str(train), "--base", "gpt-4.1", "--detach"], settings) == 0
    out = capsys.readouterr().out
    job_id = job_id_from(out)
    created = next(r.json for r in stub.requests if r.path == "/v1/fine_tuning/jobs")
    assert created["method"]["supervised"]["hyperparameters"] == {
        "n_epochs": "auto",
        "batch_size": "auto",
        "learning_rate_multiplier": "auto",
    }
    assert "validation_file" not in created and "suffix" not in created
    # Detached: no polling of the job afterwards.
    assert not [r for r in stub.requests if r.path.startswith(f"/v1/fine_tuning/jobs/{job_id}")]
    assert f"catchbot finetune status {job_id} --follow" in out


async def test_failed_job_is_one_sentence(stub: OpenAIStub, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    settings = make_settings(tmp_path, stub.base_url)
    stub.job_script = [
        "validating_files",
        (
            "failed",
            {
                "error": {
                    "code": "invalid_training_file",
                    "message": "Training file has 3 invalid lines.",
                    "param": "training_file",
                }
            },
        ),
    ]
    train = good_dialect_file(tmp_path / "train.jsonl")
    assert await run_cli(["finetune", "start", str(train), "--base", "gpt-4o-mini", *FAST], settings) == 2
    captured = capsys.readouterr()
    job_id = job_id_from(captured.out)
    assert single_error(captured.err) == f"Fine-tuning job {job_id} failed: Training file has 3 invalid lines."


@pytest.mark.parametrize(
    ("prefix", "status", "message", "expected"),
    [
        (
            "/v1/files",
            429,
            "You exceeded your current quota, please check your plan and billing details.",
            "Could not upload train.jsonl: the provider refused for quota or rate limits (check your "
            "balance and limits) (HTTP 429): You exceeded your current quota, please check your plan and "
            "billing details.",
        ),
        (
            "/v1/fine_tuning/jobs",
            403,
            "You are not allowed to fine-tune gpt-4o-mini.",
            "Could not start a fine-tuning job on gpt-4o-mini: the provider refused permission (HTTP 403): "
            "You are not allowed to fine-tune gpt-4o-mini.",
        ),
    ],
)
async def test_provider_errors_are_one_sentence(
    stub: OpenAIStub,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    prefix: str,
    status: int,
    message: str,
    expected: str,
) -> None:
    settings = make_settings(tmp_path, stub.base_url)
    stub.fail(prefix, status, times=None, body={"error": {"message": message, "type": "x", "code": None}})
    train = good_dialect_file(tmp_path / "train.jsonl")
    assert await run_cli(["finetune", "start", str(train), "--base", "gpt-4o-mini", *FAST], settings) == 2
    assert single_error(capsys.readouterr().err) == expected


async def test_rejected_file_and_no_provider(
    stub: OpenAIStub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    train = good_dialect_file(tmp_path / "train.jsonl")
    stub.file_check = lambda name, data: "File train.jsonl contains examples with images of unsupported size."
    settings = make_settings(tmp_path, stub.base_url)
    assert await run_cli(["finetune", "start", str(train), "--base", "gpt-4o"], settings) == 2
    assert single_error(capsys.readouterr().err) == (
        "Could not upload train.jsonl: the provider rejected the request (HTTP 400): "
        "File train.jsonl contains examples with images of unsupported size."
    )
    no_provider = make_settings(tmp_path)
    for argv in (["finetune", "list"], ["finetune", "start", str(train), "--base", "gpt-4o"]):
        assert await run_cli(argv, no_provider) == 2
        assert single_error(capsys.readouterr().err).startswith("No model provider is configured: set OPENAI_API_KEY")
    # The provider cannot be reached at all.
    unreachable = make_settings(tmp_path, "http://127.0.0.1:9/v1", model_timeout=2)
    assert await run_cli(["finetune", "list"], unreachable) == 2
    assert single_error(capsys.readouterr().err).startswith(
        "Could not list fine-tuning jobs: the provider could not be reached"
    )


async def test_status_list_cancel(stub: OpenAIStub, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    settings = make_settings(tmp_path, stub.base_url)
    train = good_dialect_file(tmp_path / "train.jsonl")
    stub.auto_advance = False
    ids = []
    for _ in range(2):
        assert await run_cli(["finetune", "start", str(train), "--base", "gpt-4o-mini", "--detach"], settings) == 0
        ids.append(job_id_from(capsys.readouterr().out))
    older, newer = ids

    assert await run_cli(["finetune", "list", "--limit", "1"], settings) == 0
    out = capsys.readouterr().out
    assert newer in out and older not in out
    assert await run_cli(["finetune", "list"], settings) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["JOB", "STATUS", "BASE", "FINE-TUNED", "MODEL", "CREATED"]
    assert [line.split()[0] for line in out[1:]] == [newer, older]

    # No JOB: the newest one.
    assert await run_cli(["finetune", "status"], settings) == 0
    out = capsys.readouterr().out
    assert f"Job:              {newer}" in out
    assert "Status:           validating_files" in out
    assert "Fine-tuned model: -" in out
    assert f"Validating training file: {stub.jobs[newer].data['training_file']}" in out

    assert await run_cli(["finetune", "cancel", older], settings) == 0
    assert capsys.readouterr().out.strip() == f"Fine-tuning job {older} is now cancelled."
    assert stub.jobs[older].data["status"] == "cancelled"
    assert await run_cli(["finetune", "cancel", older], settings) == 2
    assert single_error(capsys.readouterr().err) == (
        f"Could not cancel fine-tuning job {older}: the provider rejected the request (HTTP 400): "
        "Job has already completed: cancelled."
    )
    assert await run_cli(["finetune", "status", "ftjob-nope"], settings) == 2
    assert "does not know it (HTTP 404): Could not find fine tune job: ftjob-nope." in capsys.readouterr().err

    # --follow picks the job up where it is and sees it through.
    stub.auto_advance = True
    assert await run_cli(["finetune", "status", newer, "--follow", *FAST], settings) == 0
    out = capsys.readouterr().out
    assert "status: succeeded" in out and f"Fine-tuned model: {stub.jobs[newer].data['fine_tuned_model']}" in out


async def succeeded_job(stub: OpenAIStub, tmp_path: Path, settings: object, *, valid: bool = True) -> str:
    train = good_dialect_file(tmp_path / "train.jsonl")
    argv = ["finetune", "start", str(train), "--base", "gpt-4o-mini", *FAST]
    if valid:
        argv += ["--valid", str(good_dialect_file(tmp_path / "valid.jsonl", 2))]
    assert await run_cli(argv, settings) == 0  # type: ignore[arg-type]
    return next(iter(reversed(stub.jobs)))


@pytest.mark.parametrize("encoded", [False, True])
async def test_status_shows_job_and_plots_losses(
    stub: OpenAIStub, tmp_path: Path, capsys: pytest.CaptureFixture[str], encoded: bool
) -> None:
    settings = make_settings(tmp_path, stub.base_url)
    stub.results_base64 = encoded
    stub.job_steps = 12
    job_id = await succeeded_job(stub, tmp_path, settings)
    capsys.readouterr()
    png = tmp_path / "plots" / "loss.png"
    assert await run_cli(["finetune", "status", job_id, "--plot", str(png)], settings) == 0
    out = capsys.readouterr().out
    data = stub.jobs[job_id].data
    assert "Status:           succeeded" in out
    assert "Base model:       gpt-4o-mini" in out
    assert f"Fine-tuned model: {data['fine_tuned_model']}" in out
    assert f"Trained tokens:   {data['trained_tokens']:,}" in out
    assert "Hyperparameters:  n_epochs 3, batch_size 1, learning_rate_multiplier 2.0" in out
    assert "The job has successfully completed" in out
    assert f"Wrote the loss plot (12 steps, from the result file {data['result_files'][0]}) to {png}" in out
    with Image.open(png) as im:
        assert im.format == "PNG" and im.size == (800, 450)


async def test_metrics_fall_back_to_checkpoints_then_events(stub: OpenAIStub, tmp_path: Path) -> None:
    settings = make_settings(tmp_path, stub.base_url)
    job_id = await succeeded_job(stub, tmp_path, settings)
    client = openai.AsyncOpenAI(api_key="x", base_url=stub.base_url, max_retries=0)
    try:
        job = await client.fine_tuning.jobs.retrieve(job_id)
        points, source = await jobs.job_metrics(client, job)
        assert source.startswith("result file") and [p.step for p in points] == list(range(1, 11))
        assert points[0].train_loss == pytest.approx(2.1) and points[0].valid_loss == pytest.approx(2.25)

        await client.files.delete(job.result_files[0])  # result files can vanish
        points, source = await jobs.job_metrics(client, job)
        assert source == "checkpoints" and [p.step for p in points] == [4, 7, 10]

        stub.jobs[job_id].checkpoints.clear()
        points, source = await jobs.job_metrics(client, job)
        assert source == "events" and [p.step for p in points] == list(range(1, 11))
        assert points[-1].train_loss == pytest.approx(round(2.0 * 0.8**9 + 0.1, 5))
    finally:
        await client.close()


def test_metric_from_event_messages() -> None:
    from openai.types.fine_tuning import FineTuningJobEvent

    def event(message: str, data: object = None) -> FineTuningJobEvent:
        return FineTuningJobEvent.model_validate(
            {
                "id": "e",
                "created_at": 0,
                "level": "info",
                "message": message,
                "object": "fine_tuning.job.event",
                "data": data,
            }
        )

    point = jobs.metric_from_event(event("Step 37/100: training loss=0.42, validation loss=0.51"))
    assert point == jobs.MetricPoint(37, 0.42, 0.51, 100)
    assert jobs.metric_from_event(event("step 5 loss: 1.5")) == jobs.MetricPoint(5, 1.5, None, None)
    assert jobs.metric_from_event(event("Fine-tuning job started")) is None
    assert jobs.metric_from_event(event("x", {"step": 3, "train_loss": 0.9, "total_steps": 9})) == jobs.MetricPoint(
        3, 0.9, None, 9
    )


async def test_plot_without_losses_is_one_sentence(
    stub: OpenAIStub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = make_settings(tmp_path, stub.base_url)
    stub.auto_advance = False
    train = good_dialect_file(tmp_path / "train.jsonl")
    assert await run_cli(["finetune", "start", str(train), "--base", "gpt-4o-mini", "--detach"], settings) == 0
    capsys.readouterr()
    assert await run_cli(["finetune", "status", "--plot", str(tmp_path / "p.png")], settings) == 2
    assert single_error(capsys.readouterr().err) == "The job has no loss figures yet, so there is nothing to plot."
    assert not (tmp_path / "p.png").exists()


async def test_follow_on_a_terminal_redraws_one_line(stub: OpenAIStub, tmp_path: Path) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    settings = make_settings(tmp_path, stub.base_url)
    train = good_dialect_file(tmp_path / "train.jsonl")
    client = jobs.client_for(settings)
    try:
        uploaded = await jobs.upload(client, train)
        job = await jobs.create_job(client, base="gpt-4o-mini", training_file=uploaded.id)
        screen = Terminal()
        final = await jobs.follow(client, job.id, poll_interval=0.01, out=screen)
    finally:
        await client.close()
    assert final.status == "succeeded"
    text = screen.getvalue()
    assert "\r\x1b[2K" in text
    assert "status:" not in text  # the status lives in the redrawn line
    last = text.rsplit("\r\x1b[2K", 1)[1]
    assert last.startswith(f"{job.id}  succeeded  step 10/10  train loss ") and last.endswith("\n")
    assert "Step 3/10" not in text  # metric events feed the live line instead of scrolling


async def test_use_stores_the_model_per_game_and_space(
    stub: OpenAIStub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = make_settings(tmp_path, stub.base_url)
    job_id = await succeeded_job(stub, tmp_path, settings, valid=False)
    model = stub.jobs[job_id].data["fine_tuned_model"]
    capsys.readouterr()

    assert await run_cli(["finetune", "use", job_id, "--game", "dialect"], settings) == 0
    assert capsys.readouterr().out.strip() == (
        f"The dialect model for every space is now {model} (was gpt-6-luna (default))."
    )
    known = await Database.open(settings.db_path)
    await known.upsert_player("guild-1", "u1", "Ann")  # a space the bot has seen
    await known.close()
    assert await run_cli(["finetune", "use", model, "--game", "drawing", "--space", "guild-1"], settings) == 0
    assert capsys.readouterr().out.strip() == (
        f"The drawing model for space guild-1 is now {model} (was gpt-6-luna (default))."
    )
    assert await run_cli(["finetune", "use", "gpt-4.1", "--game", "dialect", "--space", "guild-1"], settings) == 0
    assert capsys.readouterr().out.strip() == (f"The dialect model for space guild-1 is now gpt-4.1 (was {model}).")
    db = await Database.open(settings.db_path)
    try:
        assert await db.get_setting("*", "model.dialect") == model
        assert await db.get_setting("guild-1", "model.drawing") == model
        assert await db.get_setting("guild-1", "model.dialect") == "gpt-4.1"
        assert await db.get_setting("*", "model.drawing") is None
    finally:
        await db.close()

    # Refusals: an unfinished job, an unknown name.
    stub.auto_advance = False
    train = good_dialect_file(tmp_path / "t2.jsonl")
    assert await run_cli(["finetune", "start", str(train), "--base", "gpt-4o-mini", "--detach"], settings) == 0
    pending = job_id_from(capsys.readouterr().out)
    assert await run_cli(["finetune", "use", pending, "--game", "dialect"], settings) == 2
    assert single_error(capsys.readouterr().err) == (
        f"Fine-tuning job {pending} has not finished (status validating_files); "
        f"wait with `catchbot finetune status {pending} --follow`."
    )
    assert await run_cli(["finetune", "use", "ft:nothing:here", "--game", "dialect"], settings) == 2
    assert (
        single_error(capsys.readouterr().err)
        == "The provider knows no model or fine-tuning job called ft:nothing:here."
    )


async def test_delete_model(stub: OpenAIStub, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    settings = make_settings(tmp_path, stub.base_url)
    job_id = await succeeded_job(stub, tmp_path, settings, valid=False)
    model = stub.jobs[job_id].data["fine_tuned_model"]
    assert await run_cli(["finetune", "use", job_id, "--game", "drawing"], settings) == 0
    capsys.readouterr()
    assert await run_cli(["finetune", "delete", model], settings) == 0
    out = capsys.readouterr().out
    assert f"Deleted model {model}." in out
    assert "Warning: it is still the drawing model for every space" in out
    assert model in stub.missing_models
    assert [r.method for r in stub.requests if r.path == f"/v1/models/{model}"][-1] == "DELETE"
    assert await run_cli(["finetune", "delete", model], settings) == 2
    assert single_error(capsys.readouterr().err) == (
        f"Could not delete model {model}: the provider does not know it (HTTP 404): The model '{model}' does not exist."
    )


def test_finetune_error_is_a_user_error() -> None:
    from bot.errors import UserError

    exc = FinetuneError("Something to fix.")
    assert isinstance(exc, UserError) and str(exc) == "Something to fix." and exc.message("ko") == "Something to fix."


async def test_use_finds_a_model_on_a_server_that_only_lists_its_models(
    stub: OpenAIStub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = make_settings(tmp_path, stub.base_url)
    stub.serves_model_lookup = False
    stub.models["my-dialect-lora"] = {"id": "my-dialect-lora", "object": "model", "created": 0, "owned_by": "me"}
    assert await run_cli(["finetune", "use", "my-dialect-lora", "--game", "dialect"], settings) == 0
    assert "my-dialect-lora" in capsys.readouterr().out
    assert await run_cli(["finetune", "use", "not-served", "--game", "dialect"], settings) == 2
    assert "knows no model" in capsys.readouterr().err


async def test_use_without_a_provider_stores_a_model_id_unverified(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = make_settings(tmp_path)  # provider "none"
    assert await run_cli(["finetune", "use", "my-vllm-model", "--game", "dialect"], settings) == 0
    assert capsys.readouterr().out.strip() == (
        "The dialect model for every space is now my-vllm-model (was gpt-6-luna (default)) "
        "(not checked with a provider: none is configured)."
    )
    db = await Database.open(settings.db_path)
    try:
        assert await db.get_setting("*", "model.dialect") == "my-vllm-model"
    finally:
        await db.close()
    # A job id cannot be resolved without a provider.
    assert await run_cli(["finetune", "use", "ftjob-abc", "--game", "dialect"], settings) == 2
    assert single_error(capsys.readouterr().err).startswith("No model provider is configured")


def test_a_plot_of_one_data_point_shows_the_point(tmp_path: Path) -> None:
    from bot.finetune.jobs import MetricPoint
    from bot.finetune.plot import plot_losses

    png = plot_losses([MetricPoint(step=5, train_loss=1.0, valid_loss=None)], tmp_path / "one.png", title="one")
    with Image.open(png) as im:
        rgb = im.convert("RGB")
        w, h = rgb.size
        # The point sits in the middle of the axes (the legend goes to a corner): matplotlib's first colour.
        box = rgb.crop((w // 2 - 40, h // 2 - 40, w // 2 + 40, h // 2 + 40))
        centre = list(box.getdata())
    blue = [p for p in centre if abs(p[0] - 0x1F) < 40 and abs(p[1] - 0x77) < 40 and abs(p[2] - 0xB4) < 40]
    assert len(blue) >= 10
