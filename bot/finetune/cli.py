"""The ``dataset``, ``finetune`` and ``eval`` commands of the ``catchbot`` CLI.

:func:`register` adds them to the main parser's subcommands; every leaf sets
``handler=fn(args, settings) -> int``. Handlers print reports on stdout,
progress on stderr, and turn every expected failure into one sentence on
stderr with exit status 1 (never a traceback).
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import sys
from collections.abc import Awaitable, Callable
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from bot.config import GAMES, ConfigError, Settings
from bot.errors import UserError
from bot.finetune.errors import FinetuneError

Handler = Callable[[argparse.Namespace, Settings], int | Awaitable[int]]
DEFAULT_POLL_SECONDS = 10.0
DEFAULT_VALID_FRACTION = 0.1


# --- argument types ---------------------------------------------------------------


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0:
        raise argparse.ArgumentTypeError("must be above 0")
    return value


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError("must be at least 0 and below 1")
    return value


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2026-11-30") from None


# --- error handling -----------------------------------------------------------------


def _fail(sentence: str) -> int:
    """One sentence on stderr and exit status 2, as for every failed command (1 is a verdict: "not usable")."""
    print(f"catchbot: {sentence}", file=sys.stderr)
    return 2


def _guarded(fn: Callable[[argparse.Namespace, Settings], Awaitable[int]]) -> Handler:
    """Async handler whose expected failures become one sentence and exit status 2."""

    @functools.wraps(fn)
    async def wrapper(args: argparse.Namespace, settings: Settings) -> int:
        from storage import StorageError

        try:
            return await fn(args, settings)
        except UserError as exc:  # FinetuneError included
            return _fail(str(exc))
        except (ConfigError, StorageError) as exc:
            return _fail(str(exc))

    return wrapper


def _guarded_sync(fn: Callable[[argparse.Namespace, Settings], int]) -> Handler:
    @functools.wraps(fn)
    def wrapper(args: argparse.Namespace, settings: Settings) -> int:
        try:
            return fn(args, settings)
        except (UserError, ConfigError) as exc:
            return _fail(str(exc))

    return wrapper


# --- dataset ------------------------------------------------------------------------


@_guarded_sync
def cmd_dataset_dialect(args: argparse.Namespace, settings: Settings) -> int:
    from bot.finetune.datasets import build_dialect

    missing = [str(p) for p in args.paths if not p.exists()]
    if missing:
        raise FinetuneError(f"Not found: {', '.join(missing)}.")
    result = build_dialect(
        settings,
        args.paths,
        args.out,
        valid_out=args.valid_out,
        valid_fraction=args.valid_fraction,
        seed=args.seed,
        source=args.source,
        limit=args.limit,
    )
    print("\n".join(result.lines))
    if result.written == 0:
        return _fail("No sentence pair was written; check that the folders hold AI-Hub label (JSON) files.")
    return 0


@_guarded
async def cmd_dataset_drawings(args: argparse.Namespace, settings: Settings) -> int:
    from bot.finetune.datasets import build_drawings
    from bot.spaces import resolve_space_in

    since = datetime.combine(args.since, time.min, tzinfo=settings.zone) if args.since else None
    result = await build_drawings(
        settings,
        args.out,
        space=None if args.space is None else await resolve_space_in(settings, args.space),
        since=since,
        lang=args.lang,
        valid_out=args.valid_out,
        valid_fraction=args.valid_fraction,
        seed=args.seed,
    )
    print("\n".join(result.lines))
    if result.written == 0:
        return _fail("No drawing example was written.")
    return 0


@_guarded_sync
def cmd_dataset_check(args: argparse.Namespace, settings: Settings) -> int:
    from bot.finetune.check import check_file, format_report

    if not args.file.is_file():
        raise FinetuneError(f"Not found: {args.file}.")
    report = check_file(
        args.file,
        base_model=args.model,
        epochs=args.epochs,
        prices=settings.training_prices,
        image_detail=settings.image_detail,
    )
    print(format_report(report))
    return 0 if report.usable else 1


# --- finetune -----------------------------------------------------------------------


def _is_local(ref: str | None) -> bool:
    from bot.finetune.local.jobs import PREFIX

    return bool(ref) and str(ref).startswith(PREFIX)


async def _start_local(args: argparse.Namespace, settings: Settings) -> int:
    from bot.finetune.local import jobs as local
    from bot.finetune.local.data import read_examples

    # Read both files now: a bad line is reported here, not minutes later in the training log.
    _examples, kind = await asyncio.to_thread(read_examples, args.file)
    if args.valid is not None:
        await asyncio.to_thread(read_examples, args.valid)
    base = await asyncio.to_thread(local.resolve_base, args.base)
    await asyncio.to_thread(local.check_can_train, base, allow_download=args.allow_download)
    given = {
        "epochs": args.epochs,
        "lr": args.lr,
        "lora_r": args.lora_r,
        "lora_alpha": args.lora_alpha,
        "max_steps": args.max_steps,
        "batch_size": args.batch_size,
    }
    params = local.Params(**{name: value for name, value in given.items() if value is not None})
    if args.lora_alpha is None:
        params.lora_alpha = 2 * params.lora_r
    job = await asyncio.to_thread(
        local.start,
        settings.train_dir,
        base=base,
        train_file=args.file,
        validation_file=args.valid,
        params=params,
        out=args.out,
        allow_download=args.allow_download,
    )
    print(f"Started local fine-tuning job {job.id} on {job.base} ({kind} data)")
    print(f"Job: {job.id}")
    print(f"Follow it with `catchbot finetune status {job.id}`; its log is {job.path / local.LOG}.")
    return 0


@_guarded
async def cmd_finetune_start(args: argparse.Namespace, settings: Settings) -> int:
    from bot.finetune import jobs
    from bot.finetune.check import check_file, format_report

    files = [(args.file, "training", 10)] + ([(args.valid, "validation", 1)] if args.valid else [])
    for path, kind, _min in files:
        if not path.is_file():  # a device (/dev/zero), a folder or a pipe never ends or is no file
            raise FinetuneError(f"The {kind} file {path} does not exist or is not a regular file.")
    if args.backend == "local":
        return await _start_local(args, settings)
    for path, kind, min_examples in files:
        report = await asyncio.to_thread(
            check_file,
            path,
            base_model=args.base,
            epochs=args.epochs if kind == "training" else None,
            prices=settings.training_prices,
            min_examples=min_examples,
            image_detail=settings.image_detail,
            training=kind == "training",
        )
        print(format_report(report))
        if not report.usable:
            raise FinetuneError(f"Refusing to upload {path}: fix the problems listed above first.")
    client = jobs.client_for(settings)
    try:
        train = await jobs.upload(client, args.file)
        print(f"Uploaded {args.file} as {train.id}")
        valid_id = None
        if args.valid:
            valid = await jobs.upload(client, args.valid)
            valid_id = valid.id
            print(f"Uploaded {args.valid} as {valid_id}")
        job = await jobs.create_job(
            client,
            base=args.base,
            training_file=train.id,
            validation_file=valid_id,
            epochs=args.epochs,
            batch_size=args.batch_size,
            lr_multiplier=args.lr_multiplier,
            suffix=args.suffix,
        )
        print(f"Started fine-tuning job {job.id} on {args.base}")
        print(f"Job: {job.id}")
        if args.detach:
            print(f"Follow it with `catchbot finetune status {job.id} --follow`.")
            return 0
        return await _follow_to_end(client, job.id, args.poll_interval)
    finally:
        await client.close()


async def _follow_to_end(client: Any, job_id: str, poll_interval: float) -> int:
    from bot.finetune import jobs

    job = await jobs.follow(client, job_id, poll_interval=poll_interval)
    model = jobs.ensure_succeeded(job)  # raises the failure/cancel sentence
    print(f"Fine-tuned model: {model}")
    print(f"Put it in play with `catchbot finetune use {job.id} --game dialect|drawing`.")
    return 0


@_guarded
async def cmd_finetune_status(args: argparse.Namespace, settings: Settings) -> int:
    from bot.finetune import jobs

    if _is_local(args.job):
        return await _local_status(args, settings)
    try:
        client = jobs.client_for(settings)
    except FinetuneError:
        if args.job is None:  # no provider: the newest local job, if there is one
            from bot.finetune.local import jobs as local

            own = await asyncio.to_thread(local.all_jobs, settings.train_dir)
            if own:
                args.job = own[0].id
                return await _local_status(args, settings)
        raise
    try:
        job = await (jobs.retrieve_job(client, args.job) if args.job else jobs.newest_job(client))
        events = await jobs.job_events(client, job.id, args.events)
        print(jobs.format_job(job, events))
        if args.plot:
            from bot.finetune.plot import plot_losses

            points, source = await jobs.job_metrics(client, job)
            title = f"{job.id} ({job.fine_tuned_model or job.model})"
            await asyncio.to_thread(plot_losses, points, args.plot, title=title)
            print(f"Wrote the loss plot ({len(points)} steps, from the {source}) to {args.plot}")
        if args.follow and job.status not in jobs.TERMINAL:
            return await _follow_to_end(client, job.id, args.poll_interval)
        return 0
    finally:
        await client.close()


async def _local_status(args: argparse.Namespace, settings: Settings) -> int:
    from bot.finetune.local import jobs as local

    job = await asyncio.to_thread(local.find, settings.train_dir, args.job)
    print(local.format_local_job(job))
    if args.plot:
        steps = await asyncio.to_thread(job.plot, args.plot)
        print(f"Wrote the loss plot ({steps} steps) to {args.plot}")
    return 0


@_guarded
async def cmd_finetune_list(args: argparse.Namespace, settings: Settings) -> int:
    from bot.finetune import jobs
    from bot.finetune.local import jobs as local

    own = await asyncio.to_thread(local.all_jobs, settings.train_dir)
    if own:
        print(local.format_local_list(own[: args.limit]))
    try:
        client = jobs.client_for(settings)
    except FinetuneError:
        if own:
            return 0  # local jobs need no provider
        raise
    try:
        if own:
            print()
        print(jobs.format_job_list(await jobs.list_jobs(client, args.limit)))
        return 0
    finally:
        await client.close()


@_guarded
async def cmd_finetune_cancel(args: argparse.Namespace, settings: Settings) -> int:
    from bot.finetune import jobs

    if _is_local(args.job):
        from bot.finetune.local import jobs as local

        own = await asyncio.to_thread(local.cancel, await asyncio.to_thread(local.find, settings.train_dir, args.job))
        print(f"Local fine-tuning job {own.id} is now {own.status}.")
        return 0
    client = jobs.client_for(settings)
    try:
        job = await jobs.cancel_job(client, args.job)
        print(f"Fine-tuning job {job.id} is now {job.status}.")
        return 0
    finally:
        await client.close()


@_guarded
async def cmd_finetune_use(args: argparse.Namespace, settings: Settings) -> int:
    from bot.finetune import jobs
    from bot.spaces import resolve_space_in

    if _is_local(args.ref):
        from bot.finetune.local import jobs as local

        own = await asyncio.to_thread(local.find, settings.train_dir, args.ref)
        if own.status != "succeeded":
            raise FinetuneError(f"Local job {own.id} is {own.status}; only a finished job can be used.")
        space = await resolve_space_in(settings, args.space, every=True)
        change = await jobs.use_model(settings, None, own.served_name, args.game, space)
        print(change.describe())
        print(f"Serve it under that name first: catchbot finetune serve-command {own.id}")
        return 0
    # A provider is needed to turn a job id into its model and to check a model exists;
    # a bare model id can still be stored without one (e.g. set up before the key).
    try:
        client = jobs.client_for(settings)
    except FinetuneError:
        if args.ref.startswith("ftjob-"):
            raise
        client = None
    try:
        space = await resolve_space_in(settings, args.space, every=True)
        change = await jobs.use_model(settings, client, args.ref, args.game, space)
    finally:
        if client is not None:
            await client.close()
    print(change.describe())
    return 0


@_guarded
async def cmd_finetune_delete(args: argparse.Namespace, settings: Settings) -> int:
    from bot.finetune import jobs

    if _is_local(args.model):
        from bot.finetune.local import jobs as local

        own = await asyncio.to_thread(local.find, settings.train_dir, args.model)
        await asyncio.to_thread(local.delete, own)
        print(f"Deleted local job {own.id} and its adapter.")
        return 0
    client = jobs.client_for(settings)
    try:
        await jobs.delete_model(client, args.model)
    finally:
        await client.close()
    print(f"Deleted model {args.model}.")
    for game in await jobs.spaces_using(settings, args.model):
        print(
            f"Warning: it is still the {game} model for every space; "
            f"switch with `catchbot finetune use MODEL --game {game}`."
        )
    return 0


@_guarded_sync
def cmd_finetune_serve_command(args: argparse.Namespace, settings: Settings) -> int:
    from bot.finetune.local import jobs as local

    print(local.serve_command(local.find(settings.train_dir, args.job)))
    return 0


@_guarded
async def cmd_finetune_export(args: argparse.Namespace, settings: Settings) -> int:
    from bot.finetune.local import jobs as local
    from bot.finetune.local.export import merge

    job = await asyncio.to_thread(local.find, settings.train_dir, args.job)
    print(f"Merging {job.id} into {job.base}…", file=sys.stderr)
    out = await asyncio.to_thread(merge, job, args.merge)
    print(f"Wrote the merged model to {out}")
    return 0


@_guarded_sync
def cmd_finetune_models(args: argparse.Namespace, settings: Settings) -> int:
    from bot.finetune.local.models import format_models

    print(format_models())
    return 0


# --- eval -----------------------------------------------------------------------------


async def _evaluate(args: argparse.Namespace, settings: Settings, game: str) -> int:
    from bot.finetune import evaluate

    if not args.file.is_file():
        raise FinetuneError(f"Not found: {args.file}.")
    examples, unusable = await asyncio.to_thread(evaluate.read_examples, args.file, args.limit)
    if not examples:
        raise FinetuneError(f"{args.file} has no example with a user message and an assistant answer.")
    if unusable:
        print(f"Skipped {unusable} line(s) without a usable example.", file=sys.stderr)
    models = list(dict.fromkeys(args.model))
    runs = await evaluate.run_models(settings, game, examples, models, concurrency=args.concurrency)  # type: ignore[arg-type]
    build = evaluate.dialect_report if game == "dialect" else evaluate.drawing_report
    text, payload = await asyncio.to_thread(build, args.file, examples, runs)
    print(text)
    if args.json:
        data = json.dumps(payload, ensure_ascii=False, indent=2)
        await asyncio.to_thread(args.json.write_text, data + "\n", encoding="utf-8")
        print(f"Wrote {args.json}")
    if all(run.answered == 0 for run in runs):
        first = next((r.failures.most_common(1)[0][0] for r in runs if r.failures), "no answers")
        return _fail(f"No model answered: {first}.")
    return 0


@_guarded
async def cmd_eval_dialect(args: argparse.Namespace, settings: Settings) -> int:
    return await _evaluate(args, settings, "dialect")


@_guarded
async def cmd_eval_drawing(args: argparse.Namespace, settings: Settings) -> int:
    return await _evaluate(args, settings, "drawing")


# --- parser ---------------------------------------------------------------------------


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add ``dataset``, ``finetune`` and ``eval`` with their subcommands."""
    # dataset ---------------------------------------------------------------------
    dataset = sub.add_parser("dataset", help="build and check fine-tuning files (chat JSONL)")
    ds = dataset.add_subparsers(dest="dataset_command", metavar="COMMAND", required=True)

    p = ds.add_parser("dialect", help="AI-Hub dialect label files -> chat JSONL")
    p.add_argument("paths", nargs="+", type=Path, metavar="DIR", help="label folders or JSON files")
    p.add_argument("--out", type=Path, required=True, help="training file to write (.jsonl)")
    _split_options(p)
    p.add_argument(
        "--source",
        choices=("dialect", "pronunciation"),
        default="dialect",
        help="which transcription is the user message (default: dialect)",
    )
    p.add_argument("--limit", type=_positive_int, help="stop after this many pairs")
    p.set_defaults(handler=cmd_dataset_dialect)

    p = ds.add_parser("drawings", help="drawings collected in play -> vision chat JSONL")
    p.add_argument("--out", type=Path, required=True, help="training file to write (.jsonl)")
    p.add_argument(
        "--space", help="only this space: its id, the server's or team's id, or its name (default: every space)"
    )
    p.add_argument("--since", type=_day, help="only drawings from this day on (YYYY-MM-DD)")
    p.add_argument("--lang", choices=("en", "ko"), default="en", help="language of the answers (default: en)")
    _split_options(p)
    p.set_defaults(handler=cmd_dataset_drawings)

    p = ds.add_parser("check", help="find what a provider would reject or waste in a training file")
    p.add_argument("file", type=Path, metavar="FILE.jsonl")
    p.add_argument("--model", help="base model, for context limit, image tokens and price")
    p.add_argument("--epochs", type=_positive_int, help="epochs (default: what the provider would pick)")
    p.set_defaults(handler=cmd_dataset_check)

    # finetune --------------------------------------------------------------------
    finetune = sub.add_parser("finetune", help="fine-tuning jobs (any OpenAI-compatible endpoint)")
    ft = finetune.add_subparsers(dest="finetune_command", metavar="COMMAND", required=True)

    p = ft.add_parser("start", help="check, upload and start a fine-tuning job (or train one here)")
    p.add_argument("file", type=Path, metavar="FILE.jsonl")
    p.add_argument("--valid", "--validation", type=Path, metavar="FILE", help="validation file")
    p.add_argument("--base", required=True, metavar="MODEL", help="base model (local: a folder or cached HF id)")
    p.add_argument(
        "--backend",
        choices=("provider", "local"),
        default="provider",
        help="provider: the OpenAI-compatible endpoint's jobs (default); local: a LoRA adapter trained here",
    )
    p.add_argument("--epochs", type=_positive_int)
    p.add_argument("--batch-size", type=_positive_int)
    p.add_argument("--lr", type=_positive_float, help="local: learning rate (default 2e-4)")
    p.add_argument("--lora-r", type=_positive_int, help="local: LoRA rank (default 16)")
    p.add_argument("--lora-alpha", type=_positive_int, help="local: LoRA alpha (default 2 x rank)")
    p.add_argument("--max-steps", type=_positive_int, help="local: stop after N steps")
    p.add_argument("--out", type=Path, metavar="DIR", help="local: where the adapter goes (default: the job folder)")
    p.add_argument("--allow-download", action="store_true", help="local: let the base be fetched from the Hub")
    p.add_argument("--lr-multiplier", type=_positive_float)
    p.add_argument("--suffix", help="text the provider puts in the fine-tuned model's name")
    p.add_argument("--detach", action="store_true", help="start and return without following")
    _poll_option(p)
    p.set_defaults(handler=cmd_finetune_start)

    p = ft.add_parser("status", help="a job's status and newest events (default: the newest job)")
    p.add_argument("job", nargs="?", metavar="JOB")
    p.add_argument("--plot", type=Path, metavar="FILE.png", help="draw training/validation loss by step")
    p.add_argument("--follow", action="store_true", help="keep following until the job ends")
    p.add_argument("--events", type=_positive_int, default=10, help="how many events to show (default 10)")
    _poll_option(p)
    p.set_defaults(handler=cmd_finetune_status)

    p = ft.add_parser("list", help="recent fine-tuning jobs")
    p.add_argument("--limit", type=_positive_int, default=10)
    p.set_defaults(handler=cmd_finetune_list)

    p = ft.add_parser("cancel", help="cancel a running job")
    p.add_argument("job", metavar="JOB")
    p.set_defaults(handler=cmd_finetune_cancel)

    p = ft.add_parser("use", help="make a fine-tuned model a game's model")
    p.add_argument("ref", metavar="JOB|MODEL")
    p.add_argument("--game", choices=GAMES, required=True)
    p.add_argument(
        "--space", default="*", help="only this space: its id, the server's or team's id, or its name (default: *)"
    )
    p.set_defaults(handler=cmd_finetune_use)

    p = ft.add_parser("delete", help="delete a fine-tuned model at the provider, or a local job")
    p.add_argument("model", metavar="MODEL|LOCAL_JOB")
    p.set_defaults(handler=cmd_finetune_delete)

    p = ft.add_parser("serve-command", help="the vLLM command that serves a local job's adapter")
    p.add_argument("job", metavar="LOCAL_JOB")
    p.set_defaults(handler=cmd_finetune_serve_command)

    p = ft.add_parser("export", help="write a local job's base model with its adapter merged in")
    p.add_argument("job", metavar="LOCAL_JOB")
    p.add_argument("--merge", type=Path, required=True, metavar="OUT", help="folder for the merged model")
    p.set_defaults(handler=cmd_finetune_export)

    p = ft.add_parser("models", help="open-weights bases suggested for local fine-tuning")
    p.set_defaults(handler=cmd_finetune_models)

    # eval ------------------------------------------------------------------------
    evaluation = sub.add_parser("eval", help="score models on a held-out chat JSONL file")
    ev = evaluation.add_subparsers(dest="eval_command", metavar="COMMAND", required=True)
    for game, handler, what in (
        ("dialect", cmd_eval_dialect, "BLEU, chrF and ROUGE-L against the references"),
        ("drawing", cmd_eval_drawing, "accuracy judged like in-game guesses"),
    ):
        p = ev.add_parser(game, help=what)
        p.add_argument("file", type=Path, metavar="FILE.jsonl")
        p.add_argument("--model", action="append", required=True, help="a model to evaluate (repeatable)")
        p.add_argument("--limit", type=_positive_int, help="only the first N examples")
        p.add_argument("--concurrency", type=_positive_int, default=4, help="calls in flight (default 4)")
        p.add_argument("--json", type=Path, metavar="OUT", help="also write the results as JSON")
        p.set_defaults(handler=handler)


def _split_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--valid-fraction",
        type=_fraction,
        default=DEFAULT_VALID_FRACTION,
        help=f"share of examples for validation (default {DEFAULT_VALID_FRACTION}; 0 = none)",
    )
    p.add_argument("--valid-out", type=Path, help="validation file (default: FILE.valid.jsonl beside --out)")
    p.add_argument("--seed", type=int, default=0, help="seed of the train/validation split (default 0)")


def _poll_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--poll-interval",
        type=_positive_float,
        default=DEFAULT_POLL_SECONDS,
        metavar="SECONDS",
        help=f"seconds between status checks (default {DEFAULT_POLL_SECONDS:g})",
    )
