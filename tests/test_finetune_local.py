"""Local LoRA fine-tuning, end to end on the CPU with a tiny model built in the test (nothing downloaded).

`catchbot dataset dialect` turns AI-Hub-style files into chat JSONL; `finetune start --backend local`
trains an adapter in a process of its own; status, list, cancel, export, serve-command, use and delete
work on the job; the merged model is served behind an OpenAI-compatible endpoint and `eval dialect`
scores it like any other model.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from bot.finetune.errors import FinetuneError
from bot.finetune.local.data import read_examples
from tests.imagecorpus import bomb_png
from tests.stubs.openai_server import OpenAIStub
from tests.test_finetune_support import data_url, make_settings, png_bytes, run_cli
from tests.tiny_models import build_tiny_model, build_tiny_vlm

ROOT = Path(__file__).resolve().parent.parent
PAIRS = [
    ("혼저 옵서", "어서 오세요"),
    ("하영 먹읍서", "많이 드세요"),
    ("니 어데 가노", "너 어디 가니"),
    ("억수로 덥다", "굉장히 덥다"),
    ("퍼뜩 온나", "빨리 와라"),
    ("밥 뭇나", "밥 먹었니"),
    ("워디 가유", "어디 가요"),
    ("겁나게 좋당께", "굉장히 좋다니까"),
    ("마카 모였나", "모두 모였니"),
    ("감재 캐러 가자", "감자 캐러 가자"),
    ("쪼매 기다리라", "조금 기다려라"),
    ("아따 춥다잉", "아이고 춥다"),
]


def catchbot(*args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CATCHBOT_", "OPENAI_"))}
    env.update(CATCHBOT_PROVIDER="none", CATCHBOT_DB_PATH=str(cwd / "catchbot.db"), HF_HUB_OFFLINE="1")
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )


def job_id(output: str) -> str:
    return next(line.split()[-1] for line in output.splitlines() if line.startswith("Job: "))


def state(folder: Path, job: str) -> dict[str, Any]:
    return json.loads((folder / "catchbot-training" / job / "state.json").read_text(encoding="utf-8"))


def wait_for(folder: Path, job: str, done: Any, within: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        current = state(folder, job)
        if done(current):
            return current
        time.sleep(0.3)
    log = (folder / "catchbot-training" / job / "train.log").read_text(encoding="utf-8")
    raise AssertionError(f"job {job} never got there: {current}\n{log[-3000:]}")


def digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny base model and a dialect training file made by `catchbot dataset dialect`."""
    folder = tmp_path_factory.mktemp("local-ft")
    labels = folder / "aihub" / "경상도" / "[라벨]경상도_학습데이터_1" / "DZGS0001.json"
    labels.parent.mkdir(parents=True)
    utterances = [
        {"id": f"u{i}", "form": d, "standard_form": s, "dialect_form": d, "speaker_id": "1"}
        for i, (d, s) in enumerate(PAIRS * 2)
    ]
    labels.write_text(json.dumps({"id": "DZGS0001", "utterance": utterances}, ensure_ascii=False), "utf-8")
    made = catchbot(
        "dataset", "dialect", str(folder / "aihub"), "--out", "train.jsonl", "--valid-fraction", "0.2", cwd=folder
    )
    assert made.returncode == 0, made.stderr
    from bot.config import load_settings

    system = load_settings(env_file=None).dialect_system_prompt
    build_tiny_model(folder / "base", [system, *(text for pair in PAIRS for text in pair)])
    return folder


@pytest.fixture(scope="module")
def trained(workdir: Path) -> tuple[str, dict[str, str]]:
    before = digest(workdir / "base")
    started = catchbot(
        "finetune", "start", "train.jsonl", "--validation", "train.valid.jsonl", "--backend", "local",
        "--base", "base", "--max-steps", "60", "--lr", "3e-2", "--lora-r", "8", "--batch-size", "4",
        cwd=workdir,
    )  # fmt: skip
    assert started.returncode == 0, started.stderr
    job = job_id(started.stdout)
    # The command returned at once; training goes on in its own process.
    assert state(workdir, job)["status"] in ("queued", "running")
    wait_for(workdir, job, lambda s: s["status"] not in ("queued", "running"))
    return job, before


