"""Progress bars: widgets in JupyterLab (ipywidgets), text in a terminal and in headless notebook executions.

    from .progress import tqdm        # the engine's and the ticket API's bars
    with text_bars(): papermill...    # kernels started inside keep text bars

A bar is a widget only in a kernel that a Jupyter server started for a notebook session (JupyterLab, Notebook: the
server sets $JPY_SESSION_NAME for it), where a browser renders it. Kernels started by papermill, nbval or nbclient
have no such session: their bars stay text (on stderr), which `notebook.tidy_progress` reduces to one line per bar
in the committed handouts, and which a researcher's own papermill batch keeps readable without a live kernel.
"""
from __future__ import annotations

import contextlib
import os
from typing import Iterator

from tqdm import tqdm as text_tqdm

TEXT_ENV = "LTH_TEXT_PROGRESS"


def widgets() -> bool:
    """True in a kernel of a Jupyter server's notebook session, unless $LTH_TEXT_PROGRESS is 1."""
    return os.environ.get(TEXT_ENV) != "1" and bool(os.environ.get("JPY_SESSION_NAME"))


def tqdm(*args, **kwargs):
    """An ipywidgets bar where `widgets()`, the plain text bar everywhere else."""
    if widgets():
        from tqdm.notebook import tqdm as widget_tqdm
        return widget_tqdm(*args, **kwargs)
    return text_tqdm(*args, **kwargs)


@contextlib.contextmanager
def text_bars() -> Iterator[None]:
    """Inside: processes started from here (papermill's kernels) draw text bars."""
    before = os.environ.get(TEXT_ENV)
    os.environ[TEXT_ENV] = "1"
    try:
        yield
    finally:
        if before is None:
            del os.environ[TEXT_ENV]
        else:
            os.environ[TEXT_ENV] = before
