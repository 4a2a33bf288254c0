"""The real-browser test: ``python -m rlbook.book.browser [CHAPTER ...]`` (``make browser``).

A reader opens a chapter in JupyterLab, runs every cell and moves a widget. This does the same in
headless Chromium (Debian's ``chromium`` driven by Playwright for Python, no browser download):

1. copies ``notebooks/`` and ``data/`` to a temporary folder (Lab's autosave must not touch the
   committed files) and starts JupyterLab there on a free local port with a fresh token;
2. for each chapter: opens it, runs all cells, fails on any error output, changes the widget named in
   ``WIDGETS`` and checks that the widget's output re-rendered (screenshot bytes differ);
3. saves screenshots under ``_build/browser/`` and stops the server and its kernels.

Exit status 0 when every chapter passes; a one-line verdict per chapter on stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@dataclass(frozen=True)
class WidgetCheck:
    """Which widget to move: the first control of ``kind`` in the cell whose source contains ``cell``."""

    cell: str
    kind: str  # "dropdown" (select the option at ``option``) or "slider" (press ArrowRight ``option`` times)
    option: int = 1


# One widget per chapter: a dropdown or slider whose change must redraw the cell's output.
WIDGETS: dict[str, WidgetCheck] = {
    "01_learning_in_games": WidgetCheck("make_dynamics_explorer(", "dropdown", 1),
    "02_mfos": WidgetCheck("make_replay_explorer(", "dropdown", 1),
    "03_shaper": WidgetCheck("make_coplayer_explorer(", "slider", 3),
    "04_rfos": WidgetCheck("make_constants_explorer(", "slider", 2),
    "05_welfuse": WidgetCheck("make_lookahead_explorer(", "slider", 3),
    "06_nplayer": WidgetCheck("make_table_explorer(", "slider", 2),
    "07_act": WidgetCheck("make_heatmap_explorer(", "slider", 8),  # snapshots every 4 generations
    "08_smax": WidgetCheck("make_episode_viewer(", "dropdown", 1),
    "09_moe_scaling": WidgetCheck("router_widget(", "slider", 2),
    "10_moe_settings": WidgetCheck("runs_widget(", "dropdown", 1),
    "11_rnp": WidgetCheck("context_widget(", "slider", 3),
}
# Chapters CI covers after `make test` (make browser alone covers every chapter).
CI_CHAPTERS = (
    "01_learning_in_games",
    "05_welfuse",
    "06_nplayer",
    "07_act",
    "08_smax",
    "11_rnp",
    "90_primers",
)


def all_chapters() -> list[str]:
    """Every chapter's notebook stem (the index excluded); chapters without a WIDGETS entry get the
    Run All check only."""
    stems = sorted(p.stem for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    return [s for s in stems if not s.startswith("00_")]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_lab(workdir: Path, port: int, token: str) -> subprocess.Popen:
    """JupyterLab on 127.0.0.1:port serving ``workdir``, windowing off so every cell is in the DOM."""
    settings = workdir / "_lab_settings"
    tracker = settings / "@jupyterlab" / "notebook-extension"
    tracker.mkdir(parents=True)
    (tracker / "tracker.jupyterlab-settings").write_text(json.dumps({"windowingMode": "none"}))
    env = dict(os.environ, JUPYTERLAB_SETTINGS_DIR=str(settings))
    env["JUPYTERLAB_WORKSPACES_DIR"] = str(workdir / "_lab_workspaces")
    env.pop("MPLBACKEND", None)
    cmd = [
        sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
        "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={workdir}", "--LabApp.expose_app_in_browser=True", "--allow-root",
    ]  # fmt: skip
    log = open(workdir / "_lab.log", "w")  # noqa: SIM115 (closed with the process)
    proc = subprocess.Popen(
        cmd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    url = f"http://127.0.0.1:{port}/api/status?token={token}"
    for _ in range(240):
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return proc
        except OSError:
            time.sleep(0.5)
    stop_lab(proc)
    raise RuntimeError(f"JupyterLab did not start; see {workdir / '_lab.log'}")


def stop_lab(proc: subprocess.Popen) -> None:
    """Stop the server and every kernel it started (one process group)."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


RUN_STATE_JS = """() => {
  const prompts = [...document.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt')];
  const busy = prompts.filter(p => p.textContent.includes('*')).length;
  const run = prompts.filter(p => /\\[\\d+\\]/.test(p.textContent)).length;
  const errs = document.querySelectorAll(
    '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.error"]');
  return {busy, run, total: prompts.length, errors: errs.length,
          first_error: errs.length ? errs[0].innerText.slice(0, 800) : ''};
}"""


NONE_NUMBERED_JS = """() => ![...document.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt')]
  .some(p => /\\[\\d+\\]/.test(p.textContent))"""


def run_all(page, timeout_s: float) -> dict:
    """Run every cell of the open notebook; returns the final run state (cells run, errors)."""
    page.wait_for_selector(".jp-Notebook .jp-CodeCell", timeout=120_000)
    page.wait_for_function("() => window.jupyterapp !== undefined", timeout=60_000)
    print("  kernel starting", file=sys.stderr)
    page.wait_for_function(
        "() => { const n = window.jupyterapp.shell.currentWidget;"
        " return n && n.sessionContext && n.sessionContext.session &&"
        " n.sessionContext.session.kernel && n.sessionContext.session.kernel.status === 'idle'; }",
        timeout=180_000,
    )
    print("  kernel idle: run all", file=sys.stderr)
    # stored outputs carry execution counts: clear them so that "every cell numbered" means "run now"
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:clear-all-cell-outputs')")
    page.wait_for_function(NONE_NUMBERED_JS)
    # not awaited: the command's promise settles only when the last cell has run
    page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")
    t0 = time.time()
    state = page.evaluate(RUN_STATE_JS)
    last_log = t0
    while time.time() - t0 < timeout_s:
        time.sleep(1.0)
        state = page.evaluate(RUN_STATE_JS)
        if time.time() - last_log > 30:
            last_log = time.time()
            print(
                f"  ... {state['run']}/{state['total']} cells run, {state['busy']} busy",
                file=sys.stderr,
            )
        if state["errors"] or (state["busy"] == 0 and state["run"] == state["total"]):
            break
    state["seconds"] = round(time.time() - t0, 1)
    return state


