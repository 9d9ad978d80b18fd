"""Shared helpers of the benchmarks: timing, machine facts, RESULTS.md sections, data paths."""

from __future__ import annotations

import datetime
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


def peer_table(rows: dict, peers: dict) -> str:
    """Markdown table: fluxfit's (min, median) per row against the peer's, and the ratio.

    ``rows`` maps a work label to fluxfit's (min, median); ``peers`` maps the same labels to
    ``(peer label, (min, median))``. Rows without a peer show "-".
    """
    lines = [
        "| work | fluxfit min / median | peer | peer min / median | ratio (peer / fluxfit, min) |",
        "|---|---:|---|---:|---:|",
    ]
    for key, ours in rows.items():
        label, theirs = peers.get(key, ("-", None))
        if theirs is None:
            lines.append(f"| {key} | {ours[0]:.3g} / {ours[1]:.3g} | {label} | - | - |")
        else:
            lines.append(
                f"| {key} | {ours[0]:.3g} / {ours[1]:.3g} | {label} | "
                f"{theirs[0]:.3g} / {theirs[1]:.3g} | {theirs[0] / ours[0]:.1f}x |"
            )
    return "\n".join(lines)


def run_stamp() -> str:
    """The start of a RESULTS section's first line: UTC time, machine, Python and numpy."""
    info = machine()
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (
        f"Run {stamp}; `{info['uname']}`; nproc={info['nproc']}; {info['cpu']}; "
        f"Python {info['python']}, numpy {info['numpy']};"
    )


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


def threeml_seed000(reference: Path):
    """3ML's seed-000 model and OGIPLike plugins on ``task1_s{1,2}`` (needs 3ML installed).

    The tutorial's model: two point sources, kT linked, priors on every free parameter;
    each plugin assigned to its source. Returns ``(model, DataList)``.
    """
    import contextlib
    import io

    from astromodels import Blackbody, Gaussian, Log_normal, Model, PointSource, Powerlaw_flux
    from threeML import DataList, OGIPLike

    plugins = []
    for name in ("s1", "s2"):
        with contextlib.redirect_stdout(io.StringIO()):
            plugin = OGIPLike(
                name,
                observation=str(reference / f"threeml/task1_{name}.pha"),
                background=str(reference / f"threeml/task1_{name}_bak.pha"),
                response=str(reference / f"threeml/task1_{name}.rsp"),
                spectrum_number=1,
                verbose=False,
            )
        plugin.assign_to_source("src1" if name == "s1" else "src2")
        plugins.append(plugin)
    spectrum_1 = Blackbody()
    spectrum_1.K.prior = Log_normal(mu=np.log(1e-7), sigma=1)
    spectrum_1.kT.prior = Log_normal(mu=np.log(300), sigma=2)
    ps1 = PointSource("src1", ra=1, dec=20, spectral_shape=spectrum_1)
    spectrum_2 = Blackbody() + Powerlaw_flux(a=10, b=500)
    spectrum_2.K_1.prior = Log_normal(mu=np.log(1e-6), sigma=1)
    spectrum_2.kT_1.prior = Log_normal(mu=np.log(300), sigma=2)
    spectrum_2.F_2.prior = Log_normal(mu=np.log(1e2), sigma=1)
    spectrum_2.F_2.bounds = (None, None)
    spectrum_2.index_2.prior = Gaussian(mu=-1.0, sigma=1)
    spectrum_2.index_2.bounds = (None, None)
    ps2 = PointSource("src2", ra=2, dec=-10, spectral_shape=spectrum_2)
    model = Model(ps1, ps2)
    model.link(model.src1.spectrum.main.Blackbody.kT, model.src2.spectrum.main.composite.kT_1)
    return model, DataList(*plugins)