def test_a_local_job_trains_a_lora_adapter_and_leaves_the_base_alone(
    workdir: Path, trained: tuple[str, dict[str, str]]
) -> None:
    job, before = trained
    final = state(workdir, job)
    assert final["status"] == "succeeded", final
    assert final["device"] == "cpu" and final["kind"] == "text"
    assert final["loss_on"] == "the assistant's tokens"
    assert final["step"] == final["total_steps"] == 60
    rows = [line.split(",") for line in (workdir / "catchbot-training" / job / "losses.csv").read_text().splitlines()]
    train = [float(r[1]) for r in rows if r[1]]
    assert len(train) == 60 and sum(train[-5:]) / 5 < sum(train[:5]) / 5 - 0.3
    assert any(r[2] for r in rows)  # the validation file was evaluated too
    assert (workdir / "catchbot-training" / job / "loss.png").stat().st_size > 1000
    assert digest(workdir / "base") == before

    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    adapter = Path(final["adapter_dir"])
    assert (adapter / "adapter_config.json").exists() and (adapter / "adapter_model.safetensors").exists()
    model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(workdir / "base"), adapter)
    lora_b = [p for name, p in model.named_parameters() if "lora_B" in name]
    assert lora_b and any(torch.count_nonzero(p) for p in lora_b)  # B starts at zero: it learnt


def test_status_list_serve_command_and_use(workdir: Path, trained: tuple[str, dict[str, str]]) -> None:
    job, _ = trained
    status = catchbot("finetune", "status", job, "--plot", "curve.png", cwd=workdir)
    assert status.returncode == 0, status.stderr
    assert f"Local job {job}: succeeded" in status.stdout and "step 60/60" in status.stdout
    assert (workdir / "curve.png").stat().st_size > 1000
    newest = catchbot("finetune", "status", cwd=workdir)  # no provider set up: the newest local job
    assert newest.returncode == 0 and newest.stdout.startswith("Local job local-"), newest.stderr
    listed = catchbot("finetune", "list", cwd=workdir)
    assert listed.returncode == 0 and job in listed.stdout and "succeeded" in listed.stdout
    serve = catchbot("finetune", "serve-command", job, cwd=workdir)
    assert (
        "--enable-lora" in serve.stdout and f"--lora-modules {job}={state(workdir, job)['adapter_dir']}" in serve.stdout
    )
    used = catchbot("finetune", "use", job, "--game", "dialect", cwd=workdir)
    assert used.returncode == 0, used.stderr
    assert f"The dialect model for every space is now {job}" in used.stdout


async def test_the_merged_model_is_served_and_evaluated_like_any_other(
    workdir: Path, trained: tuple[str, dict[str, str]], capsys: pytest.CaptureFixture[str]
) -> None:
    job, _ = trained
    merged = workdir / "merged"
    done = await asyncio.to_thread(catchbot, "finetune", "export", job, "--merge", str(merged), cwd=workdir)
    assert done.returncode == 0, done.stderr

    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(merged)
    tokenizer = AutoTokenizer.from_pretrained(merged)
    base = AutoModelForCausalLM.from_pretrained(workdir / "base")
    changed = [name for name, p in model.state_dict().items() if not torch.equal(p, base.state_dict()[name])]
    assert changed  # the adapter is folded into the weights

    def generate(messages: list[dict[str, Any]]) -> str:
        ids = tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt", return_dict=True)
        with torch.no_grad():
            out = model.generate(**ids, max_new_tokens=12, do_sample=False, pad_token_id=tokenizer.pad_token_id)
        return tokenizer.decode(out[0, ids["input_ids"].shape[1] :], skip_special_tokens=True)

    async def reply(body: dict[str, Any]) -> str:
        assert body["model"] == "tiny-merged"
        return await asyncio.to_thread(generate, body["messages"])

    async with OpenAIStub() as server:
        server.chat_reply = reply
        settings = make_settings(workdir, server.base_url)
        code = await run_cli(
            ["eval", "dialect", str(workdir / "train.valid.jsonl"), "--model", "tiny-merged"], settings
        )
        sent = len(server.chat_requests())
    out = capsys.readouterr().out
    assert code == 0 and sent == len((workdir / "train.valid.jsonl").read_text().splitlines())
    assert "tiny-merged" in out and "copy (baseline)" in out and "game" in out


