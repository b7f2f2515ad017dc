"""Managed vLLM without a GPU: the command it builds, and its process lifecycle with stand-in `vllm` executables.

The stand-ins are scripts named `vllm` put first on PATH: one that fails at start-up, one that never becomes
healthy, and one that serves a tiny OpenAI-compatible endpoint (so the whole start → generate → close path
runs, with the real OpenAIPolicy client, but no model).
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_plugin_sessions import TERMINAL_SIGINT

import scenarios
from policies import vllm
from policies.registry import ALIASES, resolve, save_metadata
from policies.vllm import ManagedVLLM, VLLMStartError, VLLMUnavailable, command
from policies.weights import embedded_checkpoint
from pytest_rlvr.policy import InfrastructureError, Sampling, TurnRequest

ROOT = Path(__file__).resolve().parent.parent
TRL_TEMPLATES = Path(importlib.util.find_spec("trl").submodule_search_locations[0]) / "chat_templates"
LABELS = scenarios.SCENARIOS["jira_labels"]
TASK = LABELS.tasks("eval")[0]


def request() -> TurnRequest:
    return TurnRequest("r#0", TASK, [dict(m) for m in LABELS.messages(TASK)], LABELS.tools, Sampling(0.0, 16, 1))


# -- the command ---------------------------------------------------------------------------------------------
def test_command_for_qwen3_5():
    assert command(ALIASES["qwen3.5-4b"], 8123) == [
        "vllm", "serve", "Qwen/Qwen3.5-4B", "--host", "127.0.0.1", "--port", "8123",
        "--served-model-name", "qwen3.5-4b", "--enable-auto-tool-choice", "--tool-call-parser", "qwen3_coder",
        "--reasoning-parser", "qwen3", "--chat-template", str(TRL_TEMPLATES / "qwen3_5_nothink.jinja"),
        "--generation-config", "vllm"]


def test_command_for_qwen3_and_the_embedded_model():
    qwen3 = command(ALIASES["qwen3-4b"], 9000, ["--max-model-len", "16384"])
    assert qwen3[qwen3.index("--tool-call-parser") + 1] == "hermes"
    assert qwen3[qwen3.index("--reasoning-parser") + 1] == "qwen3"
    assert qwen3[qwen3.index("--chat-template") + 1] == str(TRL_TEMPLATES / "qwen3.jinja")
    assert qwen3[-2:] == ["--max-model-len", "16384"]
    smol = command(ALIASES["smollm2-135m"], 9000)
    assert smol[2] == "HuggingFaceTB/SmolLM2-135M-Instruct" and "--reasoning-parser" not in smol
    assert smol[smol.index("--chat-template") + 1] == str(TRL_TEMPLATES / "qwen2_5.jinja")


def test_command_for_local_checkpoints(tmp_path):
    ours = tmp_path / "trained"
    ours.mkdir()
    save_metadata(ours, ALIASES["smollm2-135m"])
    (ours / "chat_template.jinja").write_text("{{ messages }}")
    spec = resolve(str(ours))
    argv = command(spec, 8000)
    assert argv[2] == str(ours.resolve()) and argv[argv.index("--served-model-name") + 1] == str(ours)
    assert argv[argv.index("--chat-template") + 1] == str((ours / "chat_template.jinja").resolve())
    plain = tmp_path / "Qwen3-1.7B-finetune"  # not ours: TRL's template for its family
    plain.mkdir()
    argv = command(resolve(str(plain)), 8000)
    assert argv[argv.index("--chat-template") + 1] == str(TRL_TEMPLATES / "qwen3.jinja")
    assert argv[argv.index("--tool-call-parser") + 1] == "hermes"


# -- without vLLM or a GPU -----------------------------------------------------------------------------------
def test_missing_vllm_is_one_line_that_says_what_to_do(monkeypatch, tmp_path):
    monkeypatch.setattr(vllm.shutil, "which", lambda name: None)
    monkeypatch.setattr(vllm.sys, "executable", str(tmp_path / "python"))
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(vllm.importlib.util, "find_spec",
                        lambda name, *a: None if name == "vllm" else real_find_spec(name, *a))
    with pytest.raises(VLLMUnavailable) as raised:
        ManagedVLLM(ALIASES["qwen3.5-4b"])
    message = str(raised.value)
    assert "\n" not in message and "pip install 'pytest-rlvr[vllm]'" in message and "--rlvr-base-url" in message
    assert isinstance(raised.value, pytest.UsageError)  # pytest prints it as one line and stops


def test_no_gpu_is_one_line(monkeypatch, tmp_path):
    fake = write(tmp_path, "#!/bin/sh\nexit 0\n")
    monkeypatch.setenv("PATH", f"{fake.parent}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setattr(vllm, "gpu_present", lambda: False)
    with pytest.raises(VLLMUnavailable, match="needs a GPU and none is visible: pass --rlvr-base-url"):
        ManagedVLLM(ALIASES["qwen3.5-4b"])


@pytest.mark.skipif(importlib.util.find_spec("vllm") is not None, reason="vLLM is installed here")
def test_a_session_that_asks_for_vllm_without_it_stops_with_one_line(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_ADDOPTS"}
    env["PATH"] = str(tmp_path)  # no `vllm` anywhere
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "scenarios", "-k", f"jira_labels and {TASK.seed}", "-p", "no:xdist",
         "--rlvr-model=qwen3.5-4b", "--rlvr-backend=vllm"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == pytest.ExitCode.USAGE_ERROR, done.stdout + done.stderr
    assert "ERROR: vLLM is not installed: pip install 'pytest-rlvr[vllm]'" in done.stderr
    assert "Traceback" not in done.stdout + done.stderr


# -- the process lifecycle, with stand-in executables ----------------------------------------------------
def write(directory: Path, script: str) -> Path:
    path = directory / "bin" / "vllm"
    path.parent.mkdir(exist_ok=True)
    path.write_text(script)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def managed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, script: str, model: str = "qwen3-4b",
            **options) -> ManagedVLLM:
    fake = write(tmp_path, script)
    monkeypatch.setenv("PATH", f"{fake.parent}{os.pathsep}{os.environ['PATH']}")
    policy = ManagedVLLM(ALIASES[model], log_dir=tmp_path / "logs", require_gpu=False, **options)
    assert policy.executable == [str(fake)]
    return policy


def alive(pid: int, within_s: float = 5.0) -> bool:
    """Whether a process is still running `within_s` seconds from now (a killed one takes a moment)."""
    deadline = time.monotonic() + within_s
    while _running(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return _running(pid)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is not alive
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True


def test_the_embedded_model_is_served_from_its_converted_checkpoint(monkeypatch, tmp_path):
    policy = managed(monkeypatch, tmp_path, "#!/bin/sh\nexit 1\n", model="smollm2-135m", extra_args=["--x"])
    checkpoint = embedded_checkpoint()
    assert policy.command[2] == str(checkpoint)  # not the hub id: nothing is downloaded
    assert policy.command[policy.command.index("--served-model-name") + 1] == "smollm2-135m"
    assert policy.command[policy.command.index("--chat-template") + 1] == str(checkpoint / "chat_template.jinja")
    assert policy.command[-1] == "--x" and policy.info["model"] == "smollm2-135m"


def test_a_failed_start_is_one_line_with_the_log_tail_and_is_not_retried(monkeypatch, tmp_path):
    calls = tmp_path / "calls"
    policy = managed(monkeypatch, tmp_path, f"""#!/bin/sh
