"""The pytest wiring of policies/: `--rlvr-backend`, and models for `--rlvr-model`.

`auto` chooses: a base URL given → the OpenAI-compatible server; vLLM importable and a GPU present → a
managed vLLM server; otherwise transformers in-process (the embedded default and local checkpoints).
"""

from __future__ import annotations

import importlib.util
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from .registry import ALIASES, EMBEDDED, ModelSpec, resolve

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
    local = model == EMBEDDED or Path(model).expanduser().is_dir()
    if importlib.util.find_spec("vllm") is not None and gpu_present():
        return "vllm", "vLLM is installed and a GPU is present"
    if local:
        return "hf", "no base URL, no vLLM with a GPU: transformers in-process"
    raise pytest.UsageError(
        f"--rlvr-model={model}: needs a GPU with vLLM (pip install 'pytest-rlvr[vllm]') or a server: "
        f"pass --rlvr-base-url=http://HOST:PORT/v1")


def known(model: str) -> bool:
    """An alias, a checkpoint directory, or something shaped like a hub id (org/name)."""
    return model in ALIASES or Path(model).expanduser().is_dir() or bool(re.fullmatch(r"[\w.-]+/[\w.-]+", model))


@pytest.hookimpl(trylast=True)
def pytest_rlvr_make_policy(config: pytest.Config, model: str, settings: Any) -> Any:
    if not known(model):
        return None
    spec = resolve(model)
    backend, why = choose(model, config.getoption("rlvr_backend") or config.getini("rlvr_backend"),
                          tuple(settings.base_urls))
    policy = make(spec, backend, settings)
    policy.choice = {"backend": backend, "why": why}  # saved with the policy's info
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(f"rlvr: model {spec.alias} · backend {backend} ({why}) · template {spec.template} "
                            f"· tool calls {spec.tool_format}")
    return policy


def make(spec: ModelSpec, backend: str, settings: Any) -> Any:
    if backend == "hf":
        from .hf import TransformersPolicy

        return TransformersPolicy(spec)
    if backend == "openai":
        from .openai_server import OpenAIPolicy

        if not settings.base_urls:
            raise pytest.UsageError("--rlvr-backend=openai needs --rlvr-base-url")
        return OpenAIPolicy(spec, tuple(settings.base_urls))
    from .vllm import ManagedVLLM

    return ManagedVLLM(spec)
