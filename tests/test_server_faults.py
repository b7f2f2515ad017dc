"""Faults of the serving side and of `--rlvr-model`, each told in one line.

A stand-in OpenAI-compatible server (`FaultyServer`, `http.server` on 127.0.0.1 in a thread) answers what a
real one does only when it breaks: a 500, truncated or empty JSON with a 200, an HTML page with a 200, or
nothing (it holds the request until the test ends, or at most `hang_s`, then answers). Sessions run the toy
scenario with pytester, with small `--rlvr-timeout` and `--rlvr-retries` values, so every test is quick.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from test_plugin import CASES, TOY

from policies import plugin
from policies.openai_server import OpenAIPolicy
from policies.registry import looks_like_path, resolve
from pytest_rlvr.engine import Engine
from pytest_rlvr.policy import InfrastructureError, Sampling, TurnRequest
from pytest_rlvr.settings import Settings
from pytest_rlvr.task import Task

pytest_plugins = ["pytester"]

Answer = tuple[int, str, bytes]
HANG: Answer = (0, "", b"")
"""No answer: the request is held until the server closes (or `hang_s` passes, then it is answered)."""


def chat(content: str = "Done.", model: str = "org/model") -> Answer:
    body = {"id": "chatcmpl-1", "object": "chat.completion", "created": 0, "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}}
    return 200, "application/json", json.dumps(body).encode()


TRUNCATED: Answer = (200, "application/json", b'{"id": "chatcmpl-1", "object": "chat.completion", "choi')
EMPTY: Answer = (200, "application/json", b"")
NO_CHOICES: Answer = (200, "application/json", b"{}")
HTML: Answer = (200, "text/html", b"<html><body><h1>502 Bad Gateway</h1></body></html>")
ERROR_500: Answer = (500, "application/json", b'{"error": {"message": "engine crashed"}}')


class FaultyServer:
    """Lists `models` at GET /v1/models (or answers `listing` there); answers each POST with the next answer
    (the last one repeats)."""

    def __init__(self, *answers: Answer, models: Sequence[str] = ("org/model",), listing: Answer | None = None,
                 hang_s: float = 10.0) -> None:
        self.answers = list(answers) or [chat()]
        listed = {"object": "list", "data": [{"id": m, "object": "model", "owned_by": "test"} for m in models]}
        self.listing = listing or (200, "application/json", json.dumps(listed).encode())
        self.posts: list[dict[str, Any]] = []
        self.closing = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, status: int, content_type: str, data: bytes) -> None:
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", content_type)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:  # the client gave up (it timed out)
                    pass

            def do_GET(self) -> None:
                self._send(*server.listing)

            def do_POST(self) -> None:
                server.posts.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                answer = server.answers.pop(0) if len(server.answers) > 1 else server.answers[0]
                if answer is HANG:
                    server.closing.wait(hang_s)
                    answer = chat()
                self._send(*answer)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.httpd.block_on_close = False
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> FaultyServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.closing.set()
        self.httpd.shutdown()
        self.httpd.server_close()


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed when the block ends: nothing listens there
    return f"http://127.0.0.1:{port}/v1"


# -- the policy alone ------------------------------------------------------------------------------------
TASK = Task("t-0", "toy", "eval", 0, "easy", "hi")


def request() -> TurnRequest:
    return TurnRequest("t-0#0", TASK, [{"role": "user", "content": "hi"}], [], Sampling(0.0, 16, 1))


def generate(policy: OpenAIPolicy) -> Any:
    async def go() -> Any:
        try:
            return (await policy.generate([request()]))[0]
        finally:
            await policy.close()

    return asyncio.run(go())


def ask(policy: OpenAIPolicy, settings: Settings) -> Any:
    engine = Engine(policy, settings)

    async def go() -> Any:
        try:
            return await engine.ask(request())
        finally:
            await policy.close()

    return asyncio.run(go())


@pytest.mark.parametrize(("answer", "shown"), [
    (TRUNCATED, "'{\"id\": \"chatcmpl-1\", \"object\": \"chat.completion\", \"choi'"),
    (EMPTY, "an empty body"),
    (NO_CHOICES, "'{}'"),
    (HTML, "'<html><body><h1>502 Bad Gateway</h1></body></html>'"),
], ids=["truncated", "empty", "no-choices", "html"])
def test_a_malformed_answer_is_an_infrastructure_error_naming_the_url_and_its_start(answer, shown):
    with FaultyServer(answer) as fake:
        with pytest.raises(InfrastructureError) as raised:
            generate(OpenAIPolicy(resolve("org/model"), [fake.url], timeout_s=5))
    assert str(raised.value) == (f"{fake.url}: chat.completions answered HTTP 200 with something that is not a "
                                 f"chat completion with choices: {shown}")


def test_a_malformed_answer_is_retried_like_a_5xx():
    with FaultyServer(HTML, TRUNCATED, chat("Fine now.")) as fake:
        turn = ask(OpenAIPolicy(resolve("org/model"), [fake.url], timeout_s=5), Settings(retries=2, backoff_s=0.01))
    assert turn.text == "Fine now." and len(fake.posts) == 3


def test_a_malformed_model_list_is_an_infrastructure_error():
    with FaultyServer(listing=HTML) as fake:
        with pytest.raises(InfrastructureError, match=r"/v1: GET /models answered HTTP 200 .* not a list of models: "
                                                      r"'<html>"):
            generate(OpenAIPolicy(resolve("org/model"), [fake.url], timeout_s=5))


def test_a_request_is_bounded_by_the_timeout_and_tried_as_often_as_the_retries_say():
    with FaultyServer(HANG) as fake:
        policy = OpenAIPolicy(resolve("org/model"), [fake.url], timeout_s=1.0, served_model="org/model")
        with pytest.raises(InfrastructureError, match=r"failed 2 times .*: chat.completions timed out after 1 s"):
            ask(policy, Settings(retries=1, backoff_s=0.01))
    assert len(fake.posts) == 2  # the client's own retries are off


def test_an_unknown_name_is_sent_to_the_server_as_named_and_the_info_says_its_spec_is_guessed():
    with FaultyServer(chat(model="gpt-4o-mini"), models=["gpt-4o", "gpt-4o-mini"]) as fake:
        policy = OpenAIPolicy(resolve("gpt-4o-mini"), [fake.url], timeout_s=5)
        assert policy.unserved() is None
        info = policy.info
        generate(policy)
    assert fake.posts[0]["model"] == "gpt-4o-mini"
    assert (info["model"], info["spec"], info["template"], info["tool_format"]) == (
        "gpt-4o-mini", "guessed from the name", "qwen2_5.jinja", "hermes")
    assert OpenAIPolicy(resolve("qwen3-4b"), [fake.url]).info["spec"] == "alias"


def test_the_timeout_reaches_the_server_policies(monkeypatch):
    from policies import vllm

    assert plugin.make(resolve("org/model"), "openai", Settings(base_urls=("http://h:1/v1",), timeout=7.5)).timeout_s \
        == 7.5
    monkeypatch.setattr(vllm, "executable", lambda: ["vllm"])
    monkeypatch.setattr(vllm, "gpu_present", lambda: True)
    managed = plugin.make(resolve("qwen3-4b"), "vllm", Settings(timeout=7.5))
    assert managed.info["timeout_s"] == 7.5  # its requests go through an OpenAIPolicy


# -- whole sessions --------------------------------------------------------------------------------------
@pytest.fixture
def toy(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    monkeypatch.setenv("PYTEST_ADDOPTS", "-p no:hypothesispytest -p no:cacheprovider")
    pytester.makepyfile(toy=TOY)
    pytester.makepyfile(test_cases=CASES.format(count=2))
    return pytester


def error_sections(result: pytest.RunResult) -> list[str]:
    """The lines of pytest's ERRORS section, headers left out."""
    lines = result.stdout.lines
    start = next(i for i, line in enumerate(lines) if "= ERRORS =" in line)
    end = next(i for i, line in enumerate(lines) if i > start and line.startswith("="))
    return [line for line in lines[start + 1:end] if not line.startswith("_")]