echo "$@" >> {calls}
echo "INFO vllm serve $2"
echo "RuntimeError: Failed to infer device type" >&2
exit 1
""")

    async def twice() -> list[BaseException]:
        errors = []
        for _ in range(2):
            try:
                await policy.generate([request()])
            except BaseException as exc:  # noqa: BLE001 - collected to be checked
                errors.append(exc)
        await policy.close()
        return errors

    first, second = asyncio.run(twice())
    assert isinstance(first, VLLMStartError) and isinstance(first, InfrastructureError)
    message = str(first)
    assert "\n" not in message and "vllm serve exited with code 1 before it was healthy" in message
    assert "INFO vllm serve Qwen/Qwen3-4B | RuntimeError: Failed to infer device type" in message
    assert str(policy.log_path) in message
    assert second is first  # remembered: the engine's retries do not start vLLM again
    (line,) = calls.read_text().splitlines()
    assert line.split()[:2] == ["serve", "Qwen/Qwen3-4B"] and "--enable-auto-tool-choice" in line
    assert policy.log_path.read_text().startswith(f"$ {policy.executable[0]} serve Qwen/Qwen3-4B --host 127.0.0.1")


def test_a_server_that_never_becomes_healthy_is_stopped(monkeypatch, tmp_path):
    pid_file = tmp_path / "pid"
    policy = managed(monkeypatch, tmp_path, f"#!/bin/sh\necho $$ > {pid_file}\necho loading\nexec sleep 120\n",
                     startup_timeout_s=1.5)
    started = time.monotonic()
    with pytest.raises(VLLMStartError, match=r"not healthy after 1.5 s .*: .*loading"):
        asyncio.run(policy.generate([request()]))
    assert time.monotonic() - started < 20
    assert policy.process is None and not alive(int(pid_file.read_text()))


SERVING = """#!{python}
import json, subprocess, sys
from http.server import BaseHTTPRequestHandler, HTTPServer

