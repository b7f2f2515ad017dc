"""A model behind any OpenAI-compatible server: vLLM, SGLang, llama.cpp, `transformers serve`, a hosted API.

Each rollout's turn is one HTTP request (`max_batch_size = 1`); the engine keeps many in flight
(`max_concurrent_batches`), and the server batches them itself. Rollouts are spread over the base URLs, each
rollout's turns to one server so that its prefix cache serves the conversation so far; one `AsyncOpenAI` client
each, with the client's own retries off: the engine retries
infrastructure errors (refused connections, timeouts, 408/429/5xx, and answers that are not OpenAI responses:
truncated or empty JSON, an HTML page) with backoff, so the retry policy lives in one place. Each request,
model lookup included, is bounded by `timeout_s` (`--rlvr-timeout`). Any other 4xx is a bug or a configuration
error and fails the case at once.

Two ways to talk to the server:

- `chat.completions` with `tools` (the default): the server renders the prompt with its chat template and
  parses tool calls with its tool parser. Structured `tool_calls` become ToolCalls whose `raw_arguments`
  is the arguments string exactly as the server returned it; arguments that are not a JSON object are kept
  raw with a `parse_error` (the environment answers a 400 the model sees). A server without a tool parser
  returns the `<tool_call>` markup as text: it is parsed here, as the in-process model's output is.
- `client_side=True`: the prompt is rendered here with our chat template (the one training uses) and sent
  to `/v1/completions`; tool calls are parsed from the text. For servers that have no tool parser, or
  when the server's template must not be trusted.

Thinking is switched with the chat-template kwarg `enable_thinking` (sent as `chat_template_kwargs` for
models that think), the same setting the in-process policy and training render with.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import threading
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from pytest_rlvr.policy import AssistantTurn, InfrastructureError, PolicyRequestError, TurnRequest
from pytest_rlvr.trace import ToolCall

from .chat import THINK, model_messages, parse, template, thinking_prefix
from .registry import EMBEDDED, METADATA, ModelSpec, origin

RETRYABLE_STATUS = frozenset({408, 429})
"""HTTP statuses below 500 that mean "try again later" rather than "this request is wrong"."""

END_MARKERS = ("<|im_end|>", "<|endoftext|>")
"""End-of-turn markers cut from `/v1/completions` text, for servers that do not strip special tokens."""


class ServerRequestError(PolicyRequestError):
    """The server refused a request as malformed (a 4xx other than 408 or 429): a bug or a configuration error.

    Not an InfrastructureError, so the engine does not retry it: the case errors at once with this message.
    """


def api_base(url: str) -> str:
    """The OpenAI API root of a server URL: `http://host:port` and `http://host:port/` mean `.../v1`."""
    url = url.rstrip("/")
    return url + "/v1" if urlparse(url).path in ("", "/") else url


def tool_call(call_id: str, name: str, raw: str | None) -> ToolCall:
    """A ToolCall from a structured call: the arguments text as returned, and its parse or why it failed."""
    raw = "" if raw is None else raw
    if not raw.strip():  # servers send "" (or nothing) for a call without arguments
        return ToolCall(call_id, name, raw, {})
    try:
        arguments = json.loads(raw)
    except ValueError as exc:
        return ToolCall(call_id, name, raw, None, f"the arguments are not valid JSON: {exc}")
    if not isinstance(arguments, dict):
        return ToolCall(call_id, name, raw, None, "the arguments must be a JSON object")
    return ToolCall(call_id, name, raw, arguments)


def wire_messages(messages: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The conversation as a server accepts it.

    Servers parse the `arguments` of earlier tool calls as JSON to render them (vLLM and `transformers
    serve` answer 400/500 otherwise), so a call whose arguments were malformed is sent with its raw text
    as a JSON string: the request stays valid, and the model sees its text inside a well-formed call.
    (Rendering on our side, as in-process and client-side, shows an unparsed block exactly as written.)
    """
    out = []
    for message in messages:
        message = dict(message)
        if message.get("tool_calls"):
            calls = []
            for call in message["tool_calls"]:
                function = dict(call["function"])
                raw = function.get("arguments")
                if not isinstance(raw, str):
                    function["arguments"] = json.dumps(raw if raw is not None else {}, ensure_ascii=False)
                else:
                    try:
                        json.loads(raw)
                    except ValueError:
                        function["arguments"] = json.dumps(raw, ensure_ascii=False)
                calls.append({**call, "function": function})
            message["tool_calls"] = calls
            if message.get("content") is None:
                message["content"] = ""
        out.append(message)
    return out


