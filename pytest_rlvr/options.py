"""The plugin's options, declared in one group with an ini mirror each, and read once into Settings."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

from .settings import DEFAULT_MODEL, Settings
from .task import SPLITS
from .workers import is_worker


class RlvrOptionWarning(pytest.PytestWarning):
    """Options that are valid but probably not what was meant."""


def positive_int(text: str) -> int:
    """An integer of at least 1."""
    try:
        value = int(text)
    except (TypeError, ValueError):
        raise argparse.ArgumentTypeError(f"must be a positive integer, not {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, not {text!r}")
    return value


def non_negative_int(text: str) -> int:
    """An integer of at least 0."""
    try:
        value = int(text)
    except (TypeError, ValueError):
        raise argparse.ArgumentTypeError(f"must be an integer >= 0, not {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be an integer >= 0, not {text!r}")
    return value


def non_negative_float(text: str) -> float:
    """A finite number of at least 0."""
    try:
        value = float(text)
    except (TypeError, ValueError):
        raise argparse.ArgumentTypeError(f"must be a number >= 0, not {text!r}") from None
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a number >= 0, not {text!r}")
    return value


def unit_float(text: str) -> float:
    """A number in [0, 1]."""
    try:
        value = float(text)
    except (TypeError, ValueError):
        raise argparse.ArgumentTypeError(f"must be a number in [0, 1], not {text!r}") from None
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"must be a number in [0, 1], not {text!r}")
    return value


def positive_float(text: str) -> float:
    """A finite number above 0."""
    try:
        value = float(text)
    except (TypeError, ValueError):
        raise argparse.ArgumentTypeError(f"must be a number > 0, not {text!r}") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a number > 0, not {text!r}")
    return value


def yes_no(text: str) -> bool:
    """An ini boolean: true/false, yes/no, 1/0, on/off."""
    value = str(text).strip().lower()
    if value in ("true", "yes", "1", "on"):
        return True
    if value in ("false", "no", "0", "off"):
        return False
    raise argparse.ArgumentTypeError(f"must be true or false, not {text!r}")


def split_name(text: str) -> str:
    """One of the task splits."""
    if text not in SPLITS:
        raise argparse.ArgumentTypeError(f"must be one of {', '.join(SPLITS)}, not {text!r}")
    return text


def model_name(text: str) -> str:
    """A non-empty model name."""
    if not text or not text.strip():
        raise argparse.ArgumentTypeError("must name a model")
    return text.strip()


def agent_spec(text: str) -> str:
    """MODULE:CALLABLE, the agent to evaluate (imported when the run starts)."""
    module, sep, name = text.strip().partition(":")
    if not sep or not module.strip() or not name.strip() or " " in text.strip():
        raise argparse.ArgumentTypeError(f"must be MODULE:CALLABLE (e.g. scenarios.agents.http_oracle:agent), "
                                         f"not {text!r}")
    return text.strip()


def base_url(text: str) -> str:
    """An http(s) URL."""
    parsed = urlparse(text)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise argparse.ArgumentTypeError(f"must be an http(s) URL, not {text!r}")
    return text.rstrip("/")


def save_path(text: str) -> Path:
    """A path for the results JSON: not a directory, in a directory that is (or can be made) writable."""
    if not text:
        raise argparse.ArgumentTypeError("must be a file path")
    path = Path(text)
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a directory; give a file path, e.g. {path / 'results.json'}")
    folder = path.parent
    while not folder.exists():  # missing folders are made when the results are saved
        folder = folder.parent
    if not folder.is_dir():
        raise argparse.ArgumentTypeError(f"{folder} is not a directory; give a path in a writable directory")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise argparse.ArgumentTypeError(f"cannot write in {folder}; give a path in a writable directory")
    return path


def report_path(text: str) -> Path:
    """A path for the HTML report, as `save_path`."""
    return save_path(text)


def shard_spec(text: str) -> tuple[int, int]:
    """I/N with 1 <= I <= N: the I-th of N shares."""
    index, sep, count = text.partition("/")
    try:
        i, n = int(index), int(count)
    except ValueError:
        i = n = 0
    if not sep or not 1 <= i <= n:
        raise argparse.ArgumentTypeError(f"must be I/N with 1 <= I <= N (e.g. 1/4), not {text!r}")
    return i, n


def baseline_path(text: str) -> Path:
    """An existing results JSON written by `--rlvr-save`."""
    from .compare import read_results  # the comparison's own reader: one definition of a valid file

    if not text:
        raise argparse.ArgumentTypeError("must be a results JSON path")
    try:
        read_results(Path(text))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return Path(text)


def scenario_floor(text: str) -> tuple[str, float]:
    """SCENARIO=VALUE or SCENARIO:TIER=VALUE (a floor on that tier's cases), VALUE a mean reward in [0, 1]."""
    name, sep, value = text.partition("=")
    scenario, colon, tier = name.strip().partition(":")
    if not sep or not scenario.strip() or (colon and (not tier.strip() or ":" in tier)):
        raise argparse.ArgumentTypeError(f"must be SCENARIO=VALUE or SCENARIO:TIER=VALUE, not {text!r}")
    name = f"{scenario.strip()}:{tier.strip()}" if colon else scenario.strip()
    try:
        return name.strip(), unit_float(value.strip())
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"VALUE must be a number in [0, 1], not {value!r}") from None


