"""A local OpenAI-compatible HTTP server for tests (aiohttp, 127.0.0.1, random port).

The real ``openai`` client talks to it over HTTP, so tests exercise our code,
the SDK and the wire format together. Everything is in memory and
deterministic; nothing leaves the loopback interface.

Usage::

    async with OpenAIStub() as stub:
        client = openai.AsyncOpenAI(api_key="x", base_url=stub.base_url, max_retries=0)
        stub.chat_reply = lambda body: "apple"
        ...
        assert stub.requests[-1].json["model"] == "gpt-6-luna"

Attributes you may set (all optional)
-------------------------------------
``chat_reply``      ``Callable[[dict], str | None | Awaitable[str | None]]`` deciding the
                    assistant text from the request body (default: ``"stub answer"``;
                    ``None`` gives ``content: null``).
``delays``          ``{model: seconds}`` to sleep before answering a chat call for that model
                    (``default_delay`` for every other model).
``drips``           ``{model: seconds}``: send that model's reply body a few bytes at a time over
                    this long, each piece well within a read time-out (a server that drips).
``include_usage``   ``False`` to leave ``usage`` out of chat replies (some local servers do).
``usage``           ``(prompt_tokens, completion_tokens)``, or a callable ``(body, reply) ->`` that
                    pair, to report instead of the built-in count (words of text + 1 per text
                    part + 85 per image; completion = words of the reply).
``missing_models``  ids the chat endpoint answers with 404 ``model_not_found`` (also hidden
                    from ``/v1/models``). Deleted fine-tuned models land here too.
``models``          ``{id: model object}`` listed by ``GET /v1/models`` (base models preset).
``serves_model_lookup`` ``False``: ``GET /v1/models/{id}`` is a plain 404 route miss, as on
                    servers that only list their models (some vLLM and llama.cpp builds).
``required_key``    when set, requests without ``Authorization: Bearer <key>`` or
                    ``api-key: <key>`` get 401.
``file_check``      ``Callable[[filename, bytes], str | None]``: a returned string rejects an
                    upload with 400 ``invalid_file`` and that message.
``job_script``      statuses a new fine-tuning job walks through, one step per
                    ``GET /v1/fine_tuning/jobs/{id}`` (default ``["validating_files",
                    "running", "succeeded"]``). An entry may be ``(status, fields)`` to also
                    set fields, e.g. ``("failed", {"error": {"code": "x", "message": "y"}})``.
                    Set ``auto_advance = False`` to keep jobs where they are.
``job_steps``       training steps a job reports (default 10): step events, metrics CSV rows.
``results_base64``  serve the metrics CSV base64-encoded, as OpenAI has been seen to do for
                    result files (default ``False``: plain CSV). Robust readers handle both.

Methods
-------
``fail(path_prefix, status=500, times=1, body=None, headers=None, *, hang=None, model=None)``
    Inject an error for the next ``times`` requests (``None`` = every request) whose path
    starts with ``path_prefix`` (``"/v1/chat/completions"``; ``"/chat/completions"`` also
    matches the Azure path) and, for chat, whose model is ``model`` if given. ``body``
    defaults to an OpenAI error object; ``headers`` e.g. ``{"retry-after": "1"}``.
    ``hang=seconds`` sleeps that long first (longer than the client time-out = a hang).
    Returns the :class:`Fault`, whose ``hits`` counts the requests it answered.
``hang(path_prefix, seconds=30.0, times=1)``   shorthand for a hanging request.
``advance(job_id, status, **fields)``  move a job now (side effects as on the script:
    ``succeeded`` makes the model, result file, checkpoints and events).
``fail_job(job_id, message, code="stub_job_failed")``  fail a job with ``error``.
``add_file(data, filename="train.jsonl", purpose="fine-tune") -> file id``  preload a file.
``await wait_for_requests(count, within=5.0)``  until ``count`` requests have arrived.
``chat_requests()``  JSON bodies of chat calls so far; ``paths()`` the request paths.
``requests`` is a list of :class:`Recorded` (method, path, query, headers, json, form,
filenames). ``form`` holds multipart fields; file parts as ``bytes``.

Endpoints
---------
``POST /v1/chat/completions``; Azure ``POST /openai/deployments/{d}/chat/completions``
(model = deployment). ``GET /v1/models``, ``GET|DELETE /v1/models/{id}`` (delete only
for fine-tuned models the stub created, 404 otherwise). ``POST|GET /v1/files``,
``GET|DELETE /v1/files/{id}``, ``GET /v1/files/{id}/content``. ``POST|GET
/v1/fine_tuning/jobs`` (list newest first, ``limit``, ``after``), ``GET
/v1/fine_tuning/jobs/{id}``, ``POST .../{id}/cancel``, ``GET .../{id}/events``
(newest first, ``limit``, ``after``), ``GET .../{id}/checkpoints``.

Errors follow OpenAI's shape ``{"error": {"message", "type", "param", "code"}}``: unknown
file/job/model ids are 404; a job whose ``training_file``/``validation_file`` is unknown is
400 with ``param`` naming it and ``code`` ``invalid_training_file``/``invalid_validation_file``;
cancelling a finished job is 400 ``invalid_state``. Faults are checked before all of this,
in the order they were added (the first live match answers).

Ids are deterministic per stub: ``file-stub0001``, ``ftjob-stub0002``, ... (one counter).
State to inspect: ``stub.files`` (``{id: StubFile}`` with ``data`` bytes), ``stub.jobs``
(``{id: StubJob}``; ``.data`` is the job JSON, ``.events``/``.checkpoints`` oldest first).

A succeeded job gets ``fine_tuned_model = "ft:{base}:stub:{suffix}:{last 8 of job id}"``,
``trained_tokens``, a ``step_metrics.csv`` result file (columns ``step, train_loss,
train_accuracy, valid_loss, valid_mean_token_accuracy, full_valid_loss,
full_valid_mean_token_accuracy``; valid columns empty without a validation file) and three
checkpoints; the model then shows in ``/v1/models`` and answers chat calls.
"""

