"""Fine-tuning jobs through any endpoint that speaks the OpenAI fine-tuning API.

Upload, create, follow, inspect, cancel, put a result in use and delete it. Only
the documented API is used (files, ``fine_tuning.jobs``, ``models``), so the same
commands drive OpenAI, Azure OpenAI and compatible servers; nothing depends on a
model family. Provider failures become one sentence (:mod:`bot.finetune.errors`).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import csv
import io
import re
import shutil
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import openai

from bot.config import ConfigError, Game, Settings
from bot.finetune.errors import FinetuneError, provider_call

TERMINAL = frozenset({"succeeded", "failed", "cancelled"})
# Azure imports uploads asynchronously ("pending"/"running" → "processed"); OpenAI
# answers "uploaded"/"processed" at once. Wait for the former, never for the latter.
FILE_BUSY = frozenset({"pending", "running"})
FILE_WAIT_SECONDS = 600.0
EVENTS_PER_POLL = 100


def client_for(settings: Settings) -> openai.AsyncOpenAI:
    """The provider's client, or one sentence saying why there is none."""
    from bot.ai.bounded_http import TOOL_RESPONSE_LIMIT
    from bot.ai.client import make_client

    try:
        client = make_client(settings, response_limit=TOOL_RESPONSE_LIMIT)
    except ConfigError as exc:
        raise FinetuneError(str(exc).rstrip(".") + ".") from None
    if client is None:
        raise FinetuneError(
            "No model provider is configured: set OPENAI_API_KEY (with OPENAI_BASE_URL for a "
            "compatible server) or AZURE_OPENAI_ENDPOINT and AZURE_OPENAI_API_KEY."
        )
    return client


def hyperparameters(epochs: int | None, batch_size: int | None, lr_multiplier: float | None) -> dict[str, Any]:
    """Supervised hyperparameters, ``"auto"`` where the user left the choice to the provider."""
    return {
        "n_epochs": epochs if epochs is not None else "auto",
        "batch_size": batch_size if batch_size is not None else "auto",
        "learning_rate_multiplier": lr_multiplier if lr_multiplier is not None else "auto",
    }


# --- files and jobs ---------------------------------------------------------------


async def upload(client: openai.AsyncOpenAI, path: Path, *, poll_interval: float = 2.0) -> Any:
    """Upload a training or validation file (purpose fine-tune) and wait until it can be used."""
    async with provider_call(f"upload {path.name}"):
        data = await asyncio.to_thread(path.read_bytes)
        uploaded = await client.files.create(file=(path.name, data), purpose="fine-tune")
    deadline = time.monotonic() + FILE_WAIT_SECONDS
    while getattr(uploaded, "status", None) in FILE_BUSY and time.monotonic() < deadline:
        await asyncio.sleep(poll_interval)
        async with provider_call(f"check the upload of {path.name}"):
            uploaded = await client.files.retrieve(uploaded.id)
    if getattr(uploaded, "status", None) == "error":
        reason = getattr(uploaded, "status_details", None) or "no reason given"
        raise FinetuneError(f"The provider rejected {path.name}: {str(reason).rstrip('.')}.")
    return uploaded


async def create_job(
    client: openai.AsyncOpenAI,
    *,
    base: str,
    training_file: str,
    validation_file: str | None = None,
    epochs: int | None = None,
    batch_size: int | None = None,
    lr_multiplier: float | None = None,
    suffix: str | None = None,
) -> Any:
    method = {
        "type": "supervised",
        "supervised": {"hyperparameters": hyperparameters(epochs, batch_size, lr_multiplier)},
    }
    extra: dict[str, Any] = {}
    if validation_file:
        extra["validation_file"] = validation_file
    if suffix:
        extra["suffix"] = suffix
    async with provider_call(f"start a fine-tuning job on {base}"):
        return await client.fine_tuning.jobs.create(
            model=base,
            training_file=training_file,
            method=method,
            **extra,  # type: ignore[arg-type]
        )


async def retrieve_job(client: openai.AsyncOpenAI, job_id: str) -> Any:
    async with provider_call(f"read fine-tuning job {job_id}"):
        return await client.fine_tuning.jobs.retrieve(job_id)


async def newest_job(client: openai.AsyncOpenAI) -> Any:
    async with provider_call("list fine-tuning jobs"):
        page = await client.fine_tuning.jobs.list(limit=1)
    if not page.data:
        raise FinetuneError("There are no fine-tuning jobs yet; start one with `catchbot finetune start`.")
    return page.data[0]


async def list_jobs(client: openai.AsyncOpenAI, limit: int) -> list[Any]:
    async with provider_call("list fine-tuning jobs"):
        page = await client.fine_tuning.jobs.list(limit=limit)
    return list(page.data)[:limit]


