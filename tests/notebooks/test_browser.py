"""01_what_if in a real JupyterLab in headless Chromium: run all cells, move the MQL slider, see the plot change.

Chromium is Debian's (/usr/bin/chromium, installed by .ci/run), driven by the pip `playwright` package's
driver; Playwright's own browser download does not work on these machines. The server runs on a random
loopback port with a token, from a temporary Jupyter home, and is stopped (with its kernels) at the end.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Page

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]
"""Without the background-networking flags Chromium keeps dialling Google hosts the sandbox refuses."""
SMALL_LEADS = "3000"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until_up(url: str, server: subprocess.Popen[bytes], log: Path, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"JupyterLab exited with {server.returncode}:\n{log.read_text(errors='replace')[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.3)
    pytest.fail(f"JupyterLab did not answer {url.split('?')[0]} in {seconds:.0f} s:\n"
                f"{log.read_text(errors='replace')[-3000:]}")


@pytest.fixture()
def chromium() -> Path:
    """Debian's Chromium; missing is a failure (CI must run this test), never a skip."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: .ci/run installs it (apt-get install chromium); on a dev machine run "
                    "`sudo apt-get install -y chromium` (Playwright's browser download does not work here)")
    return CHROMIUM


@pytest.fixture()
def lab(tmp_path: Path) -> Iterator[str]:
    """A JupyterLab server on notebooks/ at a random loopback port; yields its base URL with the token."""
    port, token = _free_port(), secrets.token_hex(16)
    home = tmp_path / "jupyter"
    env = {**os.environ, "SCOREBENCH_NOTEBOOK_LEADS": SMALL_LEADS, "JUPYTER_CONFIG_DIR": str(home / "config"),
           "JUPYTER_RUNTIME_DIR": str(home / "runtime"), "JUPYTER_PLATFORM_DIRS": "1"}
    news = home / "settings" / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    news.parent.mkdir(parents=True)
    news.write_text('{"fetchNews": "false", "checkForUpdates": false}', encoding="utf-8")  # no news toast, no fetch
    log = tmp_path / "jupyterlab.log"
    command = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.ip=127.0.0.1",
               f"--ServerApp.port={port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
               f"--ServerApp.root_dir={NOTEBOOKS}", f"--LabApp.workspaces_dir={home / 'workspaces'}",
               f"--LabApp.user_settings_dir={home / 'settings'}",
               f"--FileCheckpoints.checkpoint_dir={home / 'checkpoints'}", "--LabApp.news_url=",
               "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
               "--LabApp.extension_manager=readonly"]
    if os.geteuid() == 0:  # CI machines and these sandboxes run as root; Jupyter refuses root without this
        command.append("--allow-root")
    with log.open("wb") as sink:
        server = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_until_up(f"{base}/api/status?token={token}", server, log)
        yield f"{base}/lab/tree/01_what_if.ipynb?token={token}"
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)  # the server and the kernels it started (its session)
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait(timeout=5)


def _wait_for_connected_kernel(url: str, seconds: float = 60.0) -> None:
    """Until the server reports a kernel that the page is connected to and that is idle."""
    parts = urllib.parse.urlsplit(url)
    token = urllib.parse.parse_qs(parts.query)["token"][0]
    api = f"{parts.scheme}://{parts.netloc}/api/kernels?token={token}"
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with urllib.request.urlopen(api, timeout=5) as response:
            kernels = json.loads(response.read())
        if any(k.get("connections", 0) > 0 and k.get("execution_state") == "idle" for k in kernels):
            return
        time.sleep(0.3)
    pytest.fail(f"no connected idle kernel after {seconds:.0f} s: {kernels}")


def _move_mql_slider(page: Page, url: str) -> tuple[tuple[str, bytes], tuple[str, bytes]]:
    """Open the notebook, Run All Cells, ArrowRight x5 on the MQL slider; (readout, plot PNG) before and after."""
    from playwright.sync_api import expect

    page.goto(url)
    page.locator(".jp-Notebook").first.wait_for(timeout=60_000)
    _wait_for_connected_kernel(url)
    readout = page.locator(".scorebench-readout")
    dialog = page.locator(".jp-Dialog .jp-mod-accept")  # "Select Kernel" when the session is not up yet
    for attempt in range(3):
        # Run All right after the kernel connects can be dropped by the page (cells stay "[ ]"): retry.
        page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
        page.locator(".lm-Menu-item[data-command='runmenu:run-all']").click()
        try:
            expect(readout.or_(dialog).first).to_be_visible(timeout=30_000)
        except AssertionError:
            if attempt == 2:
                raise
            continue
        if dialog.is_visible():
            dialog.click()
        break
    expect(readout).to_contain_text("MQL 60 /", timeout=90_000)
    plot = page.locator(".scorebench-plot")
    expect(plot).to_be_visible()
    before = readout.inner_text(), plot.screenshot()
    page.locator(".widget-slider", has_text="MQL threshold").locator(".noUi-handle").first.focus()
    for _ in range(5):
        page.keyboard.press("ArrowRight")
    expect(readout).to_contain_text("MQL 65 /", timeout=30_000)
    page.wait_for_function("() => document.querySelector('.scorebench-plot').complete")
    page.wait_for_timeout(500)
    return before, (readout.inner_text(), plot.screenshot())


def test_what_if_slider_redraws_in_jupyterlab(chromium: Path, lab: str, tmp_path: Path) -> None:
    """Run All Cells, five ArrowRight presses on the MQL slider: the readout says MQL 65 and the plot changed."""
    from playwright.sync_api import sync_playwright

    began = time.perf_counter()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium), args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1500, "height": 1300})
            try:
                before, after = _move_mql_slider(page, lab)
            except Exception:
                page.screenshot(path=str(tmp_path / "failure.png"), full_page=True)
                print(f"\nfailure screenshot: {tmp_path / 'failure.png'}")
                raise
            shot = tmp_path / "what_if_after_slider.png"
            page.screenshot(path=str(shot), full_page=True)
            print(f"\nscreenshot: {shot}\nbrowser test: {time.perf_counter() - began:.1f} s\n"
                  f"before: {before[0]}\nafter:  {after[0]}")
        finally:
            browser.close()
    assert after[0] != before[0]
    assert after[1] != before[1], "the plot image did not change after the slider moved"