def _message(exc: Exception) -> str:
    text = getattr(exc, "message", None) or str(exc)
    body = getattr(exc, "body", None)
    if isinstance(body, Mapping):
        detail = body.get("detail") or body.get("message") or body.get("error")
        if isinstance(detail, Mapping):
            detail = detail.get("message", detail)
        if detail:
            text = str(detail)
    text = " ".join(str(text).split())
    return text if len(text) <= 400 else text[:400] + "..."


def timed_out(url: str, endpoint: str, timeout_s: float) -> InfrastructureError:
    return InfrastructureError(f"{url}: {endpoint} timed out after {timeout_s:g} s (--rlvr-timeout)")


def beginning(text: str, limit: int = 120) -> str:
    """The first characters of a server's answer, on one line, for an error message."""
    text = " ".join(text.split())
    if not text:
        return "an empty body"
    return repr(text if len(text) <= limit else text[:limit] + "...")


def malformed(url: str, endpoint: str, raw: Any, what: str) -> InfrastructureError:
    """A server answer that is not what the endpoint returns (retried like a 5xx: a proxy's error page, a
    truncated body)."""
    return InfrastructureError(f"{url}: {endpoint} answered HTTP {raw.http_response.status_code} with something "
                               f"that is not {what}: {beginning(raw.http_response.text)}")


def answer_json(raw: Any) -> Any:
    """The JSON of a raw `openai` response; None when the body is not JSON."""
    try:
        return json.loads(raw.http_response.text)
    except ValueError:
        return None


def completion(raw: Any, url: str, endpoint: str, field: str) -> Any:
    """The parsed (chat) completion of a raw response whose first choice carries `field` ("message" or "text");
    an InfrastructureError naming the URL and the answer's first characters when it is something else."""
    data = answer_json(raw)
    choices = data.get("choices") if isinstance(data, dict) else None
    first = choices[0] if isinstance(choices, list) and choices else None
    if not isinstance(first, dict) or not isinstance(first.get(field), dict if field == "message" else str):
        raise malformed(url, endpoint, raw, f"a {endpoint.replace('.', ' ').removesuffix('s')} with choices")
    return raw.parse()


def translate(exc: Exception, url: str, endpoint: str, model: str, timeout_s: float) -> Exception | None:
    """The exception to raise for an `openai` client error, or None when it is not one."""
    import openai

    if isinstance(exc, openai.APITimeoutError):
        return timed_out(url, endpoint, timeout_s)
    if isinstance(exc, openai.APIConnectionError):
        cause = exc.__cause__ or exc.__context__
        return InfrastructureError(f"{url}: cannot connect ({_message(cause) if cause else _message(exc)})")
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        if status >= 500 or status in RETRYABLE_STATUS:
            return InfrastructureError(f"{url}: HTTP {status} from {endpoint}: {_message(exc)}")
        hint = ""
        if status == 404:
            hint = f" (is {url} an OpenAI API root, and does it serve a model named {model!r}?)"
        elif status in (401, 403):
            hint = " (set OPENAI_API_KEY for this server)"
        return ServerRequestError(f"{url} refused {endpoint} for model {model!r} with HTTP {status}: "
                                  f"{_message(exc)}{hint}")
    if isinstance(exc, openai.APIResponseValidationError):
        return InfrastructureError(f"{url}: {endpoint} answered something that is not an OpenAI response: "
                                   f"{_message(exc)}")
    return None