async def job_events(client: openai.AsyncOpenAI, job_id: str, limit: int = 20) -> list[Any]:
    """The newest ``limit`` events, oldest first."""
    async with provider_call(f"read the events of {job_id}"):
        page = await client.fine_tuning.jobs.list_events(job_id, limit=limit)
    # The API lists newest first; a stable sort on the timestamp copes with either order.
    events = list(reversed(page.data))
    return sorted(events, key=lambda e: e.created_at or 0)


async def cancel_job(client: openai.AsyncOpenAI, job_id: str) -> Any:
    async with provider_call(f"cancel fine-tuning job {job_id}"):
        return await client.fine_tuning.jobs.cancel(job_id)


async def delete_model(client: openai.AsyncOpenAI, model: str) -> None:
    async with provider_call(f"delete model {model}"):
        result = await client.models.delete(model)
    if not getattr(result, "deleted", False):
        raise FinetuneError(f"The provider did not delete {model}.")


def job_error(job: Any) -> str:
    error = getattr(job, "error", None)
    message = getattr(error, "message", None) if error is not None else None
    return str(message or "no reason given").rstrip(".")


def ensure_succeeded(job: Any) -> str:
    """The fine-tuned model of a finished job, or the sentence that says why there is none."""
    if job.status == "failed":
        raise FinetuneError(f"Fine-tuning job {job.id} failed: {job_error(job)}.")
    if job.status == "cancelled":
        raise FinetuneError(f"Fine-tuning job {job.id} was cancelled, so it has no model.")
    if job.status != "succeeded":
        raise FinetuneError(
            f"Fine-tuning job {job.id} has not finished (status {job.status}); "
            f"wait with `catchbot finetune status {job.id} --follow`."
        )
    if not job.fine_tuned_model:
        raise FinetuneError(f"Fine-tuning job {job.id} succeeded but the provider names no model.")
    return str(job.fine_tuned_model)


# --- following a job -------------------------------------------------------------------


def _clock(ts: int | None) -> str:
    if not ts:
        return "--:--:--"
    return datetime.fromtimestamp(ts).strftime("%H:%M:%S")


def _elapsed(seconds: float) -> str:
    seconds = int(max(seconds, 0))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"


@dataclass(slots=True)
class _Progress:
    step: int | None = None
    total: int | None = None
    train_loss: float | None = None
    valid_loss: float | None = None

    def update(self, event: Any) -> bool:
        point = metric_from_event(event)
        if point is None:
            return False
        self.step = point.step
        self.total = point.total or self.total
        self.train_loss = point.train_loss if point.train_loss is not None else self.train_loss
        self.valid_loss = point.valid_loss if point.valid_loss is not None else self.valid_loss
        return True

    def text(self) -> str:
        parts = []
        if self.step is not None:
            parts.append(f"step {self.step}" + (f"/{self.total}" if self.total else ""))
        if self.train_loss is not None:
            parts.append(f"train loss {self.train_loss:.4f}")
        if self.valid_loss is not None:
            parts.append(f"valid loss {self.valid_loss:.4f}")
        return "  ".join(parts)


async def follow(
    client: openai.AsyncOpenAI,
    job_id: str,
    *,
    poll_interval: float = 10.0,
    out: TextIO | None = None,
    live: bool | None = None,
) -> Any:
    """Poll the job and its events until it ends; return the final job.

    On a terminal, one line is redrawn in place (status, step, losses) and
    messages scroll above it; elsewhere each new message is a plain line, and of
    the per-step metric events only the newest per poll is printed.
    """
    out = out if out is not None else sys.stdout
    live = bool(getattr(out, "isatty", lambda: False)()) if live is None else live
    seen: set[str] = set()
    progress = _Progress()
    started = time.monotonic()
    status = ""
    try:
        while True:
            job = await retrieve_job(client, job_id)
            fresh = [e for e in await job_events(client, job_id, EVENTS_PER_POLL) if e.id not in seen]
            seen.update(e.id for e in fresh)
            metric_ids = [e.id for e in fresh if metric_from_event(e) is not None]
            for event in fresh:
                if progress.update(event):
                    # Per-step metrics feed the live line; plain output keeps the newest of a poll.
                    if live or event.id != metric_ids[-1]:
                        continue
                _emit(out, live, f"[{_clock(event.created_at)}] {event.message}")
            if job.status != status:
                status = job.status
                if not live:
                    out.write(f"status: {status}\n")
            if live:
                line = f"{job.id}  {status}  {progress.text()}  {_elapsed(time.monotonic() - started)}"
                width = shutil.get_terminal_size((100, 20)).columns - 1
                out.write("\r\x1b[2K" + line[:width])
            out.flush()
            if status in TERMINAL:
                if live:
                    out.write("\n")
                return job
            await asyncio.sleep(poll_interval)
    except (KeyboardInterrupt, asyncio.CancelledError):
        out.write(f"\nStopped following; the job keeps running. Check it with `catchbot finetune status {job_id}`.\n")
        out.flush()
        raise


