"""The HTML report in a real browser: headless Chromium opens it from disk, runs its script under its CSP,
filters from the URL fragment, and never runs what the model wrote.

Skipped when Chromium is not installed, unless RLVR_REQUIRE_BROWSER=1 (then it fails). With
RLVR_SCREENSHOT_DIR set, the screenshot is also saved there.
"""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
from pathlib import Path

import pytest
from test_report import ALL, EVIL, NONE, PART, Page, call, document, record, trace

from pytest_rlvr.report import render_report
from pytest_rlvr.report_assets import JS

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync")
TIMEOUT_S = 60


@pytest.fixture(scope="module")
def chromium() -> str:
    found = shutil.which("chromium")
    if found is None:
        if os.environ.get("RLVR_REQUIRE_BROWSER") == "1":
            pytest.fail("RLVR_REQUIRE_BROWSER=1 but chromium is not installed")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    return found


@pytest.fixture
def report(tmp_path: Path) -> Path:
    """Four cases in two scenarios; one reply, argument and answer would retitle the page if they ran."""
    a1 = record("alpha", 1, [NONE], messages={"informed": EVIL})
    a2 = record("alpha", 2, [ALL], tier="hard")
    a3 = record("alpha", 3, [PART], tier="hard")
    b1 = record("beta", 1, [PART], tier="medium")
    traces = [trace(a1, 0, EVIL, [call("editIssue", '{"issueIdOrKey": "PAY-1"}', 400, {"errorMessages": [EVIL]})]),
              trace(a2, 0, "done"), trace(a3, 0, "a needle in the reply"), trace(b1, 0, "done")]
    path = tmp_path / "report.html"
    path.write_text(render_report(document([a1, a2, a3, b1]), traces), encoding="utf-8")
    return path


def browse(chromium: str, tmp_path: Path, url: str, *args: str) -> str:
    run = subprocess.run([chromium, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", *args, url],
                         capture_output=True, text=True, timeout=TIMEOUT_S)
    assert run.returncode == 0, run.stderr[-3000:]
    return run.stdout


def dumped(chromium: str, tmp_path: Path, path: Path, fragment: str = "") -> tuple[str, dict[str, bool]]:
    """The rendered DOM's text and, per case id, whether the case is shown."""
    text = browse(chromium, tmp_path, path.as_uri() + fragment, "--dump-dom")
    parsed = Page(text)
    shown = {a["id"]: "hidden" not in a for a in parsed.named("details") if "case" in (a.get("class") or "")}
    return text, shown


def counter(text: str) -> str:
    """The line above the cases: "N of M cases shown" once the script ran."""
    return re.search(r'<span id="shown">([^<]*)</span>', text).group(1)


def test_the_script_runs_and_the_models_script_does_not(chromium, report, tmp_path):
    text, shown = dumped(chromium, tmp_path, report)
    assert counter(text) == "4 of 4 cases shown" and all(shown.values())
    title = re.search(r"<title>(.*?)</title>", text).group(1)
    assert title == "pytest-rlvr report: scripted-test" and "pwned" not in title
    assert "&lt;script&gt;document.title='pwned'&lt;/script&gt;" in text  # shown as text
    parsed = Page(text)
    assert len(parsed.named("script")) == 1 and not parsed.named("img")


def test_a_fragment_filters_the_cases(chromium, report, tmp_path):
    text, shown = dumped(chromium, tmp_path, report, "#scenario=alpha&status=failed")
    assert counter(text) == "2 of 4 cases shown"
    assert shown == {"case-1": True, "case-2": False, "case-3": True, "case-4": False}
    text, shown = dumped(chromium, tmp_path, report, "#q=NEEDLE")  # free text, any case
    assert counter(text) == "1 of 4 cases shown" and [k for k, v in shown.items() if v] == ["case-3"]
    text, shown = dumped(chromium, tmp_path, report, "#check=informed&tier=hard")
    assert counter(text) == "1 of 4 cases shown" and [k for k, v in shown.items() if v] == ["case-3"]


def test_a_case_link_opens_the_case(chromium, report, tmp_path):
    text, shown = dumped(chromium, tmp_path, report, "#case-3")
    opened = [a["id"] for a in Page(text).named("details") if "open" in a and "case" in (a.get("class") or "")]
    assert opened == ["case-3"] and all(shown.values())


def test_the_csp_blocks_a_script_it_does_not_hash(chromium, report, tmp_path):
    tampered = tmp_path / "tampered.html"
    tampered.write_text(report.read_text(encoding="utf-8").replace(JS, JS + "\n// changed\n"), encoding="utf-8")
    text, shown = dumped(chromium, tmp_path, tampered, "#status=passed")
    assert counter(text) == "4 cases" and all(shown.values())  # the static text: the script did not run


def test_a_screenshot_of_the_report(chromium, report, tmp_path):
    png = tmp_path / "report.png"
    browse(chromium, tmp_path, report.as_uri(), f"--screenshot={png}", "--window-size=1280,1600")
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and struct.unpack(">II", data[16:24]) == (1280, 1600)
    assert len(data) > 30_000  # a blank or unstyled page compresses to a few kilobytes
    if folder := os.environ.get("RLVR_SCREENSHOT_DIR"):
        Path(folder).mkdir(parents=True, exist_ok=True)
        shutil.copy(png, Path(folder) / "report.png")
