"""Progress bars: widgets in JupyterLab (ipywidgets), text in a terminal and in headless notebook executions.

    from .progress import tqdm        # the engine's and the ticket API's bars
    with text_bars(): papermill...    # kernels started inside keep text bars

A headless execution (papermill, via `notebook.execute_one`) keeps text bars: their final states are tidied into one
stdout line per bar in the committed handouts (`notebook.tidy_progress`), where a widget would show nothing without a
live kernel. Everywhere else, inside a Jupyter kernel the bar is a widget.
"""
from __future__ import annotations

import contextlib
import os
from typing import Iterator

from tqdm import tqdm as text_tqdm

TEXT_ENV = "LTH_TEXT_PROGRESS"


def tqdm(*args, **kwargs):
    """tqdm.auto's bar (a widget in a Jupyter kernel) unless $LTH_TEXT_PROGRESS is 1; the plain text bar otherwise."""
    if os.environ.get(TEXT_ENV) != "1":
        from tqdm.auto import tqdm as auto_tqdm
        return auto_tqdm(*args, **kwargs)
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