def test_a_killed_job_says_so_and_a_cancelled_one_stops(workdir: Path) -> None:
    for how in ("kill", "cancel"):
        started = catchbot(
            "finetune", "start", "train.jsonl", "--backend", "local", "--base", "base", "--max-steps", "100000",
            cwd=workdir,
        )  # fmt: skip
        job = job_id(started.stdout)
        running = wait_for(workdir, job, lambda s: s["status"] == "running" and s["step"] > 0)
        pid = int((workdir / "catchbot-training" / job / "pid").read_text())
        if how == "kill":
            os.kill(pid, signal.SIGKILL)
        else:
            cancelled = catchbot("finetune", "cancel", job, cwd=workdir)
            assert f"Local fine-tuning job {job} is now cancelled." in cancelled.stdout
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            status = catchbot("finetune", "status", job, cwd=workdir)
            if "running" not in status.stdout.splitlines()[0]:
                break
            time.sleep(0.5)
        first = status.stdout.splitlines()[0]
        if how == "kill":
            assert first == f"Local job {job}: failed" and "stopped without finishing" in status.stdout
        else:
            assert first == f"Local job {job}: cancelled"
        assert running["step"] < 100000
        deleted = catchbot("finetune", "delete", job, cwd=workdir)
        assert deleted.returncode == 0 and not (workdir / "catchbot-training" / job).exists()


def test_bad_input_is_one_sentence(workdir: Path) -> None:
    missing = catchbot("finetune", "start", "train.jsonl", "--backend", "local", "--base", "./nowhere", cwd=workdir)
    assert missing.returncode == 2 and "neither a folder nor a Hugging Face id" in missing.stderr
    (workdir / "bad.jsonl").write_text('{"messages": [{"role": "user", "content": "혼저"}]}\n', "utf-8")
    bad = catchbot("finetune", "start", "bad.jsonl", "--backend", "local", "--base", "base", cwd=workdir)
    assert bad.returncode == 2 and "bad.jsonl line 1 does not end with the assistant's answer" in bad.stderr
    unknown = catchbot("finetune", "status", "local-nope", cwd=workdir)
    assert unknown.returncode == 2 and "There is no local job local-nope" in unknown.stderr
    assert "Traceback" not in missing.stderr + bad.stderr + unknown.stderr
    # Checked before anything starts: a device file never ends, and a base must be there to load.
    device = catchbot("finetune", "start", "/dev/zero", "--backend", "local", "--base", "base", cwd=workdir, timeout=30)
    assert device.returncode == 2 and "/dev/zero does not exist or is not a regular file" in device.stderr
    uncached = catchbot("finetune", "start", "train.jsonl", "--backend", "local", "--base", "nobody/tiny", cwd=workdir)
    assert uncached.returncode == 2 and "not in the Hugging Face cache" in uncached.stderr
    assert "Started" not in device.stdout + uncached.stdout