def move_widget(page, check: WidgetCheck, shots: Path, name: str) -> bool:
    """Change the widget and report whether its cell's output re-rendered (screenshot bytes differ)."""
    cell = page.locator(".jp-CodeCell", has_text=check.cell).first
    cell.scroll_into_view_if_needed()
    # the redrawn part: the widget's Output area (the figure), not the control that was moved
    out = cell.locator(".widget-output").filter(visible=True)
    out = out.first if out.count() else cell.locator(".jp-Cell-outputWrapper")
    time.sleep(2.0)  # let the first drawing land
    before = out.screenshot(path=str(shots / f"{name}_widget_before.png"))
    before_has_img = out.locator("img").count() > 0
    if check.kind == "dropdown":
        select = cell.locator(".widget-dropdown select").first
        select.select_option(index=check.option)
    elif check.kind == "slider":
        handle = cell.locator(".widget-slider .noUi-handle").first
        handle.focus()
        for _ in range(check.option):
            handle.press("ArrowRight")
    else:
        raise ValueError(f"kind={check.kind!r}; valid: 'dropdown', 'slider'")
    deadline = time.time() + 60
    after = before
    redrawn = False
    while time.time() < deadline and not redrawn:
        time.sleep(1.0)
        if out.locator("img").count() == 0 and before_has_img:
            continue  # cleared, not yet redrawn
        after = out.screenshot(path=str(shots / f"{name}_widget_after.png"))
        redrawn = after != before
    return redrawn


def check_chapter(context, base: str, token: str, name: str, shots: Path, timeout_s: float) -> dict:
    page = context.new_page()
    page.set_viewport_size({"width": 1280, "height": 1000})
    try:
        # a workspace of its own, reset: Lab must not restore the previous chapter as the current tab
        url = f"{base}/lab/workspaces/{name}/tree/notebooks/{name}.ipynb?reset&token={token}"
        page.goto(url, timeout=120_000)
        state = run_all(page, timeout_s)
        page.screenshot(path=str(shots / f"{name}_run_all.png"))
        result = {"chapter": name, **state, "widget_redrawn": None}
        complete = state["busy"] == 0 and state["run"] == state["total"]
        if not state["errors"] and complete and name in WIDGETS:
            result["widget_redrawn"] = move_widget(page, WIDGETS[name], shots, name)
        result["ok"] = bool(
            complete and not state["errors"] and result["widget_redrawn"] in (True, None)
        )
        if name in WIDGETS and result["widget_redrawn"] is None:
            result["ok"] = False
        return result
    finally:
        page.evaluate("() => window.jupyterapp && window.jupyterapp.commands.execute("
                      "'kernelmenu:shutdown')")  # fmt: skip
        page.close()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m rlbook.book.browser", description=__doc__)
    p.add_argument("chapters", nargs="*", help="notebook stems (default: every chapter)")
    p.add_argument("--ci", action="store_true", help=f"the CI subset: {', '.join(CI_CHAPTERS)}")
    p.add_argument("--out", type=Path, default=ROOT / "_build" / "browser")
    p.add_argument("--timeout", type=float, default=600.0, help="seconds for one chapter's Run All")
    args = p.parse_args(argv)
    # `timeout` and CI send SIGTERM: turn it into an exception so the server is stopped on the way out
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    chapters = list(args.chapters) or list(CI_CHAPTERS if args.ci else all_chapters())
    for c in chapters:
        if not (ROOT / "notebooks" / f"{c}.ipynb").is_file():
            raise ValueError(f"chapter {c!r} has no notebooks/{c}.ipynb")
    from playwright.sync_api import sync_playwright

    args.out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="rlbook-browser-"))
    shutil.copytree(ROOT / "notebooks", work / "notebooks")
    shutil.copytree(ROOT / "data", work / "data")
    port, token = free_port(), secrets.token_hex(16)
    lab = start_lab(work, port, token)
    results = []
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            context = browser.new_context()
            for c in chapters:
                r = check_chapter(
                    context, f"http://127.0.0.1:{port}", token, c, args.out, args.timeout
                )
                results.append(r)
                verdict = "ok" if r["ok"] else "FAILED"
                print(
                    f"{c}: {verdict} ({r['run']}/{r['total']} cells in {r['seconds']} s, "
                    f"errors {r['errors']}, widget redrawn {r['widget_redrawn']})",
                    flush=True,
                )
                if r["errors"]:
                    print(r["first_error"], flush=True)
            browser.close()
    finally:
        stop_lab(lab)
        shutil.rmtree(work, ignore_errors=True)
    (args.out / "results.json").write_text(json.dumps(results, indent=1) + "\n")
    n_ok = sum(r["ok"] for r in results)
    print(f"browser: {n_ok} of {len(results)} chapters ok")
    return 0 if n_ok == len(results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