def _emit(out: TextIO, live: bool, line: str) -> None:
    out.write(("\r\x1b[2K" if live else "") + line + "\n")


# --- reading a job ---------------------------------------------------------------------


def format_job(job: Any, events: Sequence[Any]) -> str:
    hp = getattr(job, "hyperparameters", None)
    method = getattr(job, "method", None)
    supervised = getattr(method, "supervised", None) if method is not None else None
    if supervised is not None and getattr(supervised, "hyperparameters", None) is not None:
        hp = supervised.hyperparameters
    hp_text = (
        ", ".join(
            f"{name} {getattr(hp, name, None) if getattr(hp, name, None) is not None else 'auto'}"
            for name in ("n_epochs", "batch_size", "learning_rate_multiplier")
        )
        if hp is not None
        else "not reported"
    )
    lines = [
        f"Job:              {job.id}",
        f"Status:           {job.status}",
        f"Base model:       {job.model}",
        f"Fine-tuned model: {job.fine_tuned_model or '-'}",
        f"Trained tokens:   {job.trained_tokens:,}" if job.trained_tokens else "Trained tokens:   -",
        f"Hyperparameters:  {hp_text}",
        f"Training file:    {job.training_file}"
        + (f"  validation file: {job.validation_file}" if job.validation_file else ""),
        f"Created:          {_when(job.created_at)}"
        + (f"  finished: {_when(job.finished_at)}" if job.finished_at else ""),
    ]
    if job.status == "failed":
        lines.append(f"Error:            {job_error(job)}")
    if events:
        lines.append("Newest events:")
        lines.extend(f"  [{_when(e.created_at)}] {e.message}" for e in events)
    return "\n".join(lines)


def _when(ts: int | None) -> str:
    if not ts:
        return "-"
    return datetime.fromtimestamp(ts, tz=UTC).astimezone().strftime("%Y-%m-%d %H:%M:%S")


def format_job_list(jobs: Sequence[Any]) -> str:
    if not jobs:
        return "No fine-tuning jobs."
    rows = [("JOB", "STATUS", "BASE", "FINE-TUNED MODEL", "CREATED")]
    rows += [(j.id, j.status, j.model, j.fine_tuned_model or "-", _when(j.created_at)) for j in jobs]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows)


# --- metrics -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MetricPoint:
    step: int
    train_loss: float | None
    valid_loss: float | None
    total: int | None = None


_STEP = re.compile(r"\bstep\s+(\d+)(?:\s*/\s*(\d+))?", re.IGNORECASE)
_TRAIN_LOSS = re.compile(r"(?:train(?:ing)?[\s_]+)?loss\s*[=:]\s*([0-9.eE+-]+)", re.IGNORECASE)
_VALID_LOSS = re.compile(r"valid(?:ation)?[\s_]+loss\s*[=:]\s*([0-9.eE+-]+)", re.IGNORECASE)


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number == number else None  # NaN is no measurement


def metric_from_event(event: Any) -> MetricPoint | None:
    """A loss point from a metrics event's ``data``, else from a "Step N/M: ... loss=x" message."""
    data = getattr(event, "data", None)
    if isinstance(data, dict) and "step" in data and ("train_loss" in data or "valid_loss" in data):
        step = _number(data.get("step"))
        if step is not None:
            total = _number(data.get("total_steps"))
            if not total:
                found = _STEP.search(str(getattr(event, "message", "") or ""))
                total = _number(found.group(2)) if found and found.group(2) else None
            return MetricPoint(
                int(step),
                _number(data.get("train_loss")),
                _number(data.get("valid_loss")),
                int(total) if total else None,
            )
    message = str(getattr(event, "message", "") or "")
    step_match = _STEP.search(message)
    if not step_match:
        return None
    valid_match = _VALID_LOSS.search(message)
    without_valid = _VALID_LOSS.sub("", message)
    train_match = _TRAIN_LOSS.search(without_valid)
    if not train_match and not valid_match:
        return None
    return MetricPoint(
        int(step_match.group(1)),
        _number(train_match.group(1)) if train_match else None,
        _number(valid_match.group(1)) if valid_match else None,
        int(step_match.group(2)) if step_match.group(2) else None,
    )


