"""Local training jobs: a folder each under ``CATCHBOT_TRAIN_DIR``, run by a process of their own.

A job folder holds ``state.json`` (what ``finetune status`` shows), ``train.log`` (the training
process's output), ``losses.csv`` (step, training loss, validation loss) and, once done, the LoRA
adapter as a standard PEFT folder. ``start`` writes the state and launches
``python -m bot.finetune.local.train FOLDER`` in a new session, so training survives the command
that started it and a cancel can stop its whole process group. A job whose process is gone while its
state still says it is running was killed (or crashed hard): :func:`refresh` says so.
"""

from __future__ import annotations

import csv
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.finetune.errors import FinetuneError

PREFIX = "local-"
ACTIVE = ("queued", "running")
TERMINAL = ("succeeded", "failed", "cancelled")
STATE = "state.json"
LOSSES = "losses.csv"
LOG = "train.log"
PID = "pid"


@dataclass(slots=True)
class Params:
    epochs: int = 3
    lr: float = 2e-4
    lora_r: int = 16
    lora_alpha: int = 32
    max_steps: int | None = None
    batch_size: int = 4
    max_length: int = 512


@dataclass(slots=True)
class LocalJob:
    id: str
    base: str
    train_file: str
    folder: str
    adapter_dir: str
    params: Params
    validation_file: str | None = None
    allow_download: bool = False
    status: str = "queued"
    pid: int | None = None
    created_at: float = field(default_factory=time.time)
    started_at: float | None = None
    finished_at: float | None = None
    step: int = 0
    total_steps: int | None = None
    loss: float | None = None
    eta_seconds: float | None = None
    device: str | None = None
    kind: str | None = None  # "text" or "vision", known once the data is read
    loss_on: str | None = None  # which tokens the loss is computed on
    error: str | None = None

    @property
    def path(self) -> Path:
        return Path(self.folder)

    @property
    def served_name(self) -> str:
        """The name the adapter is served under (``--lora-modules NAME=DIR``) and put in use with."""
        return self.id

    # --- persistence ------------------------------------------------------------------

    def save(self) -> None:
        """Write the state atomically: a reader never sees half a file."""
        tmp = self.path / f".{STATE}.{os.getpid()}"
        tmp.write_text(json.dumps(asdict(self), indent=2), encoding="utf-8")
        os.replace(tmp, self.path / STATE)

    def update(self, **changes: Any) -> None:
        for key, value in changes.items():
            setattr(self, key, value)
        self.save()

    @classmethod
    def load(cls, folder: Path) -> LocalJob:
        try:
            data = json.loads((folder / STATE).read_text(encoding="utf-8"))
            data["params"] = Params(**data["params"])
            job = cls(**data)
        except (OSError, ValueError, TypeError, KeyError) as exc:
            raise FinetuneError(f"The local job in {folder} has no readable state ({exc}).") from None
        if job.pid is None:
            # The starting command writes the pid to a file of its own, so it never races the state file,
            # which only the training process (and cancel) write.
            try:
                job.pid = int((folder / PID).read_text().strip())
            except (OSError, ValueError):
                pass
        return job

    def losses(self) -> list[tuple[int, float | None, float | None]]:
        path = self.path / LOSSES
        if not path.exists():
            return []
        rows = []
        with path.open(encoding="utf-8", newline="") as f:
            for step, train, valid in csv.reader(f):
                rows.append((int(step), float(train) if train else None, float(valid) if valid else None))
        return rows

    def plot(self, out: Path) -> int:
        """Draw the loss curves to ``out`` (needs matplotlib); the number of steps drawn."""
        from bot.finetune.jobs import MetricPoint
        from bot.finetune.plot import plot_losses

        points = [MetricPoint(step, train, valid) for step, train, valid in self.losses()]
        plot_losses(points, out, title=f"{self.id} ({self.base})")
        return len(points)

    def add_loss(self, step: int, train: float | None, valid: float | None) -> None:
        with (self.path / LOSSES).open("a", encoding="utf-8", newline="") as f:
            csv.writer(f).writerow(
                [step, "" if train is None else f"{train:.6g}", "" if valid is None else f"{valid:.6g}"]
            )