def test_a_hung_server_errors_each_case_in_one_line_naming_the_url_and_the_timeout(toy):
    with FaultyServer(HANG) as fake:
        result = toy.runpytest("--rlvr-model=org/model", f"--rlvr-base-url={fake.url}", "--rlvr-timeout=1",
                               "--rlvr-retries=1")
    result.assert_outcomes(errors=2)
    assert error_sections(result) == [
        f"InfrastructureError: policy 'org/model' failed 2 times on toy-eval-000{i}#0: InfrastructureError: "
        f"{fake.url}: chat.completions timed out after 1 s (--rlvr-timeout)" for i in (0, 1)]
    assert len(fake.posts) == 4


def test_the_timeout_is_an_ini_setting_too(toy):
    toy.makeini("[pytest]\nrlvr_timeout = 0.3\nrlvr_retries = 0\n")
    with FaultyServer(HANG) as fake:
        result = toy.runpytest("--rlvr-model=org/model", f"--rlvr-base-url={fake.url}")
    result.assert_outcomes(errors=2)
    result.stdout.fnmatch_lines(["*chat.completions timed out after 0.3 s (--rlvr-timeout)"])


@pytest.mark.parametrize("answer", [TRUNCATED, HTML], ids=["truncated", "html"])
def test_a_malformed_answer_errors_each_case_in_one_line_naming_the_url(toy, answer):
    with FaultyServer(answer) as fake:
        result = toy.runpytest("--rlvr-model=org/model", f"--rlvr-base-url={fake.url}", "--rlvr-retries=1")
    result.assert_outcomes(errors=2)
    lines = error_sections(result)
    assert len(lines) == 2
    assert all(f"{fake.url}: chat.completions answered HTTP 200 with something that is not a chat completion "
               f"with choices: '{answer[2].decode()[:20]}" in line for line in lines)
    assert len(fake.posts) == 4  # each turn tried twice