def parse_metrics_csv(raw: bytes) -> list[MetricPoint]:
    """The result file: plain CSV, or base64-encoded CSV as OpenAI serves it."""
    text = raw.decode("utf-8", "replace").lstrip("\ufeff")
    if not text.lstrip().lower().startswith("step"):
        try:
            text = base64.b64decode(raw.strip(), validate=False).decode("utf-8", "replace")
        except (binascii.Error, ValueError):
            return []
    points = []
    for row in csv.DictReader(io.StringIO(text)):
        step = _number(row.get("step"))
        if step is None:
            continue
        valid = _number(row.get("valid_loss")) if row.get("valid_loss") else None
        train = _number(row.get("train_loss")) if row.get("train_loss") else None
        points.append(MetricPoint(int(step), train, valid))
    return points


async def job_metrics(client: openai.AsyncOpenAI, job: Any) -> tuple[list[MetricPoint], str]:
    """Loss by step from the result file, else the checkpoints, else the events; and which it was."""
    for file_id in getattr(job, "result_files", None) or []:
        try:
            content = await client.files.content(file_id)
            points = parse_metrics_csv(content.content)
        except openai.APIStatusError:
            points = []  # result files can expire; fall through to the other sources
        if points:
            return points, f"result file {file_id}"
    try:
        async with provider_call(f"read the checkpoints of {job.id}"):
            page = await client.fine_tuning.jobs.checkpoints.list(job.id, limit=100)
        points = []
        for ckpt in page.data:
            m = ckpt.metrics
            points.append(MetricPoint(ckpt.step_number, _number(m.train_loss), _number(m.valid_loss)))
        if points:
            return sorted(points, key=lambda p: p.step), "checkpoints"
    except FinetuneError:
        pass  # not every compatible server has checkpoints
    async with provider_call(f"read the events of {job.id}"):
        page = await client.fine_tuning.jobs.list_events(job.id, limit=1000)
    by_step: dict[int, MetricPoint] = {}
    for event in page.data:
        point = metric_from_event(event)
        if point is not None and point.step not in by_step:  # newest first: keep the newest per step
            by_step[point.step] = point
    return sorted(by_step.values(), key=lambda p: p.step), "events"


# --- putting a model in use ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ModelChange:
    game: Game
    space: str
    old: str | None  # the space's (or global) setting before, None when it was the default
    default: str
    new: str
    verified: bool

    def describe(self) -> str:
        where = "every space" if self.space == "*" else f"space {self.space}"
        before = self.old if self.old is not None else f"{self.default} (default)"
        note = "" if self.verified else " (not checked with a provider: none is configured)"
        return f"The {self.game} model for {where} is now {self.new} (was {before}){note}."


async def resolve_model(client: openai.AsyncOpenAI | None, ref: str) -> tuple[str, bool]:
    """A job id becomes its fine-tuned model (finished jobs only); a model id is checked to exist."""
    if ref.startswith("ftjob-"):
        if client is None:
            raise FinetuneError("A job id needs a model provider to look it up; configure one first.")
        return ensure_succeeded(await retrieve_job(client, ref)), True
    if client is None:
        return ref, False
    try:
        await client.models.retrieve(ref)
        return ref, True
    except openai.NotFoundError:
        pass
    except openai.APIStatusError as exc:
        raise FinetuneError(f"Could not check model {ref}: {exc.status_code} from the provider.") from exc
    # Some OpenAI-compatible servers list their models but do not answer GET /models/{id}.
    try:
        async for model in client.models.list():
            if model.id == ref:
                return ref, True
    except openai.APIError:
        pass
    try:  # some servers name jobs without the "ftjob-" prefix
        job = await client.fine_tuning.jobs.retrieve(ref)
    except openai.APIStatusError:
        raise FinetuneError(f"The provider knows no model or fine-tuning job called {ref}.") from None
    return ensure_succeeded(job), True


async def use_model(
    settings: Settings, client: openai.AsyncOpenAI | None, ref: str, game: Game, space: str
) -> ModelChange:
    """Store the model as the game's model for ``space`` (``*`` = every space)."""
    import storage

    model, verified = await resolve_model(client, ref)
    key = f"model.{game}"
    db = await storage.open_database(settings)
    try:
        old = await db.get_setting(space, key)
        if old is None and space != "*":
            old = await db.get_setting("*", key)
        await db.set_setting(space, key, model)
    finally:
        await db.close()
    default = settings.model_config_for(game).model
    return ModelChange(game=game, space=space, old=old, default=default, new=model, verified=verified)


async def spaces_using(settings: Settings, model: str) -> list[str]:
    """Global model settings that name ``model`` (to warn before it disappears)."""
    import storage

    if not await asyncio.to_thread(Path(settings.db_path).exists):
        return []
    db = await storage.open_database(settings)
    try:
        return [g for g in ("drawing", "dialect") if await db.get_setting("*", f"model.{g}") == model]
    finally:
        await db.close()