from __future__ import annotations

import asyncio
import base64
import inspect
import json
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from aiohttp import web

JSON = dict[str, Any]
ChatReply = Callable[[JSON], "str | Awaitable[str | None] | None"]

BASE_MODELS = (
    "gpt-6-luna",
    "gpt-6.1-terra",
    "gpt-6.1-sol",
    "gpt-4o",
    "gpt-4o-mini",
    "gpt-4.1",
    "gpt-4.1-mini",
)
DEFAULT_JOB_SCRIPT: tuple[str, ...] = ("validating_files", "running", "succeeded")
TERMINAL = frozenset({"succeeded", "failed", "cancelled"})
DEFAULT_HYPERPARAMETERS = {"n_epochs": 3, "batch_size": 1, "learning_rate_multiplier": 2.0}


@dataclass
class Recorded:
    """One request as the stub saw it."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    json: Any = None
    form: dict[str, str | bytes] = field(default_factory=dict)
    filenames: dict[str, str] = field(default_factory=dict)


RECORDED = web.RequestKey("recorded", Recorded)


@dataclass
class Fault:
    """An injected error; see :meth:`OpenAIStub.fail`."""

    path_prefix: str
    status: int
    times: int | None
    body: Any
    headers: dict[str, str]
    hang: float | None
    model: str | None
    hits: int = 0

    def matches(self, path: str, model: str | None) -> bool:
        if self.times is not None and self.hits >= self.times:
            return False
        if self.model is not None and model != self.model:
            return False
        # "/v1/x" and "/x" mean the same; a chat prefix also matches the Azure deployment path.
        bare_prefix = self.path_prefix.removeprefix("/v1")
        return (
            path.startswith(self.path_prefix)
            or path.removeprefix("/v1").startswith(bare_prefix)
            or (bare_prefix == "/chat/completions" and path.endswith(bare_prefix))
        )


@dataclass
class StubFile:
    id: str
    filename: str
    purpose: str
    data: bytes
    created_at: int

    def as_json(self) -> JSON:
        return {
            "id": self.id,
            "object": "file",
            "bytes": len(self.data),
            "created_at": self.created_at,
            "filename": self.filename,
            "purpose": self.purpose,
            "status": "processed",
            "status_details": None,
            "expires_at": None,
        }


@dataclass
class StubJob:
    data: JSON
    script: list[str | tuple[str, JSON]]
    position: int = 0
    events: list[JSON] = field(default_factory=list)  # oldest first
    checkpoints: list[JSON] = field(default_factory=list)  # oldest first


def _error(
    status: int,
    message: str,
    *,
    code: str | None = None,
    type_: str = "invalid_request_error",
    param: str | None = None,
    headers: dict[str, str] | None = None,
) -> web.Response:
    body = {"error": {"message": message, "type": type_, "param": param, "code": code}}
    return web.json_response(body, status=status, headers=headers)


def _default_fault_body(status: int) -> JSON:
    if status == 429:
        return {
            "error": {
                "message": "Rate limit reached (stub).",
                "type": "requests",
                "param": None,
                "code": "rate_limit_exceeded",
            }
        }
    if status >= 500:
        return {
            "error": {
                "message": "The server had an error while processing your request (stub).",
                "type": "server_error",
                "param": None,
                "code": None,
            }
        }
    return {
        "error": {
            "message": f"Injected error {status} (stub).",
            "type": "invalid_request_error",
            "param": None,
            "code": None,
        }
    }


def _page(items: list[JSON], request: web.Request, default_limit: int = 20) -> JSON:
    """Cursor pagination as OpenAI does it: ``after`` = id of the last item already seen."""
    try:
        limit = max(1, min(int(request.query.get("limit", default_limit)), max(default_limit, 100)))
    except ValueError:
        limit = default_limit
    after = request.query.get("after")
    start = 0
    if after:
        ids = [item["id"] for item in items]
        start = ids.index(after) + 1 if after in ids else len(items)
    chunk = items[start : start + limit]
    return {"object": "list", "data": chunk, "has_more": start + limit < len(items)}


def _count_tokens(body: JSON) -> int:
    """A simple, deterministic token count: words of text plus 85 per image."""
    total = 0
    for message in body.get("messages") or []:
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, str):
            total += len(content.split()) + 1
        elif isinstance(content, list):
            for part in content:
                if not isinstance(part, dict):
                    continue
                if part.get("type") == "text":
                    total += len(str(part.get("text", "")).split()) + 1
                elif part.get("type") == "image_url":
                    total += 85
    return max(total, 1)


class OpenAIStub:
    """See the module docstring."""

    def __init__(self, *, host: str = "127.0.0.1") -> None:
        self.host = host
        self.port = 0
        self.requests: list[Recorded] = []
        self.chat_reply: ChatReply = lambda body: "stub answer"
        self.delays: dict[str, float] = {}
        self.default_delay = 0.0
        self.drips: dict[str, float] = {}
        self.include_usage = True
        self.usage: tuple[int, int] | Callable[[JSON, str | None], tuple[int, int]] | None = None
        self.missing_models: set[str] = set()
        self.serves_model_lookup = True
        now = int(time.time())
        self.models: dict[str, JSON] = {
            m: {"id": m, "object": "model", "created": now, "owned_by": "openai"} for m in BASE_MODELS
        }
        self.required_key: str | None = None
        self.file_check: Callable[[str, bytes], str | None] | None = None
        self.job_script: list[str | tuple[str, JSON]] = list(DEFAULT_JOB_SCRIPT)
        self.auto_advance = True
        self.job_steps = 10
        self.results_base64 = False
        self.files: dict[str, StubFile] = {}
        self.jobs: dict[str, StubJob] = {}
        self.faults: list[Fault] = []
        self._created_models: set[str] = set()
        self._counter = 0
        self._runner: web.AppRunner | None = None
        self._arrived = asyncio.Condition()

    # --- life cycle ------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    def player_settings(self) -> dict[str, object]:
        """Settings that make the bot's AI players use this server: no retries, a short time-out."""
        return {"openai_base_url": self.base_url, "openai_api_key": "test-key", "model_retries": 0, "model_timeout": 5}

    @property
    def azure_endpoint(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def start(self) -> OpenAIStub:
        app = web.Application(client_max_size=512 * 1024 * 1024, middlewares=[self._middleware])
        r = app.router
        r.add_post("/v1/chat/completions", self._chat)
        r.add_post("/openai/deployments/{deployment}/chat/completions", self._chat)
        r.add_get("/v1/models", self._list_models)
        r.add_get("/v1/models/{model}", self._get_model)
        r.add_delete("/v1/models/{model}", self._delete_model)
        r.add_post("/v1/files", self._create_file)
        r.add_get("/v1/files", self._list_files)
        r.add_get("/v1/files/{file_id}", self._get_file)
        r.add_delete("/v1/files/{file_id}", self._delete_file)
        r.add_get("/v1/files/{file_id}/content", self._file_content)
        r.add_post("/v1/fine_tuning/jobs", self._create_job)
        r.add_get("/v1/fine_tuning/jobs", self._list_jobs)
        r.add_get("/v1/fine_tuning/jobs/{job_id}", self._get_job)
        r.add_post("/v1/fine_tuning/jobs/{job_id}/cancel", self._cancel_job)
        r.add_get("/v1/fine_tuning/jobs/{job_id}/events", self._job_events)
        r.add_get("/v1/fine_tuning/jobs/{job_id}/checkpoints", self._job_checkpoints)
        # handler_cancellation: a client that gave up (time-out) stops its handler's sleep.
        self._runner = web.AppRunner(app, handler_cancellation=True, shutdown_timeout=0.5, access_log=None)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, 0))
        self.port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock).start()
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> OpenAIStub:
        return await self.start()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    # --- test controls ---------------------------------------------------------------------

    def fail(
        self,
        path_prefix: str,
        status: int = 500,
        times: int | None = 1,
        body: Any = None,
        headers: dict[str, str] | None = None,
        *,
        hang: float | None = None,
        model: str | None = None,
    ) -> Fault:
        fault = Fault(
            path_prefix=path_prefix,
            status=status,
            times=times,
            body=_default_fault_body(status) if body is None else body,
            headers=dict(headers or {}),
            hang=hang,
            model=model,
        )
        self.faults.append(fault)
        return fault

    def hang(self, path_prefix: str, seconds: float = 30.0, times: int | None = 1) -> Fault:
        return self.fail(path_prefix, 504, times, hang=seconds)

    async def wait_for_requests(self, count: int, within: float = 5.0) -> None:
        """Wait until at least ``count`` requests have arrived (they are recorded on arrival)."""
        async with asyncio.timeout(within), self._arrived:
            await self._arrived.wait_for(lambda: len(self.requests) >= count)

    def chat_requests(self) -> list[JSON]:
        return [r.json for r in self.requests if r.path.endswith("/chat/completions")]

    def paths(self) -> list[str]:
        return [r.path for r in self.requests]

    def add_file(self, data: bytes, filename: str = "train.jsonl", purpose: str = "fine-tune") -> str:
        stub_file = StubFile(self._new_id("file-stub"), filename, purpose, data, int(time.time()))
        self.files[stub_file.id] = stub_file
        return stub_file.id

    def advance(self, job_id: str, status: str, **fields: Any) -> JSON:
        job = self.jobs[job_id]
        self._set_status(job, status, fields)
        return job.data

    def fail_job(self, job_id: str, message: str, code: str = "stub_job_failed") -> JSON:
        return self.advance(job_id, "failed", error={"code": code, "message": message, "param": None})

    # --- plumbing --------------------------------------------------------------------------

    def _new_id(self, prefix: str) -> str:
        self._counter += 1
        return f"{prefix}{self._counter:04d}"

    @web.middleware
    async def _middleware(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        recorded = Recorded(
            method=request.method,
            path=request.path,
            query=dict(request.query),
            headers={k.lower(): v for k, v in request.headers.items()},
        )
        model: str | None = request.match_info.get("deployment")
        if request.content_type == "application/json" and request.can_read_body:
            try:
                recorded.json = await request.json()
            except json.JSONDecodeError:
                return _error(400, "We could not parse the JSON body of your request.")
            if model is None and isinstance(recorded.json, dict):
                model = recorded.json.get("model")
        elif request.content_type.startswith("multipart/"):
            reader = await request.multipart()
            async for part in reader:
                if part.name is None:
                    continue
                if part.filename is not None:
                    recorded.form[part.name] = bytes(await part.read())
                    recorded.filenames[part.name] = part.filename
                else:
                    recorded.form[part.name] = await part.text()
        self.requests.append(recorded)
        async with self._arrived:
            self._arrived.notify_all()
        request[RECORDED] = recorded

        if self.required_key is not None:
            keys = {
                recorded.headers.get("authorization", ""),
                "Bearer " + recorded.headers.get("api-key", ""),
            }
            if f"Bearer {self.required_key}" not in keys:
                return _error(401, "Incorrect API key provided.", code="invalid_api_key")

        for fault in self.faults:
            if fault.matches(request.path, model):
                fault.hits += 1
                if fault.hang:
                    await asyncio.sleep(fault.hang)
                if isinstance(fault.body, (dict, list)):
                    return web.json_response(fault.body, status=fault.status, headers=fault.headers)
                if isinstance(fault.body, bytes):  # sent as they are (a gzip body with its header, say)
                    return web.Response(body=fault.body, status=fault.status, headers=fault.headers)
                return web.Response(text=str(fault.body), status=fault.status, headers=fault.headers)
        return await handler(request)

    # --- chat ------------------------------------------------------------------------------

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        body = request[RECORDED].json
        if not isinstance(body, dict):
            return _error(400, "A JSON body is required.")
        model = request.match_info.get("deployment") or body.get("model")
        if not model:
            return _error(400, "you must provide a model parameter", param="model")
        if not isinstance(body.get("messages"), list) or not body["messages"]:
            return _error(400, "'messages' must be a non-empty array", param="messages")
        if model in self.missing_models:
            if request.match_info.get("deployment"):
                return _error(404, "The API deployment for this resource does not exist.", code="DeploymentNotFound")
            return _error(
                404,
                f"The model `{model}` does not exist or you do not have access to it.",
                code="model_not_found",
            )
        delay = self.delays.get(model, self.default_delay)
        if delay:
            await asyncio.sleep(delay)
        reply = self.chat_reply(body)
        if inspect.isawaitable(reply):
            reply = await reply
        content = None if reply is None else str(reply)
        payload: JSON = {
            "id": self._new_id("chatcmpl-stub"),
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content, "refusal": None},
                    "finish_reason": "stop",
                    "logprobs": None,
                }
            ],
            "system_fingerprint": None,
        }
        if self.include_usage:
            if callable(self.usage):
                prompt, completion = self.usage(body, content)
            elif self.usage is not None:
                prompt, completion = self.usage
            else:
                prompt, completion = _count_tokens(body), len((content or "").split())
            payload["usage"] = {
                "prompt_tokens": prompt,
                "completion_tokens": completion,
                "total_tokens": prompt + completion,
            }
        drip = self.drips.get(model)
        if drip:
            return await self._drip(request, json.dumps(payload).encode(), drip)
        return web.json_response(payload)

    @staticmethod
    async def _drip(request: web.Request, body: bytes, seconds: float) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        response.content_length = len(body)
        await response.prepare(request)
        pieces = 20
        size = max(len(body) // pieces, 1)
        for start in range(0, len(body), size):
            await asyncio.sleep(seconds / pieces)
            await response.write(body[start : start + size])
        await response.write_eof()
        return response

    # --- models ----------------------------------------------------------------------------

    def _visible_models(self) -> list[JSON]:
        return [m for mid, m in self.models.items() if mid not in self.missing_models]

    async def _list_models(self, request: web.Request) -> web.StreamResponse:
        return web.json_response({"object": "list", "data": self._visible_models()})

    async def _get_model(self, request: web.Request) -> web.StreamResponse:
        model = request.match_info["model"]
        if not self.serves_model_lookup:
            return web.Response(status=404, text="404: Not Found")
        if model in self.models and model not in self.missing_models:
            return web.json_response(self.models[model])
        return _error(404, f"The model '{model}' does not exist", code="model_not_found", param="model")

    async def _delete_model(self, request: web.Request) -> web.StreamResponse:
        model = request.match_info["model"]
        if model not in self._created_models or model in self.missing_models:
            return _error(404, f"The model '{model}' does not exist", code="model_not_found", param="model")
        self.models.pop(model, None)
        self.missing_models.add(model)
        return web.json_response({"id": model, "object": "model", "deleted": True})

    # --- files -----------------------------------------------------------------------------

    async def _create_file(self, request: web.Request) -> web.StreamResponse:
        recorded: Recorded = request[RECORDED]
        purpose = recorded.form.get("purpose")
        data = recorded.form.get("file")
        if not isinstance(purpose, str) or not purpose:
            return _error(400, "Missing required parameter: 'purpose'.", param="purpose")
        if not isinstance(data, bytes):
            return _error(400, "Missing required parameter: 'file'.", param="file")
        filename = recorded.filenames.get("file", "upload")
        if self.file_check is not None:
            reason = self.file_check(filename, data)
            if reason:
                return _error(400, reason, code="invalid_file", param="file")
        file_id = self.add_file(data, filename, purpose)
        return web.json_response(self.files[file_id].as_json())

    async def _list_files(self, request: web.Request) -> web.StreamResponse:
        purpose = request.query.get("purpose")
        items = [f.as_json() for f in reversed(self.files.values()) if purpose in (None, f.purpose)]
        page = _page(items, request, default_limit=10000)
        return web.json_response(page)

    def _file_or_404(self, request: web.Request) -> StubFile | web.Response:
        file_id = request.match_info["file_id"]
        found = self.files.get(file_id)
        if found is None:
            return _error(404, f"No such File object: {file_id}", param="id")
        return found

    async def _get_file(self, request: web.Request) -> web.StreamResponse:
        found = self._file_or_404(request)
        return found if isinstance(found, web.Response) else web.json_response(found.as_json())

    async def _delete_file(self, request: web.Request) -> web.StreamResponse:
        found = self._file_or_404(request)
        if isinstance(found, web.Response):
            return found
        del self.files[found.id]
        return web.json_response({"id": found.id, "object": "file", "deleted": True})

    async def _file_content(self, request: web.Request) -> web.StreamResponse:
        found = self._file_or_404(request)
        if isinstance(found, web.Response):
            return found
        return web.Response(body=found.data, content_type="application/octet-stream")

    # --- fine-tuning -----------------------------------------------------------------------

    async def _create_job(self, request: web.Request) -> web.StreamResponse:
        body = request[RECORDED].json
        if not isinstance(body, dict):
            return _error(400, "A JSON body is required.")
        model = body.get("model")
        if not isinstance(model, str) or not model:
            return _error(400, "Missing required parameter: 'model'.", param="model")
        for key in ("training_file", "validation_file"):
            file_id = body.get(key)
            if key == "training_file" and not file_id:
                return _error(400, "Missing required parameter: 'training_file'.", param=key)
            if file_id and file_id not in self.files:
                return _error(400, f"invalid {key}: {file_id}", code=f"invalid_{key}", param=key)
        method = body.get("method")
        legacy = body.get("hyperparameters")
        if isinstance(method, dict) and method.get("type") == "supervised":
            hyper = dict((method.get("supervised") or {}).get("hyperparameters") or {})
        else:
            hyper = dict(legacy or {})
        if not isinstance(method, dict):
            method = {"type": "supervised", "supervised": {"hyperparameters": dict(hyper)}}
        job_id = self._new_id("ftjob-stub")
        now = int(time.time())
        data: JSON = {
            "id": job_id,
            "object": "fine_tuning.job",
            "created_at": now,
            "error": None,
            "fine_tuned_model": None,
            "finished_at": None,
            "hyperparameters": {k: hyper.get(k, "auto") for k in DEFAULT_HYPERPARAMETERS},
            "model": model,
            "organization_id": "org-stub",
            "result_files": [],
            "seed": body.get("seed") if isinstance(body.get("seed"), int) else 42,
            "status": "",
            "trained_tokens": None,
            "training_file": body["training_file"],
            "validation_file": body.get("validation_file"),
            "estimated_finish": None,
            "integrations": body.get("integrations") or [],
            "metadata": body.get("metadata"),
            "method": method,
            "user_provided_suffix": body.get("suffix"),
        }
        job = StubJob(data=data, script=list(self.job_script))
        self.jobs[job_id] = job
        self._event(job, f"Created fine-tuning job: {job_id}")
        first = job.script[0] if job.script else "validating_files"
        status, fields = (first, {}) if isinstance(first, str) else first
        self._set_status(job, status, dict(fields))
        return web.json_response(data)

    async def _list_jobs(self, request: web.Request) -> web.StreamResponse:
        items = [job.data for job in reversed(self.jobs.values())]
        return web.json_response(_page(items, request))

    def _job_or_404(self, request: web.Request) -> StubJob | web.Response:
        job_id = request.match_info["job_id"]
        job = self.jobs.get(job_id)
        if job is None:
            return _error(404, f"Could not find fine tune job: {job_id}", code="fine_tune_job_not_found")
        return job

    async def _get_job(self, request: web.Request) -> web.StreamResponse:
        job = self._job_or_404(request)
        if isinstance(job, web.Response):
            return job
        if self.auto_advance and job.data["status"] not in TERMINAL and job.position + 1 < len(job.script):
            job.position += 1
            entry = job.script[job.position]
            status, fields = (entry, {}) if isinstance(entry, str) else entry
            self._set_status(job, status, dict(fields))
        return web.json_response(job.data)

    async def _cancel_job(self, request: web.Request) -> web.StreamResponse:
        job = self._job_or_404(request)
        if isinstance(job, web.Response):
            return job
        if job.data["status"] in TERMINAL:
            return _error(400, f"Job has already completed: {job.data['status']}", code="invalid_state")
        self._set_status(job, "cancelled", {})
        return web.json_response(job.data)

    async def _job_events(self, request: web.Request) -> web.StreamResponse:
        job = self._job_or_404(request)
        if isinstance(job, web.Response):
            return job
        return web.json_response(_page(list(reversed(job.events)), request))

    async def _job_checkpoints(self, request: web.Request) -> web.StreamResponse:
        job = self._job_or_404(request)
        if isinstance(job, web.Response):
            return job
        return web.json_response(_page(list(reversed(job.checkpoints)), request, default_limit=10))

    def _event(self, job: StubJob, message: str, *, level: str = "info", data: JSON | None = None) -> None:
        job.events.append(
            {
                "id": self._new_id("ftevent-stub"),
                "object": "fine_tuning.job.event",
                "created_at": int(time.time()),
                "level": level,
                "message": message,
                "data": data or {},
                "type": "metrics" if data else "message",
            }
        )

    def _set_status(self, job: StubJob, status: str, fields: JSON) -> None:
        data = job.data
        previous = data["status"]
        data["status"] = status
        if status == "validating_files" and previous != status:
            self._event(job, f"Validating training file: {data['training_file']}")
        elif status == "queued" and previous != status:
            self._event(job, "Files validated, moving job to queued state")
        elif status == "running" and previous != status:
            self._resolve_hyperparameters(data)
            self._event(job, "Fine-tuning job started")
            data["estimated_finish"] = int(time.time()) + 300
        elif status == "succeeded" and previous != status:
            self._resolve_hyperparameters(data)
            if "fine_tuned_model" not in fields:
                self._succeed(job)
        elif status == "failed" and previous != status:
            data["finished_at"] = int(time.time())
            data["estimated_finish"] = None
            if data.get("error") is None and "error" not in fields:
                fields["error"] = {
                    "code": "stub_job_failed",
                    "message": "The job failed (stub).",
                    "param": None,
                }
        elif status == "cancelled" and previous != status:
            data["finished_at"] = int(time.time())
            data["estimated_finish"] = None
            self._event(job, "Fine-tuning job cancelled")
        data.update(fields)
        if status == "failed" and previous != status:
            error = data.get("error") or {}
            self._event(job, f"Fine-tuning job failed: {error.get('message', '')}", level="error")
        if data.get("fine_tuned_model"):
            self._register_model(data["fine_tuned_model"])

    def _resolve_hyperparameters(self, data: JSON) -> None:
        resolved = {
            k: (DEFAULT_HYPERPARAMETERS[k] if v in (None, "auto") else v) for k, v in data["hyperparameters"].items()
        }
        data["hyperparameters"] = resolved
        method = data.get("method")
        if isinstance(method, dict) and method.get("type") == "supervised":
            method.setdefault("supervised", {})["hyperparameters"] = dict(resolved)

    def _succeed(self, job: StubJob) -> None:
        data = job.data
        steps = max(int(self.job_steps), 1)
        has_valid = bool(data.get("validation_file"))
        for step in range(1, steps + 1):
            metrics = self._metrics(step, steps, has_valid)
            self._event(
                job,
                f"Step {step}/{steps}: training loss={metrics['train_loss']:.2f}",
                data={k: v for k, v in metrics.items() if v is not None},
            )
        suffix = data.get("user_provided_suffix") or ""
        model = f"ft:{data['model']}:stub:{suffix}:{data['id'][-8:]}"
        rows = [
            "step,train_loss,train_accuracy,valid_loss,valid_mean_token_accuracy,"
            "full_valid_loss,full_valid_mean_token_accuracy"
        ]
        for step in range(1, steps + 1):
            m = self._metrics(step, steps, has_valid)
            cells = [
                m["step"],
                m["train_loss"],
                m["train_mean_token_accuracy"],
                m["valid_loss"],
                m["valid_mean_token_accuracy"],
                m["full_valid_loss"],
                m["full_valid_mean_token_accuracy"],
            ]
            rows.append(",".join("" if c is None else (str(c) if isinstance(c, int) else f"{c:.5f}") for c in cells))
        csv = ("\n".join(rows) + "\n").encode()
        if self.results_base64:
            csv = base64.b64encode(csv)
        result_id = self.add_file(csv, "step_metrics.csv", "fine-tune-results")
        training = self.files.get(data["training_file"])
        epochs = data["hyperparameters"].get("n_epochs", 3)
        epochs = epochs if isinstance(epochs, int) else 3
        trained = max(len(training.data) // 4, 1) * epochs if training else steps * 100
        for step in (steps - 2 * (steps // 3), steps - steps // 3, steps):
            if step < 1 or any(c["step_number"] == step for c in job.checkpoints):
                continue
            m = self._metrics(step, steps, has_valid)
            job.checkpoints.append(
                {
                    "id": self._new_id("ftckpt-stub"),
                    "object": "fine_tuning.job.checkpoint",
                    "created_at": int(time.time()),
                    "fine_tuned_model_checkpoint": f"{model}:ckpt-step-{step}",
                    "fine_tuning_job_id": data["id"],
                    "metrics": {k: v for k, v in m.items() if v is not None},
                    "step_number": step,
                }
            )
        data.update(
            fine_tuned_model=model,
            finished_at=int(time.time()),
            estimated_finish=None,
            trained_tokens=trained,
            result_files=[result_id],
        )
        self._event(job, f"New fine-tuned model created: {model}")
        self._event(job, "The job has successfully completed")

    @staticmethod
    def _metrics(step: int, steps: int, has_valid: bool) -> JSON:
        loss = round(2.0 * 0.8 ** (step - 1) + 0.1, 5)
        accuracy = round(min(0.3 + 0.6 * step / steps, 1.0), 5)
        last = step == steps
        return {
            "step": step,
            "train_loss": loss,
            "train_mean_token_accuracy": accuracy,
            "valid_loss": round(loss + 0.15, 5) if has_valid else None,
            "valid_mean_token_accuracy": round(accuracy - 0.05, 5) if has_valid else None,
            "full_valid_loss": round(loss + 0.2, 5) if has_valid and last else None,
            "full_valid_mean_token_accuracy": round(accuracy - 0.07, 5) if has_valid and last else None,
        }

    def _register_model(self, model: str) -> None:
        self._created_models.add(model)
        self.missing_models.discard(model)
        self.models.setdefault(
            model, {"id": model, "object": "model", "created": int(time.time()), "owned_by": "user-stub"}
        )