@dataclass(frozen=True)
class Option:
    """One setting: its command-line flag, ini key, validator and help."""

    field: str
    validate: Callable[[str], Any]
    help: str
    metavar: str
    repeatable: bool = False
    flag_name: str | None = None
    switch: bool = False  # a flag without a value on the command line; true/false in the ini file

    @property
    def flag(self) -> str:
        return "--rlvr-" + (self.flag_name or self.field).replace("_", "-")

    @property
    def dest(self) -> str:
        return "rlvr_" + self.field

    @property
    def ini(self) -> str:
        return "rlvr_" + self.field


OPTIONS = (
    Option("model", model_name, f"policy: noop, random, a script the scenarios ship (oracle, naive...), or a "
           f"model alias, path or id resolved by installed plugins (default: {DEFAULT_MODEL})", "NAME"),
    Option("agent", agent_spec, "evaluate an agent instead of a model: a callable that gets each case's request "
           "and a fresh simulated site (URLs, credentials, MCP endpoint) and returns its final answer; its trace is "
           "what reached the site (default: none)", "MODULE:CALLABLE"),
    Option("base_urls", base_url, "OpenAI-compatible server URL; repeat for several (default: none)", "URL",
           repeatable=True, flag_name="base_url"),
    Option("samples", positive_int, "rollouts per case, K (default: 1)", "K"),
    Option("concurrency", positive_int, "most rollouts in flight at once (default: 32)", "N"),
    Option("temperature", non_negative_float, "sampling temperature (default: 0.0)", "T"),
    Option("max_tokens", positive_int, "most tokens per assistant turn (default: 512)", "N"),
    Option("max_turns", positive_int, "most assistant turns per rollout (default: the scenario's)", "N"),
    Option("seed", non_negative_int, "run seed; sample seeds derive from it, the task id and the sample "
           "index (default: 0)", "N"),
    Option("threshold", unit_float, "mean reward a case needs to pass (default: the scenario's, 1.0)", "R"),
    Option("split", split_name, "task split to evaluate: eval or train (default: eval)", "SPLIT"),
    Option("tasks", positive_int, "evaluate the first N tasks of each scenario (default: the scenario's "
           "set)", "N"),
    Option("save", save_path, "save results JSON to PATH and the traces to <stem>.traces.jsonl beside it "
           "(default: not saved)", "PATH"),
    Option("report", report_path, "write a self-contained HTML report of the run to PATH; without --rlvr-save "
           "the results are saved beside it, as <stem>.json (default: no report)", "PATH"),
    Option("shard", shard_spec, "run only the I-th of N deterministic shares of the selected cases (by task "
           "id); join the shards' results with `python -m pytest_rlvr merge` (default: every case)", "I/N"),
    Option("retries", non_negative_int, "retries of a failing policy call before the case errors "
           "(default: 3)", "N"),
    Option("timeout", positive_float, "seconds one policy request may take before it counts as a failed "
           "call (retried, then an infrastructure error); with --rlvr-agent, the seconds one agent run may take "
           "(default: 120)", "SECONDS"),
    Option("resume", yes_no, "reuse the finished rollouts of the run saved at --rlvr-save when its model, "
           "serving settings, tasks and checks match; roll out only what is missing", "", switch=True),
    Option("allow_incomparable", yes_no, "let a gate or comparison that shares no case with its baseline, or "
           "whose runs differ in split or checks, warn instead of fail", "", switch=True),
    Option("baseline", baseline_path, "results JSON of an earlier --rlvr-save run: gate each scenario on the "
           "paired difference over shared cases, as test items rlvr-gate::baseline[SCENARIO] (default: none)",
           "PATH"),
    Option("max_drop", non_negative_float, "the largest drop in mean reward against --rlvr-baseline that is "
           "tolerated: a regression is a 95% interval of the difference entirely below -R (default: 0.02)",
           "R"),
    Option("min_rewards", scenario_floor, "absolute floor on a scenario's mean reward, as test item "
           "rlvr-gate::min-reward[SCENARIO], or on one tier's with SCENARIO:TIER=VALUE (e.g. "
           "jira_labels:infeasible=0.8); repeat for several (default: none)", "SCENARIO[:TIER]=VALUE",
           repeatable=True, flag_name="min_reward"),
)