def test_without_the_training_extra_a_local_job_is_refused_before_it_starts(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.cli import main

    monkeypatch.setitem(sys.modules, "peft", None)  # as if `catchbot[train]` were not installed
    monkeypatch.chdir(workdir)
    monkeypatch.setenv("CATCHBOT_DB_PATH", str(workdir / "catchbot.db"))
    assert main(["finetune", "start", "train.jsonl", "--backend", "local", "--base", "base"]) == 2
    captured = capsys.readouterr()
    assert "needs the training extra (missing: peft)" in captured.err and "Started" not in captured.out


def test_vision_files_become_images_for_trl(tmp_path: Path) -> None:
    image = data_url(png_bytes(32, 24))
    line = {
        "messages": [
            {"role": "system", "content": "Guess the drawing."},
            {"role": "user", "content": [
                {"type": "text", "text": "What is it?"}, {"type": "image_url", "image_url": {"url": image}},
            ]},
            {"role": "assistant", "content": "apple"},
        ]
    }  # fmt: skip
    path = tmp_path / "drawings.jsonl"
    path.write_text(json.dumps(line) + "\n", "utf-8")
    (example,), kind = read_examples(path)
    assert kind == "vision"
    assert example["messages"][1]["content"] == [{"type": "text", "text": "What is it?"}, {"type": "image"}]
    assert example["images"][0].size == (32, 24) and example["images"][0].mode == "RGB"
    line["messages"][1]["content"][1]["image_url"]["url"] = "https://example.com/cat.png"
    path.write_text(json.dumps(line) + "\n", "utf-8")
    with pytest.raises(FinetuneError, match="only data:image"):
        read_examples(path)


@pytest.mark.parametrize(
    ("line", "sentence"),
    [
        ("[" * 100_000 + "]" * 100_000, "line 1 is not JSON"),
        ('{"n": ' + "9" * 5000 + "}", "line 1 is not JSON"),
        (
            json.dumps({"messages": [
                {"role": "user", "content": [{"type": "image_url", "image_url": {"url": data_url(bomb_png())}}]},
                {"role": "assistant", "content": "apple"},
            ]}),
            "line 1: ",
        ),
    ],
    ids=["nested", "long-number", "bomb"],
)  # fmt: skip
def test_a_hostile_training_line_is_one_sentence(tmp_path: Path, line: str, sentence: str) -> None:
    path = tmp_path / "hostile.jsonl"
    path.write_text(line + "\n", "utf-8")
    with pytest.raises(FinetuneError, match=sentence) as refused:
        read_examples(path)
    assert "\n" not in str(refused.value)


def test_a_vision_language_model_trains_on_drawings_and_merges(tmp_path: Path) -> None:
    """Drawing files: the game's own prompt with a data: URL picture, on a tiny LLaVA built here."""
    from bot.ai.players import drawing_messages
    from bot.config import load_settings

    settings = load_settings(env_file=None)
    colours = {"apple": (200, 30, 30), "tree": (30, 160, 30), "cat": (40, 40, 200), "house": (200, 200, 40)}
    answer = [{"role": "assistant", "content": word} for word in colours]
    lines = [
        json.dumps({"messages": [*drawing_messages(settings, data_url(png_bytes(40, 30, rgb))), said]})
        for rgb, said in zip(colours.values(), answer, strict=True)
    ]
    (tmp_path / "drawings.jsonl").write_text("\n".join(lines * 6) + "\n", "utf-8")
    build_tiny_vlm(tmp_path / "vlm", [settings.drawing_system_prompt, settings.drawing_user_prompt, *colours])
    started = catchbot(
        "finetune", "start", "drawings.jsonl", "--backend", "local", "--base", "vlm", "--max-steps", "20",
        "--lr", "1e-2", cwd=tmp_path,
    )  # fmt: skip
    assert started.returncode == 0, started.stderr
    job = job_id(started.stdout)
    final = wait_for(tmp_path, job, lambda s: s["status"] not in ("queued", "running"))
    assert final["status"] == "succeeded" and final["kind"] == "vision", final
    train = [
        float(line.split(",")[1])
        for line in (tmp_path / "catchbot-training" / job / "losses.csv").read_text().splitlines()
    ]
    assert sum(train[-3:]) / 3 < sum(train[:3]) / 3
    assert "--game drawing" in catchbot("finetune", "serve-command", job, cwd=tmp_path).stdout
    merged = catchbot("finetune", "export", job, "--merge", "merged", cwd=tmp_path)
    assert merged.returncode == 0, merged.stderr

    import torch
    from PIL import Image
    from transformers import AutoModelForImageTextToText, AutoProcessor

    model = AutoModelForImageTextToText.from_pretrained(tmp_path / "merged")
    processor = AutoProcessor.from_pretrained(tmp_path / "merged")
    prompt = processor.apply_chat_template(
        [{"role": "user", "content": [{"type": "text", "text": "?"}, {"type": "image"}]}], add_generation_prompt=True
    )
    inputs = processor(images=[Image.new("RGB", (40, 30), (200, 30, 30))], text=[prompt], return_tensors="pt")
    with torch.no_grad():
        out = model.generate(**inputs, max_new_tokens=4, do_sample=False)
    assert out.shape[1] > inputs["input_ids"].shape[1]


def test_the_training_stack_is_loaded_only_by_training_commands() -> None:
    code = (
        "import sys\n"
        "import bot.cli, bot.engine, bot.finetune.cli, bot.finetune.local.jobs, adapters.launch\n"
        "from bot.cli import main\n"
        "assert main(['finetune', 'models']) == 0\n"
        "heavy = sorted(m for m in ('torch', 'transformers', 'trl', 'peft', 'datasets') if m in sys.modules)\n"
        "assert not heavy, heavy\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "Qwen/Qwen2.5-0.5B-Instruct" in done.stdout and "Apache-2.0" in done.stdout
