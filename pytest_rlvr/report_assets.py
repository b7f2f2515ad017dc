"""The report's one stylesheet and one script, inlined in the page and allowed by hash in its CSP.

The script only filters: it reads the cases' `data-*` attributes and the filter controls (or the URL
fragment, e.g. `#scenario=jira_labels&status=failed&q=text`), toggles `hidden`, and writes "N of M cases
shown" with `textContent`. It never builds markup from data.
"""

from __future__ import annotations

import base64
import hashlib

CSS = """
:root {
  --bg: #f4f6f9; --card: #fff; --fg: #1f2328; --muted: #5d6773; --border: #d9dee5; --soft: #eef1f5;
  --accent: #0b63ce; --ok: #1a7f37; --ok-bg: #dcf5e3; --bad: #c9252d; --bad-bg: #fde8e7;
  --warn: #8a5d00; --warn-bg: #fff4c9; --partial: #d9a21b; --call: #7c4dcc; --code-bg: #f6f8fa;
  --mono: ui-monospace, SFMono-Regular, "SF Mono", Menlo, Consolas, "DejaVu Sans Mono", monospace;
  color-scheme: light dark;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #0f1217; --card: #171b22; --fg: #e4e8ee; --muted: #98a2ae; --border: #2c333d; --soft: #222833;
    --accent: #58a6ff; --ok: #3fb950; --ok-bg: #12301c; --bad: #f47067; --bad-bg: #3a1719;
    --warn: #d4a72c; --warn-bg: #2f2610; --partial: #d4a72c; --call: #a37ef5; --code-bg: #11151b;
  }
}
* { box-sizing: border-box; }
[hidden] { display: none !important; }
html { scroll-padding-top: 56px; }
body { margin: 0; background: var(--bg); color: var(--fg); line-height: 1.45;
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
a { color: var(--accent); text-decoration: none; }
a:hover { text-decoration: underline; }
code, pre, .mono { font-family: var(--mono); font-size: 12.5px; }
h1 { font-size: 22px; margin: 0; font-weight: 650; }
h2 { font-size: 17px; margin: 28px 0 12px; font-weight: 650; }
h3 { font-size: 15px; margin: 0 0 8px; font-weight: 650; }
h3.spaced { margin-top: 18px; }
nav { position: sticky; top: 0; z-index: 2; background: var(--card); border-bottom: 1px solid var(--border); }
nav .inner { display: flex; gap: 20px; align-items: center; height: 44px; }
nav .brand { font-weight: 650; margin-right: auto; }
.inner { max-width: 1200px; margin: 0 auto; padding: 0 24px; }
header { padding: 22px 0 6px; }
header .sub { color: var(--muted); margin-top: 6px; display: flex; flex-wrap: wrap; gap: 6px 14px; }
main { padding-bottom: 60px; }
section.card, .card { background: var(--card); border: 1px solid var(--border); border-radius: 10px;
  padding: 16px 18px; }
.tiles { display: grid; grid-template-columns: repeat(auto-fit, minmax(150px, 1fr)); gap: 12px;
  margin: 16px 0 8px; }
.tile { background: var(--card); border: 1px solid var(--border); border-radius: 10px; padding: 12px 16px; }
.tile .value { font-size: 24px; font-weight: 650; font-variant-numeric: tabular-nums; }
.tile .what { color: var(--muted); font-size: 12.5px; }
.note { background: var(--warn-bg); color: var(--fg); border: 1px solid var(--warn); border-radius: 8px;
  padding: 10px 14px; margin: 12px 0; }
.muted { color: var(--muted); }
.small { font-size: 12px; }
.label { color: var(--muted); font-size: 11.5px; font-weight: 650; text-transform: uppercase;
  letter-spacing: .04em; margin: 14px 0 6px; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 999px; font-size: 11.5px; font-weight: 650;
  background: var(--soft); color: var(--muted); white-space: nowrap; }
.badge.passed, .badge.held, .badge.improved, .badge.no-regression, .badge.complete { background: var(--ok-bg);
  color: var(--ok); }
.badge.failed, .badge.regression, .badge.incomplete { background: var(--bad-bg); color: var(--bad); }
.badge.errored, .badge.not-significant { background: var(--warn-bg); color: var(--warn); }
.badge.write { background: var(--soft); color: var(--call); }
table.data { width: 100%; border-collapse: collapse; font-variant-numeric: tabular-nums; }
table.data th { text-align: left; font-weight: 600; color: var(--muted); font-size: 12px; padding: 6px 10px;
  border-bottom: 1px solid var(--border); white-space: nowrap; }
table.data td { padding: 6px 10px; border-bottom: 1px solid var(--soft); vertical-align: top; }
table.data tr:last-child td { border-bottom: 0; }
table.data .num { text-align: right; white-space: nowrap; }
table.data pre.block { margin: 0; }
tr.failed-row td { background: color-mix(in srgb, var(--bad-bg) 45%, transparent); }
dl.grid { display: grid; grid-template-columns: max-content 1fr; gap: 6px 18px; margin: 0; }
dl.grid dt { color: var(--muted); }
dl.grid dd { margin: 0; overflow-wrap: anywhere; }
.two { display: grid; grid-template-columns: repeat(auto-fit, minmax(420px, 1fr)); gap: 16px; }
.scenarios { display: flex; flex-direction: column; gap: 16px; margin-top: 16px; }
.scenario-card .body { display: grid; grid-template-columns: 310px 270px minmax(0, 1fr); gap: 8px 28px; }
@media (max-width: 1000px) { .scenario-card .body { grid-template-columns: 1fr; } }
.scenario-card .top { display: flex; align-items: baseline; gap: 12px; flex-wrap: wrap; }
.scenario-card .top a { margin-left: auto; font-size: 13px; }
.figures { display: flex; flex-wrap: wrap; gap: 6px 22px; margin: 10px 0 6px; }
.figure .v { font-size: 17px; font-weight: 650; font-variant-numeric: tabular-nums; }
.figure .v .ci { font-size: 12px; font-weight: 400; color: var(--muted); }
.figure .k { font-size: 11.5px; color: var(--muted); }
.chart { max-width: 100%; height: auto; display: block; }
.chart .tick, .chart .value { fill: var(--muted); font-size: 11px; font-family: inherit; }
.chart .count { fill: var(--fg); font-size: 10.5px; text-anchor: middle; }
.chart .axis { stroke: var(--border); }
svg .track { fill: var(--soft); }
svg .bar.full { fill: var(--ok); }
svg .bar.partial { fill: var(--partial); }
svg .bar.zero { fill: var(--bad); }
svg .bar.none { fill: transparent; }
svg.mini { vertical-align: middle; }
.filters { display: flex; flex-wrap: wrap; gap: 8px; align-items: center; margin: 8px 0 12px; }
.filters select, .filters input, .filters button { font: inherit; color: var(--fg); background: var(--card);
  border: 1px solid var(--border); border-radius: 6px; padding: 5px 8px; }
.filters input[type=search] { min-width: 240px; flex: 1; }
.filters button { cursor: pointer; }
.filters button:hover { border-color: var(--accent); }
#shown { color: var(--muted); margin-left: 4px; white-space: nowrap; }
details.case { background: var(--card); border: 1px solid var(--border); border-radius: 8px; margin: 0 0 6px; }
details.case > summary { display: grid; cursor: pointer; list-style: none; align-items: center; gap: 12px;
  grid-template-columns: 10px 66px minmax(180px, 1.6fr) minmax(120px, 1fr) 64px 112px minmax(140px, 2fr);
  padding: 8px 12px; }
.with-baseline details.case > summary {
  grid-template-columns: 10px 66px minmax(180px, 1.6fr) minmax(120px, 1fr) 64px 112px 118px minmax(120px, 1.6fr); }
details > summary::-webkit-details-marker { display: none; }
details.case > summary::before { content: "\\25B8"; color: var(--muted); transition: transform .1s; }
details.case[open] > summary::before { transform: rotate(90deg); }
details.case[open] > summary { border-bottom: 1px solid var(--border); }
details.case > summary:hover { background: var(--soft); border-radius: 8px; }
summary .task { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
summary .scenario, summary .tier { color: var(--muted); overflow: hidden; text-overflow: ellipsis;
  white-space: nowrap; }
summary .reward { white-space: nowrap; font-variant-numeric: tabular-nums; }
summary .note-cell { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; font-size: 12.5px; }
.delta { font-weight: 600; font-variant-numeric: tabular-nums; white-space: nowrap; }
.delta .muted { font-weight: 400; font-size: 12px; }
.delta.worse { color: var(--bad); }
.delta.better { color: var(--ok); }
.case-body { padding: 10px 16px 16px; }
dl.facts { display: flex; flex-wrap: wrap; gap: 2px 18px; margin: 0 0 6px; font-size: 12.5px; }
dl.facts > div { display: flex; gap: 6px; min-width: 0; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; overflow-wrap: anywhere; }
details.sample { border: 1px solid var(--border); border-radius: 8px; margin: 10px 0; padding: 0 12px; }
details.sample > summary { cursor: pointer; padding: 8px 0; list-style: none; }
details.sample > summary::before { content: "\\25B8  "; color: var(--muted); }
details.sample[open] > summary::before { content: "\\25BE  "; }
.sample-line { font-variant-numeric: tabular-nums; }
div.sample > .sample-line { display: block; margin: 6px 0; }
pre.block { white-space: pre-wrap; overflow-wrap: anywhere; margin: 4px 0; padding: 8px 10px;
  background: var(--code-bg); border: 1px solid var(--soft); border-radius: 6px; max-height: 26em; overflow: auto; }
pre.message, pre.cell { padding: 4px 8px; max-height: 14em; }
pre.error { border-color: var(--bad); }
.cut { display: block; margin-top: 6px; color: var(--warn); font-style: italic; font-family: inherit; }
.conversation { display: flex; flex-direction: column; gap: 6px; }
.msg { border-left: 3px solid var(--border); padding: 4px 0 4px 12px; }
.msg.user { border-color: var(--accent); }
.msg.assistant { border-color: var(--muted); }
.msg.system > summary { cursor: pointer; color: var(--muted); }
.msg.call { border-color: var(--call); }
.who { font-size: 11.5px; font-weight: 650; color: var(--muted); text-transform: uppercase; letter-spacing: .04em; }
.turn { display: flex; flex-direction: column; gap: 6px; margin-top: 4px; }
.turn-head { font-size: 12px; color: var(--muted); border-top: 1px dashed var(--border); padding-top: 6px; }
.call-head { display: flex; gap: 10px; align-items: baseline; }
.call-head .tool { font-weight: 650; color: var(--call); }
.parse-error { color: var(--bad); font-weight: 600; margin-top: 4px; }
details.answer > summary, .answer-line { cursor: pointer; display: flex; gap: 10px; align-items: center;
  flex-wrap: wrap; list-style: none; padding: 2px 0; }
.status { font-family: var(--mono); font-weight: 700; padding: 0 6px; border-radius: 4px; }
.status.ok { color: var(--ok); background: var(--ok-bg); }
.status.bad { color: var(--bad); background: var(--bad-bg); }
.op { font-family: var(--mono); font-size: 12px; color: var(--muted); }
.stop { font-size: 12px; color: var(--muted); border-top: 1px dashed var(--border); padding-top: 6px; }
table.failing .why { color: var(--muted); font-size: 12px; overflow-wrap: anywhere; }
ul.plain { margin: 6px 0; padding-left: 18px; }
footer { color: var(--muted); font-size: 12px; margin-top: 32px; }
"""