def add_options(parser: pytest.Parser) -> None:
    """Declare every option in the `rlvr` group, each with its ini mirror."""
    group = parser.getgroup("rlvr", "pytest-rlvr: evaluate tool-using policies with checks as rewards")
    for option in OPTIONS:
        text = option.help.replace("%", "%%")  # argparse formats help text with %
        if option.switch:
            group.addoption(option.flag, dest=option.dest, default=None, action="store_const", const="true",
                            help=text)
        else:
            group.addoption(option.flag, dest=option.dest, metavar=option.metavar, default=None,
                            action="append" if option.repeatable else "store", help=text)
        if option.repeatable:
            parser.addini(option.ini, f"{option.help} [{option.flag}]", type="linelist", default=[])
        else:
            parser.addini(option.ini, f"{option.help} [{option.flag}]", type="string", default="")


def _validated(option: Option, text: str, origin: str) -> Any:
    try:
        return option.validate(text)
    except argparse.ArgumentTypeError as exc:
        raise pytest.UsageError(f"{origin}: {exc}") from None


def read_settings(config: pytest.Config) -> Settings:
    """Read every option once (the command line wins over the ini file) and validate it.

    Raises:
        pytest.UsageError: A value is invalid; the one-line message names the option.
    """
    values: dict[str, Any] = {}
    for option in OPTIONS:
        given = config.getoption(option.dest)
        if option.repeatable:
            if given:
                texts, origin = given, option.flag
            else:
                texts, origin = config.getini(option.ini), f"ini {option.ini}"
            values[option.field] = tuple(_validated(option, t, f"{origin}={t}") for t in texts)
        elif given is not None:
            values[option.field] = _validated(option, given, f"{option.flag}={given}")
        elif text := str(config.getini(option.ini)).strip():
            values[option.field] = _validated(option, text, f"ini {option.ini}={text}")
    for field in ("save", "baseline", "report"):
        if isinstance(values.get(field), Path):
            values[field] = Path(config.invocation_params.dir) / values[field]
    report = values.get("report")
    if report is not None and values.get("save") is None:
        values["save"] = report.with_suffix(".json")
    if report is not None and report in (values["save"], Settings(save=values["save"]).traces_path):
        given = config.getoption("rlvr_report") or report
        raise pytest.UsageError(f"--rlvr-report={given}: the results or traces are saved there; give the report its "
                                "own path, e.g. report.html")
    _agent_or_model(config, values)
    floors = [name for name, _ in values.get("min_rewards", ())]
    if len(set(floors)) != len(floors):
        raise pytest.UsageError(f"--rlvr-min-reward: a scenario is given more than one floor: {', '.join(floors)}")
    settings = Settings(**values)
    if settings.split == "train" and settings.tasks is None:
        raise pytest.UsageError("--rlvr-split=train: the train split is unlimited; give --rlvr-tasks N to evaluate "
                                "its first N tasks")
    if settings.samples > 1 and settings.temperature == 0 and not is_worker(config):
        config.issue_config_time_warning(RlvrOptionWarning(
            f"--rlvr-samples={settings.samples} at --rlvr-temperature=0: the samples of a deterministic policy are "
            "identical; give a temperature above 0 (e.g. --rlvr-temperature=0.7) or --rlvr-samples=1"), stacklevel=2)
    return settings


def _agent_or_model(config: pytest.Config, values: dict[str, Any]) -> None:
    """An agent replaces the model: the command line wins over the ini file; both at one level is an error.
    With an agent, the run's model is `agent:MODULE:CALLABLE` (how results, summaries and resume name it).

    Raises:
        pytest.UsageError: --rlvr-agent and --rlvr-model given together (or rlvr_agent and rlvr_model in the ini).
    """
    agent = values.get("agent")
    if agent is None:
        return
    agent_given, model_given = config.getoption("rlvr_agent") is not None, config.getoption("rlvr_model") is not None
    model_in_ini = bool(str(config.getini("rlvr_model")).strip())
    if agent_given and model_given:
        raise pytest.UsageError(f"--rlvr-agent={agent}: an agent is evaluated instead of a model; drop "
                                f"--rlvr-model={values['model']} (the agent chooses its own model)")
    if model_given:  # the command line's model wins over the ini file's agent
        del values["agent"]
        return
    if not agent_given and model_in_ini:
        raise pytest.UsageError(f"ini rlvr_agent={agent}: an agent is evaluated instead of a model; remove rlvr_model "
                                "or rlvr_agent from the ini file")
    values["model"] = f"agent:{agent}"