@pytest.mark.parametrize("fault", ["closed-port", "500"])
def test_an_infrastructure_error_is_one_line_per_case_not_a_traceback(toy, fault):
    with FaultyServer(ERROR_500) as fake:
        url = closed_port_url() if fault == "closed-port" else fake.url
        result = toy.runpytest("--rlvr-model=org/model", f"--rlvr-base-url={url}", "--rlvr-retries=0")
    result.assert_outcomes(errors=2)
    lines = error_sections(result)
    assert len(lines) == 2 and all(line.startswith("InfrastructureError: policy 'org/model' failed 1 times on ")
                                   for line in lines)
    assert ("cannot connect" if fault == "closed-port" else "HTTP 500 from chat.completions: engine crashed") \
        in lines[0]
    assert "Traceback" not in result.stdout.str() and "site-packages" not in result.stdout.str()
    assert url in lines[0]
    result.stdout.fnmatch_lines(["ERROR test_cases.py::test_toy[[]toy-eval-0000[]] - Failed: InfrastructureError*"])


def test_a_refused_request_is_one_line_too(toy):
    with FaultyServer((404, "application/json", b'{"error": {"message": "no such route"}}')) as fake:
        result = toy.runpytest("--rlvr-model=org/model", f"--rlvr-base-url={fake.url}")
    result.assert_outcomes(errors=2)
    lines = error_sections(result)
    assert len(lines) == 2 and lines[0].startswith(f"ServerRequestError: {fake.url} refused chat.completions ")


def test_any_name_the_server_serves_is_a_model(toy):
    with FaultyServer(chat(model="gpt-4o-mini"), models=["gpt-4o", "gpt-4o-mini"]) as fake:
        result = toy.runpytest("--rlvr-model=gpt-4o-mini", f"--rlvr-base-url={fake.url}", "--rlvr-threshold=0")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["rlvr: model gpt-4o-mini · backend openai (a base URL was given) · template "
                                 "qwen2_5.jinja · tool calls hermes (guessed: not an alias or a checkpoint)"])
    assert {body["model"] for body in fake.posts} == {"gpt-4o-mini"}


