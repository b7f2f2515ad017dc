"""The pytest wiring of policies/: `--rlvr-backend`, and models for `--rlvr-model`.

`auto` chooses: a base URL given → the OpenAI-compatible server; vLLM importable and a GPU present → a
managed vLLM server; otherwise transformers in-process (the embedded default and local checkpoints).
With a base URL, any name the server serves is a model: one that is not an alias is sent as named, with the
default template and tool-call format (`registry.guess`); such a name that a reachable server does not list
is refused (unless the server serves one model only: that one is sent). A name that looks like a path and
names no directory is refused too.
"""

from __future__ import annotations

import importlib.util
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from .registry import ALIASES, EMBEDDED, ModelSpec, looks_like_path, origin, resolve

BACKENDS = ("auto", "hf", "openai", "vllm")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("rlvr")
    group.addoption("--rlvr-backend", dest="rlvr_backend", default=None, choices=BACKENDS,
                    help="how to run a model: auto (default), hf (transformers in-process), openai (a server at "
                         "--rlvr-base-url), vllm (start vllm serve)")
    parser.addini("rlvr_backend", "default for --rlvr-backend", default="auto")


def pytest_rlvr_model_names(config: pytest.Config) -> list[str]:
    return list(ALIASES)


def gpu_present() -> bool:
    """A GPU is visible (checked without importing torch)."""
    return shutil.which("nvidia-smi") is not None or Path("/proc/driver/nvidia").exists()


def choose(model: str, backend: str, base_urls: tuple[str, ...]) -> tuple[str, str]:
    """(backend, why) for a model; raises pytest.UsageError when it cannot run here."""
    if backend != "auto":
        return backend, "--rlvr-backend"
    if base_urls:
        return "openai", "a base URL was given"
    local = model == EMBEDDED or Path(resolve(model).model).is_dir()  # a checkpoint, or an alias of a local one
    if importlib.util.find_spec("vllm") is not None and gpu_present():
        return "vllm", "vLLM is installed and a GPU is present"
    if local:
        return "hf", "no base URL, no vLLM with a GPU: transformers in-process"
    raise pytest.UsageError(
        f"--rlvr-model={model}: no such directory, and as a model id it needs a server (pass "
        f"--rlvr-base-url=http://HOST:PORT/v1) or a GPU with vLLM (pip install 'pytest-rlvr[vllm]')")


def known(model: str) -> bool:
    """An alias, a checkpoint directory, or something shaped like a hub id (org/name)."""
    return model in ALIASES or Path(model).expanduser().is_dir() or bool(re.fullmatch(r"[\w.-]+/[\w.-]+", model))


@pytest.hookimpl(trylast=True)
def pytest_rlvr_make_policy(config: pytest.Config, model: str, settings: Any) -> Any:
    base_urls = tuple(settings.base_urls)
    if not base_urls and looks_like_path(model) and not Path(model).expanduser().is_dir():
        raise pytest.UsageError(
            f"--rlvr-model={model}: no such directory; pass a checkpoint directory (e.g. the --output of "
            f"python -m train), an alias ({', '.join(ALIASES)}), or a model id with --rlvr-base-url")
    if not known(model) and not base_urls:
        return None
    backend, why = choose(model, config.getoption("rlvr_backend") or config.getini("rlvr_backend"), base_urls)
    if not known(model) and backend != "openai":
        return None
    spec = resolve(model)
    policy = make(spec, backend, settings, worker_share(config, base_urls))
    policy.choice = {"backend": backend, "why": why}  # saved with the policy's info
    # A name only a server knows must be one it lists. (`transformers serve` loads a hub id or a directory
    # that it does not list yet, so those are not checked.)
    if not known(model) and (problem := policy.unserved()):
        raise pytest.UsageError(f"--rlvr-model={model}: {problem}")
    guessed = "" if origin(spec) != "guessed from the name" else " (guessed: not an alias or a checkpoint)"
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(f"rlvr: model {spec.alias} · backend {backend} ({why}) · template {spec.template} "
                            f"· tool calls {spec.tool_format}{guessed}")
    return policy


def worker_share(config: pytest.Config, base_urls: tuple[str, ...]) -> tuple[str, ...]:
    """The servers this process sends to: all of them, or under pytest-xdist the worker's own share (worker i
    of n takes every URL j with j % n == i, or URL i % len(urls) when there are fewer URLs than workers), so
    that each server sees the requests of the same workers and keeps their prompts in its prefix cache."""
    workerinput = getattr(config, "workerinput", None)
    if not workerinput or len(base_urls) < 2:
        return base_urls
    index, count = int(workerinput.get("workerid", "gw0")[2:] or 0), int(workerinput.get("workercount", 1))
    if len(base_urls) >= count:
        return tuple(url for j, url in enumerate(base_urls) if j % count == index)
    return (base_urls[index % len(base_urls)],)


def make(spec: ModelSpec, backend: str, settings: Any, base_urls: tuple[str, ...] = ()) -> Any:
    if backend == "hf":
        from .hf import TransformersPolicy

        return TransformersPolicy(spec)
    if backend == "openai":
        from .openai_server import OpenAIPolicy

        if not settings.base_urls:
            raise pytest.UsageError("--rlvr-backend=openai needs --rlvr-base-url")
        return OpenAIPolicy(spec, base_urls or tuple(settings.base_urls), timeout_s=settings.timeout)
    from .vllm import ManagedVLLM

    return ManagedVLLM(spec, timeout_s=settings.timeout)
