"""The training process of a local job: ``python -m bot.finetune.local.train JOB_FOLDER``.

TRL's SFTTrainer with a PEFT LoRA adapter on the job's base model, on CUDA when present, Apple MPS, or
the CPU. Progress (step, loss, time left) goes to the job's state file after every logged step, the
loss curve to ``losses.csv`` and, when matplotlib is installed, ``loss.png``. Only the adapter is
saved: the base model's files are read, never written.
"""

from __future__ import annotations

import os
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from bot.finetune.errors import FinetuneError
from bot.finetune.local.data import read_examples
from bot.finetune.local.jobs import LOG, LocalJob


class Cancelled(Exception):
    pass


def _device(torch: Any) -> str:
    if torch.cuda.is_available():
        return "cuda"
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def _save(job: LocalJob, **changes: Any) -> None:
    """Update the state unless the job was cancelled meanwhile (then stop: the user asked for it)."""
    if LocalJob.load(job.path).status == "cancelled":
        raise Cancelled
    job.update(**changes)


def _offline(job: LocalJob) -> None:
    if not job.allow_download:
        # Nothing is fetched from a hub unless the user said so: the base must be a folder or cached.
        for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
            os.environ[name] = "1"
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def _loss_on(tokenizer: Any) -> bool:
    """Train on the assistant's tokens only where the chat template can mark them."""
    from trl.chat_template_utils import get_training_chat_template, has_generation_markers

    template = getattr(tokenizer, "chat_template", None)
    if not template:
        return False
    if has_generation_markers(template):
        return True
    try:
        return get_training_chat_template(tokenizer) is not None
    except Exception:  # TRL knows how to patch only some templates
        return False


def _callback(job: LocalJob, started: float) -> Any:
    from transformers import TrainerCallback

    class Progress(TrainerCallback):  # type: ignore[misc]
        def on_log(self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None, **_: Any) -> None:
            logs = logs or {}
            train, valid = logs.get("loss"), logs.get("eval_loss")
            if train is None and valid is None:
                return
            step = int(state.global_step)
            job.add_loss(step, train, valid)
            elapsed = time.monotonic() - started
            total = int(state.max_steps) or None
            eta = elapsed / step * (total - step) if total and step else None
            changes: dict[str, Any] = {"step": step, "total_steps": total, "eta_seconds": eta}
            if train is not None:
                changes["loss"] = float(train)
            _save(job, **changes)
            print(f"step {step}/{total}: " + ", ".join(f"{k} {v:.4f}" for k, v in logs.items() if "loss" in k))

    return Progress()


def _plot(job: LocalJob) -> None:
    try:
        job.plot(job.path / "loss.png")
    except FinetuneError as exc:  # matplotlib missing, or nothing logged
        print(f"no loss plot: {exc}")


def train(job: LocalJob) -> None:
    _offline(job)
    examples, kind = read_examples(Path(job.train_file))
    validation = read_examples(Path(job.validation_file))[0] if job.validation_file else None
    try:
        import torch
        from datasets import Dataset
        from peft import LoraConfig
        from trl import SFTConfig, SFTTrainer
    except ImportError as exc:
        raise FinetuneError(
            f"Local training needs the training extra ({exc.name} is missing): pip install 'catchbot[train]'."
        ) from None
    device = _device(torch)
    model, processing = _load_base(job, kind)
    assistant_only = kind == "text" and _loss_on(processing)
    _save(
        job,
        kind=kind,
        device=device,
        loss_on="the assistant's tokens" if assistant_only else "the whole conversation",
    )
    p = job.params
    config = SFTConfig(
        output_dir=(job.path / "checkpoints").as_posix(),
        num_train_epochs=p.epochs,
        max_steps=p.max_steps or -1,
        learning_rate=p.lr,
        per_device_train_batch_size=p.batch_size,
        per_device_eval_batch_size=p.batch_size,
        max_length=p.max_length if kind == "text" else None,  # cutting a vision example cuts its image
        assistant_only_loss=assistant_only,
        logging_steps=1,
        eval_strategy="epoch" if validation and not p.max_steps else ("steps" if validation else "no"),
        eval_steps=max(1, (p.max_steps or 1) // 5) if validation and p.max_steps else None,
        save_strategy="no",
        report_to="none",
        disable_tqdm=True,
        use_cpu=device == "cpu",
        seed=0,
        dataloader_num_workers=0,
        remove_unused_columns=kind == "text",
    )
    lora = LoraConfig(
        r=p.lora_r,
        lora_alpha=p.lora_alpha,
        lora_dropout=0.0,
        target_modules="all-linear",
        task_type="CAUSAL_LM",
    )
    trainer = SFTTrainer(
        model=model,
        args=config,
        train_dataset=Dataset.from_list(examples),
        eval_dataset=Dataset.from_list(validation) if validation else None,
        processing_class=processing,
        peft_config=lora,
        callbacks=[_callback(job, time.monotonic())],
    )
    trainer.train()
    checkpoints = job.path / "checkpoints"
    if checkpoints.is_dir() and not any(checkpoints.iterdir()):
        checkpoints.rmdir()  # nothing is saved there (save_strategy "no"); an empty folder only confuses
    adapter = Path(job.adapter_dir)
    adapter.mkdir(parents=True, exist_ok=True)
    trainer.model.save_pretrained(adapter.as_posix())
    processing.save_pretrained(adapter.as_posix())
    _plot(job)


def _load_base(job: LocalJob, kind: str) -> tuple[Any, Any]:
    from transformers import AutoModelForCausalLM, AutoModelForImageTextToText, AutoProcessor, AutoTokenizer

    try:
        if kind == "vision":
            return AutoModelForImageTextToText.from_pretrained(job.base), AutoProcessor.from_pretrained(job.base)
        return AutoModelForCausalLM.from_pretrained(job.base), AutoTokenizer.from_pretrained(job.base)
    except OSError as exc:
        hint = "" if job.allow_download else " (nothing is downloaded without --allow-download)"
        raise FinetuneError(f"Cannot load the base model {job.base}{hint}: {str(exc).splitlines()[0]}") from None


def main(argv: list[str]) -> int:
    folder = Path(argv[0])
    job = LocalJob.load(folder)
    try:
        _save(job, status="running", started_at=time.time())
        train(job)
        _save(job, status="succeeded", finished_at=time.time(), eta_seconds=0.0)
        print(f"done: adapter in {job.adapter_dir}")
        return 0
    except Cancelled:
        print("cancelled")
        return 1
    except FinetuneError as exc:
        job.update(status="failed", finished_at=time.time(), error=str(exc))
    except Exception as exc:
        traceback.print_exc()
        job.update(status="failed", finished_at=time.time(), error=f"{type(exc).__name__}: {exc} (see {LOG})")
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