port = int(sys.argv[sys.argv.index("--port") + 1])
name = sys.argv[sys.argv.index("--served-model-name") + 1]
child = subprocess.Popen(["sleep", "120"])  # a worker in the server's process group
open({pids!r}, "w").write(json.dumps([__import__("os").getpid(), child.pid]))


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def answer(self, body):
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        self.answer({{"status": "ok"}} if self.path == "/health" else {{"data": [{{"id": name}}]}})

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        message = {{"role": "assistant", "content": "served as " + body["model"], "tool_calls": [
            {{"id": "c1", "type": "function",
              "function": {{"name": "getIssue", "arguments": '{{"issueIdOrKey": "SEC-4"}}'}}}}]}}
        self.answer({{"id": "x", "object": "chat.completion", "created": 0, "model": body["model"],
                     "choices": [{{"index": 0, "message": message, "finish_reason": "tool_calls"}}],
                     "usage": {{"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8}}}})


HTTPServer(("127.0.0.1", port), Handler).serve_forever()
"""


def test_start_generate_and_close_stop_the_whole_process_group(monkeypatch, tmp_path):
    pids = tmp_path / "pids"
    policy = managed(monkeypatch, tmp_path, SERVING.format(python=sys.executable, pids=str(pids)),
                     startup_timeout_s=60)
    policy.choice = {"backend": "vllm", "why": "--rlvr-backend"}
    info = policy.info  # known before the server starts: nothing is asked of it
    assert (info["backend"], info["model"], info["tool_parser"], info["reasoning_parser"]) == (
        "vllm", "qwen3-4b", "hermes", "qwen3")
    assert info["command"].startswith("vllm serve Qwen/Qwen3-4B --host 127.0.0.1 --port ")
    assert info["log"] == str(policy.log_path) and info["choice"] == {"backend": "vllm", "why": "--rlvr-backend"}

    async def session() -> list:
        try:
            turns = await asyncio.gather(*(policy.generate([request()]) for _ in range(3)))  # one start
            return [t for batch in turns for t in batch]
        finally:
            await policy.close()

    turns = asyncio.run(session())
    assert {t.text for t in turns} == {"served as qwen3-4b"}
    assert all(t.tool_calls[0].arguments == {"issueIdOrKey": "SEC-4"} for t in turns)
    server, worker = json.loads(pids.read_text())
    assert policy.process is None and not alive(server) and not alive(worker)
    assert policy.log_path.read_text().count("$ ") == 1


@pytest.mark.parametrize("ending", ["exit", "SIGINT", "SIGTERM"])
def test_interpreter_exit_and_signals_stop_a_running_server(tmp_path, ending):
    pids = tmp_path / "pids"
    fake = write(tmp_path, SERVING.format(python=sys.executable, pids=str(pids)))
    program = f"""
import asyncio, sys, time
sys.path.insert(0, {str(ROOT)!r})
from policies.registry import ALIASES
from policies.vllm import ManagedVLLM
policy = ManagedVLLM(ALIASES["qwen3-4b"], log_dir={str(tmp_path / "logs")!r}, require_gpu=False)
asyncio.run(policy.start())
print("started", flush=True)
if {ending!r} != "exit":
    time.sleep(60)
"""  # never calls close(): the atexit hook or the signal handler stops the server
    env = {**os.environ, "PATH": f"{fake.parent}{os.pathsep}{os.environ['PATH']}"}
    process = subprocess.Popen([sys.executable, "-c", program], env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, preexec_fn=TERMINAL_SIGINT)
    try:
        assert process.stdout.readline().strip() == "started", process.stderr.read()
        if ending != "exit":
            process.send_signal(getattr(signal, ending))
        process.wait(60)
    finally:
        process.kill()
    server, worker = json.loads(pids.read_text())
    assert not alive(server) and not alive(worker)