# --- the jobs folder ----------------------------------------------------------------------


def jobs_root(train_dir: Path) -> Path:
    return Path(train_dir).expanduser().resolve()


def new_job_id() -> str:
    return f"{PREFIX}{datetime.now(UTC):%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"


def find(train_dir: Path, job_id: str) -> LocalJob:
    if not job_id.startswith(PREFIX) or "/" in job_id or job_id in (PREFIX, ".", ".."):
        raise FinetuneError(f"{job_id} is not a local job id (they start with {PREFIX}).")
    folder = jobs_root(train_dir) / job_id
    if not (folder / STATE).exists():
        raise FinetuneError(f"There is no local job {job_id} in {jobs_root(train_dir)}.")
    return refresh(LocalJob.load(folder))


def all_jobs(train_dir: Path) -> list[LocalJob]:
    root = jobs_root(train_dir)
    if not root.is_dir():
        return []
    jobs = [LocalJob.load(p) for p in root.iterdir() if p.name.startswith(PREFIX) and (p / STATE).exists()]
    return sorted((refresh(j) for j in jobs), key=lambda j: j.created_at, reverse=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie (dead, not yet reaped by its parent) is not training
        stat = Path(f"/proc/{pid}/stat").read_text()
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return True  # no /proc (macOS): the signal answer is all we have
    state = stat.rsplit(")", 1)[-1].split()[0]
    return state != "Z" and b"bot.finetune.local.train" in cmdline


def refresh(job: LocalJob) -> LocalJob:
    """A job whose process is gone while it says it is running died: record that instead of hanging."""
    if job.status in ACTIVE and job.pid is not None and not _alive(job.pid):
        job = LocalJob.load(job.path)  # it may have finished between the two reads
        if job.status in ACTIVE:
            job.update(
                status="failed",
                finished_at=time.time(),
                error=f"the training process (pid {job.pid}) stopped without finishing: killed or crashed; "
                f"see {job.path / LOG}",
            )
    return job


# --- actions ----------------------------------------------------------------------------------


def resolve_base(name: str) -> str:
    """A folder's absolute path (the training process runs elsewhere), or a Hugging Face id as given."""
    folder = Path(name).expanduser()
    if folder.is_dir():
        return folder.resolve().as_posix()
    if name.startswith((".", "/", "~")) or name.count("/") != 1:
        raise FinetuneError(f"The base model {name} is neither a folder nor a Hugging Face id like owner/name.")
    return name


TRAINING_PACKAGES = ("torch", "transformers", "peft", "trl", "accelerate", "datasets")


def check_can_train(base: str, *, allow_download: bool) -> None:
    """What can be known before a training process starts: the training extra, and a base to load.

    A job that could not run is refused here with one sentence instead of being reported as started.
    """
    import importlib.util

    missing = [name for name in TRAINING_PACKAGES if importlib.util.find_spec(name) is None]
    if missing:
        raise FinetuneError(
            f"Local training needs the training extra (missing: {', '.join(missing)}): pip install 'catchbot[train]'."
        )
    if allow_download or Path(base).is_dir():
        return
    from huggingface_hub import try_to_load_from_cache
    from huggingface_hub.constants import HF_HUB_CACHE

    if not isinstance(try_to_load_from_cache(base, "config.json"), str):
        raise FinetuneError(
            f"The base model {base} is not in the Hugging Face cache ({HF_HUB_CACHE}): download it first "
            f"(huggingface-cli download {base}), point --base at a folder, or pass --allow-download."
        )


def start(
    train_dir: Path,
    *,
    base: str,
    train_file: Path,
    validation_file: Path | None,
    params: Params,
    out: Path | None,
    allow_download: bool,
) -> LocalJob:
    """Record a job and launch its training process; returns at once."""
    job_id = new_job_id()
    folder = jobs_root(train_dir) / job_id
    folder.mkdir(parents=True)
    adapter = (out.expanduser().resolve() if out else folder / "adapter").as_posix()
    job = LocalJob(
        id=job_id,
        base=base,
        train_file=train_file.resolve().as_posix(),
        validation_file=validation_file.resolve().as_posix() if validation_file else None,
        folder=folder.as_posix(),
        adapter_dir=adapter,
        params=params,
        allow_download=allow_download,
    )
    job.save()
    with (folder / LOG).open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "bot.finetune.local.train", folder.as_posix()],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: cancel stops it and its workers
            cwd=os.getcwd(),
        )
    (folder / PID).write_text(str(process.pid))
    return LocalJob.load(folder)