def thinking_switch(spec: ModelSpec) -> bool:
    """Whether requests carry `chat_template_kwargs.enable_thinking`: for models that think (a reasoning parser,
    or thinking on); not for others, so that strict servers are not sent a field they refuse."""
    return spec.thinking or spec.reasoning_parser is not None


def pick_model(listed: Sequence[Mapping[str, Any]], spec: ModelSpec) -> str:
    """The model name to send, from a server's `/v1/models` entries.

    The only model it serves; else the spec's model or alias if listed; else the one it has loaded
    (`transformers serve` lists its cache too, and marks what is in memory); else the spec's model.
    """
    ids = [str(m.get("id")) for m in listed if m.get("id")]
    if len(ids) == 1:
        return ids[0]
    for candidate in (spec.model, spec.alias):
        if candidate in ids:
            return candidate
    loaded = [str(m["id"]) for m in listed
              if isinstance(m.get("status"), Mapping) and m["status"].get("value") == "loaded"]
    if len(loaded) == 1:
        return loaded[0]
    return spec.model


class OpenAIPolicy:
    """A model served behind one or more OpenAI-compatible base URLs.

    Args:
        spec: The model: its name on the server (unless the server names its only model otherwise), chat
            template, tool-call format and thinking setting.
        base_urls: The servers; each rollout goes to one of them (the next one for a new rollout), and its
            retries to the next.
        client_side: Render prompts here and use `/v1/completions` (for servers without a tool parser).
        timeout_s: The most seconds one request may take before it counts as an infrastructure error
            (`--rlvr-timeout`).
        served_model: The model name to send; asked from the server (`GET /v1/models`) when None.
        api_key: Sent as the bearer token; `OPENAI_API_KEY`, else a placeholder, when None.
        max_concurrent: The most requests in flight at once.
    """

    max_batch_size = 1
    max_concurrent_batches = 64

    def __init__(self, spec: ModelSpec, base_urls: Sequence[str], *, client_side: bool = False,
                 timeout_s: float = 120.0, served_model: str | None = None, api_key: str | None = None,
                 max_concurrent: int | None = None) -> None:
        if not base_urls:
            raise ValueError("OpenAIPolicy needs at least one base URL")
        self.spec = spec
        self.name = spec.alias
        self.base_urls = tuple(api_base(u) for u in base_urls)
        self.client_side = client_side
        self.timeout_s = timeout_s
        self.api_key = api_key or os.environ.get("OPENAI_API_KEY") or "EMPTY"
        if max_concurrent is not None:
            self.max_concurrent_batches = max_concurrent
        self._served: dict[str, str] = {u: served_model for u in self.base_urls} if served_model else {}
        self._owned_by: dict[str, str] = {}
        self._listed: dict[str, list[str]] = {}  # the models each server lists, once asked
        self._next = itertools.count()
        self._routes: dict[str, int] = {}  # rollout id -> its server's index (moved on after a failure)
        self._clients: dict[str, Any] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._names_lock: asyncio.Lock | None = None
        self._renderer: Any = None
        self._renderer_lock = threading.Lock()

    # -- identity ------------------------------------------------------------------------------------------
    @property
    def info(self) -> dict[str, Any]:
        """Identity and settings. Asks each server its model name once (a short blocking call) if not known."""
        for url in self.base_urls:
            if url not in self._served:
                self._resolve_sync(url)
        names = sorted({self._served.get(u, self.spec.model) for u in self.base_urls})
        return {"name": self.name, "backend": "openai", "base_urls": list(self.base_urls),
                "model": names[0] if len(names) == 1 else names, "spec_model": self.spec.model,
                "owned_by": sorted(set(self._owned_by.values())) or None,
                "endpoint": "completions" if self.client_side else "chat.completions",
                "client_side": self.client_side,
                "tool_parsing": "client" if self.client_side else "server (client-side for <tool_call> text)",
                "spec": origin(self.spec), "template": self.spec.template, "tool_format": self.spec.tool_format,
                "thinking": self.spec.thinking, "timeout_s": self.timeout_s,
                "max_concurrent": self.max_concurrent_batches, "choice": getattr(self, "choice", None)}

    def unserved(self) -> str | None:
        """Why a server will not answer for this model: it lists models, not the one we would send. None when
        every server that could be asked serves it (a blocking call per server not asked yet)."""
        for url in self.base_urls:
            if url not in self._served:
                self._resolve_sync(url)
            listed = self._listed.get(url)
            if listed and self._served.get(url) not in listed:
                shown = ", ".join(listed[:12]) + (", ..." if len(listed) > 12 else "")
                return f"{url} does not serve {self.spec.model!r}; it serves: {shown}"
        return None

    def _remember(self, url: str, listed: Sequence[Mapping[str, Any]]) -> str:
        name = pick_model(listed, self.spec)
        self._served[url] = name
        self._listed[url] = [str(m["id"]) for m in listed if m.get("id")]
        owners = {str(m.get("owned_by")) for m in listed if str(m.get("id")) == name and m.get("owned_by")}
        if owners:
            self._owned_by[url] = sorted(owners)[0]
        return name

    def _resolve_sync(self, url: str) -> None:
        request = urllib.request.Request(f"{url}/models", headers={"Authorization": f"Bearer {self.api_key}"})
        try:
            with urllib.request.urlopen(request, timeout=min(5.0, self.timeout_s)) as answer:
                data = json.load(answer)
        except (OSError, ValueError):
            return  # unreachable now: asked again before the first request
        if isinstance(data, Mapping) and isinstance(data.get("data"), list):
            self._remember(url, [m for m in data["data"] if isinstance(m, Mapping)])

    async def _model_for(self, url: str, client: Any) -> str:
        if url in self._served:
            return self._served[url]
        assert self._names_lock is not None
        async with self._names_lock:
            if url in self._served:
                return self._served[url]
            import openai

            try:
                raw = await client.models.with_raw_response.list()
            except openai.NotFoundError:  # a server without /v1/models
                self._served[url] = self.spec.model
                return self.spec.model
            data = answer_json(raw)
            if not isinstance(data, Mapping) or not isinstance(data.get("data"), list):
                raise malformed(url, "GET /models", raw, "a list of models")
            return self._remember(url, [m for m in data["data"] if isinstance(m, Mapping)])

    # -- clients -------------------------------------------------------------------------------------------
    def _client(self, rollout_id: str) -> tuple[str, Any]:
        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # clients hold connections bound to the loop that made them
            from openai import AsyncOpenAI

            self._loop = loop
            self._names_lock = asyncio.Lock()
            self._clients = {u: AsyncOpenAI(base_url=u, api_key=self.api_key, timeout=self.timeout_s,
                                            max_retries=0) for u in self.base_urls}
        if rollout_id not in self._routes:
            self._routes[rollout_id] = next(self._next)
        url = self.base_urls[self._routes[rollout_id] % len(self.base_urls)]
        return url, self._clients[url]

    # -- generation ----------------------------------------------------------------------------------------
    async def generate(self, requests: Sequence[TurnRequest]) -> list[AssistantTurn]:
        return list(await asyncio.gather(*(self._one(r) for r in requests)))

    async def _one(self, request: TurnRequest) -> AssistantTurn:
        url, client = self._client(request.rollout_id)
        prompt = await self.render(request) if self.client_side else None  # not the server's time: not timed
        try:
            return await self._ask(request, url, client, prompt)
        except BaseException:
            self._routes[request.rollout_id] = self._routes.get(request.rollout_id, 0) + 1  # retry elsewhere
            raise

    async def _ask(self, request: TurnRequest, url: str, client: Any, prompt: str | None) -> AssistantTurn:
        import openai

        endpoint, model = "GET /models", self.spec.model
        try:
            async with asyncio.timeout(self.timeout_s):  # the whole request, however slowly its bytes come
                model = await self._model_for(url, client)
                endpoint = "completions" if self.client_side else "chat.completions"
                if prompt is not None:
                    return await self._completion(client, url, model, prompt, request)
                return await self._chat(client, url, model, request)
        except TimeoutError as exc:
            raise timed_out(url, endpoint, self.timeout_s) from exc
        except openai.OpenAIError as exc:
            translated = translate(exc, url, endpoint, model, self.timeout_s)
            if translated is None:
                raise
            raise translated from exc

    def _sampling(self, request: TurnRequest) -> dict[str, Any]:
        s = request.sampling
        return {"temperature": s.temperature, "max_tokens": s.max_tokens, "seed": s.seed}

    async def _chat(self, client: Any, url: str, model: str, request: TurnRequest) -> AssistantTurn:
        options: dict[str, Any] = {}
        if thinking_switch(self.spec):
            options["extra_body"] = {"chat_template_kwargs": {"enable_thinking": self.spec.thinking}}
        if request.tools:
            options["tools"] = [dict(t) for t in request.tools]
        raw = await client.chat.completions.with_raw_response.create(
            model=model, messages=wire_messages(request.messages), **self._sampling(request), **options)
        answer = completion(raw, url, "chat.completions", "message")
        message = answer.choices[0].message
        content = message.content or ""
        structured = [c for c in (message.tool_calls or []) if getattr(c, "function", None) is not None]
        if structured:
            calls = [tool_call(c.id or "", c.function.name or "", c.function.arguments) for c in structured]
            text = THINK.sub("", content).strip()
        else:  # a server without a tool parser hands back the markup as text
            text, calls = parse(content, self.spec.tool_format)
        return AssistantTurn(text, calls, *_usage(answer))

    async def _completion(self, client: Any, url: str, model: str, prompt: str, request: TurnRequest) -> AssistantTurn:
        raw = await client.completions.with_raw_response.create(model=model, prompt=prompt, **self._sampling(request))
        answer = completion(raw, url, "completions", "text")
        text = answer.choices[0].text or ""
        for marker in END_MARKERS:
            text = text.split(marker, 1)[0]
        text = thinking_prefix(prompt) + text  # "<think>" when the template opened the thinking block
        prose, calls = parse(text, self.spec.tool_format)
        return AssistantTurn(prose, calls, *_usage(answer))

    # -- client-side rendering -----------------------------------------------------------------------------
    async def render(self, request: TurnRequest) -> str:
        """The prompt for a request, rendered with our chat template (as training renders it)."""
        if self._renderer is None:
            await asyncio.to_thread(self._load_renderer)
        messages = model_messages(request.messages, self.spec.tool_format)
        return self._renderer(messages, [dict(t) for t in request.tools])

    def _load_renderer(self) -> None:
        with self._renderer_lock:
            if self._renderer is not None:
                return
            thinking = self.spec.thinking
            tokenizer = _tokenizer(self.spec)
            if tokenizer is not None:
                def render(messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> str:
                    return tokenizer.apply_chat_template(messages, tools=tools or None, add_generation_prompt=True,
                                                         tokenize=False, enable_thinking=thinking)
            else:
                from transformers.utils.chat_template_utils import render_jinja_template

                source = template(self.spec.template)

                def render(messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> str:
                    rendered, _ = render_jinja_template([messages], tools=tools or None, chat_template=source,
                                                        add_generation_prompt=True, enable_thinking=thinking)
                    return rendered[0]
            self._renderer = render

    async def close(self) -> None:
        clients, self._clients = self._clients, {}
        loop, self._loop = self._loop, None
        if loop is None:
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            await asyncio.gather(*(c.close() for c in clients.values()), return_exceptions=True)


def _usage(completion: Any) -> tuple[int, int]:
    usage = getattr(completion, "usage", None)
    if usage is None:
        return 0, 0
    return int(usage.prompt_tokens or 0), int(usage.completion_tokens or 0)


def _tokenizer(spec: ModelSpec) -> Any:
    """The model's tokenizer with our chat template, from a local directory (or the embedded model); None when
    there is none here (then the template alone renders the prompt)."""
    from .adapter import weights

    if not Path(spec.model).is_dir() and spec.alias != EMBEDDED:
        return None
    path = weights(spec)
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(path)
    if not Path(path, METADATA).exists():  # a checkpoint of ours carries its template
        tokenizer.chat_template = template(spec.template)
    return tokenizer
