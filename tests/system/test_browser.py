"""JupyterLab in a real browser, as a student uses it: start JupyterLab on localhost, open the quickstart notebook in
headless Chromium (Debian's, driven by Playwright), switch its parameters cell to the smoke profile, run all cells,
and check that no cell ended in an error, that the progress bars are widgets (no red stderr text), that a figure
rendered and that the conclusion appeared. A screenshot goes
to build/browser/. `make test` installs Chromium first where it can (root with apt-get); where it cannot, the reason
is written to build/browser-unavailable and this test is skipped with it."""
from __future__ import annotations

import importlib.util
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = "00_quickstart.ipynb"
SHOTS = ROOT / "build" / "browser"
CHROMIUM = shutil.which("chromium")


def _unavailable() -> str | None:
    if importlib.util.find_spec("playwright") is None:
        return "playwright is not installed (it is pinned in requirements.txt: run make test)"
    if CHROMIUM is None:
        note = ROOT / "build" / "browser-unavailable"
        why = note.read_text().strip() if note.exists() else "make test was not run first (it installs it)"
        return f"Debian's chromium is not installed: {why}"
    return None


pytestmark = pytest.mark.skipif(_unavailable() is not None, reason=str(_unavailable()))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def lab(tmp_path, data_root):
    """A JupyterLab server on a copy of the quickstart notebook (outputs cleared), beside data/ and an empty runs/."""
    (tmp_path / "notebooks").mkdir()
    nb = json.loads((ROOT / "notebooks" / NOTEBOOK).read_text())
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            cell["outputs"], cell["execution_count"] = [], None
    (tmp_path / "notebooks" / NOTEBOOK).write_text(json.dumps(nb))
    (tmp_path / "data").symlink_to(Path(data_root).resolve())
    port = _free_port()
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(tmp_path / ".jupyter"),
           "JUPYTERLAB_SETTINGS_DIR": str(tmp_path / ".lab-settings"),
           "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path / ".lab-workspaces")}
    log = open(tmp_path / "jupyter.log", "w")
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root", "--ServerApp.ip=127.0.0.1",
         f"--ServerApp.port={port}", "--IdentityProvider.token=", "--ServerApp.password=",
         f"--ServerApp.root_dir={tmp_path}", "--LabApp.expose_app_in_browser=True", "--LabApp.news_url=None",
         "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"],
        stdout=log, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 60
        while True:
            try:
                urllib.request.urlopen(f"{url}/api/status", timeout=2)
                break
            except OSError:
                if server.poll() is not None or time.time() > deadline:
                    raise RuntimeError(f"JupyterLab did not start: {(tmp_path / 'jupyter.log').read_text()[-2000:]}")
                time.sleep(0.5)
        yield url, tmp_path
    finally:
        server.terminate()
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


# Runs in the page: the notebook panel's cells, from JupyterLab's own model (window.jupyterapp).
CELLS_JS = """() => {
    const panel = window.jupyterapp.shell.currentWidget;
    return panel.content.widgets.map(cell => ({
        type: cell.model.type,
        count: cell.model.type === 'code' ? cell.model.executionCount : null,
        outputs: cell.model.type === 'code' ? cell.model.outputs.toJSON() : [],
    }));
}"""


def test_a_student_runs_the_quickstart_in_jupyterlab_and_sees_figures_and_the_conclusion(lab):
    from playwright.sync_api import sync_playwright

    url, root = lab
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        try:
            page.goto(f"{url}/lab/tree/notebooks/{NOTEBOOK}", timeout=120_000)
            page.wait_for_function("""() => window.jupyterapp && window.jupyterapp.shell.currentWidget &&
                window.jupyterapp.shell.currentWidget.sessionContext &&
                window.jupyterapp.shell.currentWidget.sessionContext.session &&
                window.jupyterapp.shell.currentWidget.sessionContext.session.kernel &&
                window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.connectionStatus === 'connected'
            """, timeout=120_000)
            # The student's edit: the parameters cell's profile, set in the cell's own model.
            page.evaluate("""() => {
                const cell = window.jupyterapp.shell.currentWidget.content.widgets.find(c => c.model.type === 'code');
                const source = cell.model.sharedModel.getSource();
                cell.model.sharedModel.setSource(source.replace('profile = "standard"', 'profile = "smoke"'));
            }""")
            assert 'profile = "smoke"' in page.locator(".jp-CodeCell").first.inner_text()
            page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
            page.wait_for_function(f"""() => ({CELLS_JS})().every(c => c.type !== 'code' || c.count !== null)
                && window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.status === 'idle'""",
                                   timeout=300_000, polling=1000)
            cells = page.evaluate(CELLS_JS)
            errors = [o for c in cells for o in c["outputs"] if o.get("output_type") == "error"]
            assert not errors, f"a cell failed: {errors[0].get('ename')}: {errors[0].get('evalue')}"
            assert sum("image/png" in o.get("data", {}) for c in cells for o in c["outputs"]) >= 2
            figure = page.locator(".jp-RenderedImage img").first
            figure.scroll_into_view_if_needed()
            assert page.evaluate("img => img.naturalWidth", figure.element_handle()) > 100  # the PNG decoded
            page.screenshot(path=str(SHOTS / "00_quickstart_figure.png"))
            bars = page.locator(".jp-OutputArea-output .widget-hprogress")  # tqdm bars as ipywidgets, not text
            assert bars.count() >= 2 and "IMP" in page.locator(".jp-OutputArea-output .widget-hbox").first.inner_text()
            assert not page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']").count()
            conclusion = page.locator(".jp-OutputArea-output.jp-RenderedMarkdown", has_text="the ticket keeps").first
            conclusion.scroll_into_view_if_needed()
            assert "After 2 rounds the ticket keeps 10.0% of the prunable weights" in conclusion.inner_text()
            page.screenshot(path=str(SHOTS / "00_quickstart_conclusion.png"))
        finally:
            page.screenshot(path=str(SHOTS / "00_quickstart_last.png"))
            browser.close()
    # a setting other than the handouts' own (here the profile) writes its figures beside, never over, figures/
    assert (root / "build" / "figures" / "smoke" / "00_quickstart_accuracy.png").exists()
    assert not (root / "figures").exists()
    assert (root / "runs" / "quickstart" / "trial_0.pt").exists()