def cancel(job: LocalJob) -> LocalJob:
    if job.status not in ACTIVE:
        raise FinetuneError(f"Local job {job.id} is {job.status}; only a queued or running job can be cancelled.")
    job.update(status="cancelled", finished_at=time.time())
    if job.pid is not None:
        try:
            os.killpg(job.pid, signal.SIGTERM)
        except (ProcessLookupError, PermissionError):
            pass
    return job


def delete(job: LocalJob) -> None:
    if job.status in ACTIVE:
        raise FinetuneError(f"Local job {job.id} is still {job.status}; cancel it first.")
    adapter = Path(job.adapter_dir)
    if adapter.exists() and not adapter.is_relative_to(job.path):
        shutil.rmtree(adapter)
    shutil.rmtree(job.path)


# --- reports ----------------------------------------------------------------------------------


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    seconds = int(seconds)
    return (
        f"{seconds // 3600}h{seconds % 3600 // 60:02d}m" if seconds >= 3600 else f"{seconds // 60}m{seconds % 60:02d}s"
    )


def format_local_job(job: LocalJob) -> str:
    lines = [f"Local job {job.id}: {job.status}", f"  base: {job.base}", f"  training file: {job.train_file}"]
    if job.validation_file:
        lines.append(f"  validation file: {job.validation_file}")
    p = job.params
    steps = f"max {p.max_steps} steps" if p.max_steps else f"{p.epochs} epochs"
    lines.append(f"  LoRA r={p.lora_r} alpha={p.lora_alpha}, learning rate {p.lr:g}, {steps}, batch {p.batch_size}")
    if job.device or job.kind:
        lines.append(f"  {job.kind or '?'} data on {job.device or '?'}; loss on {job.loss_on or '?'}")
    if job.step:
        total = f"/{job.total_steps}" if job.total_steps else ""
        loss = f", loss {job.loss:.4f}" if job.loss is not None else ""
        eta = f", about {_duration(job.eta_seconds)} left" if job.status == "running" else ""
        lines.append(f"  step {job.step}{total}{loss}{eta}")
    if job.status == "succeeded":
        lines.append(f"  adapter: {job.adapter_dir}")
        lines.append(f"  serve it: catchbot finetune serve-command {job.id}")
    if job.error:
        lines.append(f"  error: {job.error}")
    return "\n".join(lines)


def format_local_list(jobs: list[LocalJob]) -> str:
    if not jobs:
        return "No local fine-tuning jobs."
    rows = [("job", "status", "base", "step", "loss")]
    for j in jobs:
        step = f"{j.step}/{j.total_steps}" if j.total_steps else str(j.step)
        rows.append((j.id, j.status, j.base, step, f"{j.loss:.4f}" if j.loss is not None else "-"))
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows)


def serve_command(job: LocalJob) -> str:
    if job.status != "succeeded":
        raise FinetuneError(f"Local job {job.id} is {job.status}; there is an adapter to serve only once it succeeded.")
    return "\n".join(
        [
            "# vLLM serves the base model with the adapter as its own model name (OpenAI-compatible, port 8000):",
            f"vllm serve {job.base} --enable-lora --max-lora-rank {max(job.params.lora_r, 8)} "
            f"--lora-modules {job.served_name}={job.adapter_dir}",
            "# then point catchbot at it and put the adapter in play:",
            "export OPENAI_BASE_URL=http://localhost:8000/v1 OPENAI_API_KEY=local",
            f"catchbot finetune use {job.id} --game {'drawing' if job.kind == 'vision' else 'dialect'}",
            f"# a server that cannot load adapters needs a merged model: catchbot finetune export {job.id} --merge DIR",
        ]
    )
