"""Shared helpers of the benchmarks: timing, machine facts, RESULTS.md sections, data paths."""

from __future__ import annotations

import os
import platform
import re
import subprocess
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).with_name("RESULTS.md")
REPO = Path(__file__).resolve().parents[1]


def timed(func, repeats: int) -> tuple[float, float]:
    """(min, median) wall time of one call, in ms, after a warm-up call."""
    func()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return 1e3 * min(times), 1e3 * float(np.median(times))


def machine() -> dict:
    """uname, core count, CPU model, Python and numpy versions."""
    uname = subprocess.run(["uname", "-a"], capture_output=True, text=True).stdout.strip()
    cpu = ""
    try:
        text = Path("/proc/cpuinfo").read_text()
        match = re.search(r"model name\s*:\s*(.+)", text)
        cpu = match.group(1).strip() if match else ""
    except OSError:
        pass
    return {
        "uname": uname or platform.platform(),
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "python": platform.python_version(),
        "numpy": np.__version__,
    }


def write_section(heading: str, text: str) -> None:
    """Replace (or append) the section starting with ``heading`` in bench/RESULTS.md."""
    content = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    pattern = re.compile(rf"^{re.escape(heading)}\n.*?(?=^## |\Z)", re.S | re.M)
    section = text.rstrip() + "\n\n"
    if pattern.search(content):
        content = pattern.sub(lambda _: section, content)
    else:
        content = content.rstrip() + "\n\n" + section
    RESULTS.write_text(content.rstrip() + "\n")


def shared_dir() -> Path:
    """``$FLUXFIT_DATA/..`` or the repository's sibling ``shared/``."""
    env = os.environ.get("FLUXFIT_DATA")
    return Path(env).parent if env else REPO.parent / "shared"