JS = """
(() => {
  "use strict";
  const KEYS = ["scenario", "tier", "status", "check", "q"];
  const cases = Array.from(document.querySelectorAll("details.case"));
  const shown = document.getElementById("shown");
  const controls = {};
  for (const key of KEYS) controls[key] = document.getElementById("f-" + key);
  const lowered = new WeakMap();
  const textOf = (el) => {
    let text = lowered.get(el);
    if (text === undefined) { text = el.textContent.toLowerCase(); lowered.set(el, text); }
    return text;
  };
  const failing = (el) => {
    try { const list = JSON.parse(el.dataset.failing || "[]"); return Array.isArray(list) ? list : []; }
    catch (e) { return []; }
  };
  const read = () => {
    const state = {};
    for (const key of KEYS) state[key] = controls[key] ? controls[key].value : "";
    return state;
  };
  const show = (state) => {
    for (const key of KEYS) {
      const control = controls[key];
      if (!control) continue;
      const value = state[key] || "";
      if (control.tagName === "SELECT" && value && !Array.from(control.options).some((o) => o.value === value)) {
        control.add(new Option(value + " (no case)", value));
      }
      control.value = value;
    }
  };
  const apply = (state) => {
    const q = (state.q || "").trim().toLowerCase();
    let count = 0;
    for (const el of cases) {
      const match = (!state.scenario || el.dataset.scenario === state.scenario)
        && (!state.tier || el.dataset.tier === state.tier)
        && (!state.status || el.dataset.status === state.status)
        && (!state.check || failing(el).includes(state.check))
        && (!q || textOf(el).includes(q));
      el.hidden = !match;
      if (match) count += 1;
    }
    if (shown) shown.textContent = count + " of " + cases.length + " cases shown";
  };
  const remember = (state) => {
    const params = new URLSearchParams();
    for (const key of KEYS) if (state[key]) params.set(key, state[key]);
    const hash = params.toString();
    try { history.replaceState(null, "", hash ? "#" + hash : location.pathname + location.search); }
    catch (e) { /* a file opened in a sandbox may refuse: the filter still applies */ }
  };
  const fromHash = (scroll) => {
    let hash = location.hash.slice(1);
    try { hash = decodeURIComponent(hash); } catch (e) { /* not percent-encoded text: use it as it is */ }
    const target = hash && !hash.includes("=") ? document.getElementById(hash) : null;
    if (target && target.classList.contains("case")) {
      if (target.hidden) { show({}); apply({}); }
      target.open = true;
      target.scrollIntoView();
      return;
    }
    if (!location.hash.includes("=")) { apply(read()); return; }
    const params = new URLSearchParams(location.hash.slice(1));
    const state = {};
    for (const key of KEYS) state[key] = params.get(key) || "";
    show(state);
    apply(state);
    const section = document.getElementById("cases");
    if (scroll && section) section.scrollIntoView();
  };
  const changed = () => { const state = read(); apply(state); remember(state); };
  for (const key of KEYS) {
    if (controls[key]) controls[key].addEventListener(key === "q" ? "input" : "change", changed);
  }
  const on = (id, handler) => {
    const el = document.getElementById(id);
    if (el) el.addEventListener("click", handler);
  };
  on("f-reset", () => { show({}); changed(); });
  on("f-open", () => { for (const el of cases) if (!el.hidden) el.open = true; });
  on("f-close", () => { for (const el of cases) el.open = false; });
  window.addEventListener("hashchange", () => fromHash(true));
  fromHash(true);
})();
"""


def csp_hash(source: str) -> str:
    """The CSP source expression that allows exactly this inline script or style: `'sha256-…'`."""
    return "'sha256-" + base64.b64encode(hashlib.sha256(source.encode()).digest()).decode() + "'"


CSP = "; ".join([
    "default-src 'none'",
    f"script-src {csp_hash(JS)}",
    f"style-src {csp_hash(CSS)}",
    "img-src data:",
    "base-uri 'none'",
    "form-action 'none'",
])
"""The page's Content-Security-Policy: nothing from the network, only this script and stylesheet run."""