def test_a_name_the_server_does_not_serve_is_refused_in_one_line(toy):
    with FaultyServer(models=["gpt-4o", "gpt-4o-mini"]) as fake:
        result = toy.runpytest("--rlvr-model=gpt-4o-mni", f"--rlvr-base-url={fake.url}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert result.stderr.lines[0] == (f"ERROR: --rlvr-model=gpt-4o-mni: {fake.url} does not serve 'gpt-4o-mni'; "
                                      "it serves: gpt-4o, gpt-4o-mini")
    assert not fake.posts


def test_a_name_without_a_server_is_still_unknown(toy):
    result = toy.runpytest("--rlvr-model=gpt-4o-mini")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert result.stderr.lines[0].startswith("ERROR: --rlvr-model=gpt-4o-mini: unknown model; known: ")


# -- --rlvr-model that names no directory ----------------------------------------------------------------
@pytest.mark.parametrize("model", ["runs/nothere", "./nothere", "runs/a/nothere", "~/rlvr-no-such-checkpoint/"])
def test_a_missing_checkpoint_directory_is_one_line(toy, model):
    (toy.path / "runs").mkdir()
    result = toy.runpytest(f"--rlvr-model={model}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert result.stderr.lines[0].startswith(f"ERROR: --rlvr-model={model}: no such directory; pass a checkpoint "
                                             "directory (e.g. the --output of python -m train), an alias (")
    assert [line for line in result.stderr.lines if line.strip()] == result.stderr.lines[:1]


def test_a_model_id_without_a_server_or_vllm_says_no_such_directory_first(monkeypatch):
    monkeypatch.setattr(plugin, "gpu_present", lambda: False)
    with pytest.raises(pytest.UsageError, match=r"^--rlvr-model=org/nothere: no such directory, and as a model id "
                                                r"it needs a server \(pass --rlvr-base-url="):
        plugin.choose("org/nothere", "auto", ())


def test_what_looks_like_a_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "runs").mkdir()
    assert all(map(looks_like_path, ["runs/x", "./x", "../x", "~/x", "/abs/x", "a/b/c", "x/"]))
    assert not any(map(looks_like_path, ["Qwen/Qwen3-4B", "qwen3-4b", "gpt-4o-mini"]))


# -- several servers -------------------------------------------------------------------------------------
def test_each_rollout_keeps_to_one_server_and_new_rollouts_spread_over_them():
    with FaultyServer() as first, FaultyServer() as second:
        policy = OpenAIPolicy(resolve("org/model"), [first.url, second.url], served_model="org/model")

        async def go() -> None:
            try:
                for _ in range(3):  # three turns of four rollouts, the turns of a rollout in order
                    await policy.generate([TurnRequest(f"t-0#{i}", TASK, [{"role": "user", "content": f"r{i}"}],
                                                       [], Sampling(0.0, 16, 1)) for i in range(4)])
            finally:
                await policy.close()

        asyncio.run(go())
    seen = {server: [p["messages"][-1]["content"] for p in server.posts] for server in (first, second)}
    assert sorted(seen[first] + seen[second]) == sorted([f"r{i}" for i in range(4)] * 3)
    assert not set(seen[first]) & set(seen[second])  # no rollout was answered by both
    assert len(set(seen[first])) == len(set(seen[second])) == 2


def test_a_failed_request_is_retried_on_the_next_server():
    with FaultyServer(ERROR_500) as broken, FaultyServer() as working:
        policy = OpenAIPolicy(resolve("org/model"), [broken.url, working.url], served_model="org/model")
        turn = ask(policy, Settings(retries=1, backoff_s=0.0))
    assert turn.text == "Done."
    assert len(broken.posts) == 1 and len(working.posts) == 1


@pytest.mark.parametrize(("worker", "count", "urls", "expected"), [
    ("gw0", 2, ("a", "b", "c", "d"), ("a", "c")),
    ("gw1", 2, ("a", "b", "c", "d"), ("b", "d")),
    ("gw2", 4, ("a", "b"), ("a",)),
    ("gw3", 4, ("a", "b"), ("b",)),
])
def test_xdist_workers_each_take_their_own_servers(worker, count, urls, expected):
    config = type("Config", (), {"workerinput": {"workerid": worker, "workercount": count}})()
    assert plugin.worker_share(config, urls) == expected
    assert plugin.worker_share(type("Config", (), {})(), urls) == urls  # one process: every server
