"""Progress bars and logging (issue 10): tqdm bars on long loops, quiet when not interactive.

`fluxfit.utils.progress` shows a bar only when standard error is a terminal, unless
``set_progress`` or ``FLUXFIT_PROGRESS`` decide otherwise; ``fluxfit --quiet`` turns bars off
and logging down to WARNING. Bars are recognised in captured standard error by tqdm's
``it/s`` / ``s/it`` rate or its ``|`` bar frame with a ``n/total`` count.
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from fluxfit.parallel import run_tasks
from fluxfit.utils import progress, progress_enabled, set_progress

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("FLUXFIT_DATA", REPO.parent / "shared" / "data"))
HESS = DATA / "gammapy-data" / "joint-crab" / "spectra" / "hess"
BAR = re.compile(r"\d+/\d+|it/s|s/it")


@pytest.fixture(autouse=True)
def _automatic(monkeypatch):
    """Every test starts from the automatic setting, with no environment override."""
    monkeypatch.delenv("FLUXFIT_PROGRESS", raising=False)
    set_progress(None)
    yield
    set_progress(None)


def _square(shared, task):
    return task * task


def _bar_in(text: str, desc: str) -> bool:
    return any(desc in line and BAR.search(line) for line in re.split(r"[\r\n]", text))


def test_off_when_stderr_is_not_a_terminal(capsys):
    assert not sys.stderr.isatty()  # pytest captures it
    assert progress_enabled() is False
    assert run_tasks(_square, range(5), backend="serial", desc="squares") == [0, 1, 4, 9, 16]
    assert list(progress(range(3), desc="loop")) == [0, 1, 2]
    assert capsys.readouterr().err == ""


def test_forced_on(capsys):
    set_progress(True)
    assert run_tasks(_square, range(5), backend="serial", desc="squares") == [0, 1, 4, 9, 16]
    assert _bar_in(capsys.readouterr().err, "squares")
    assert list(progress(range(3), desc="loop", enabled=True)) == [0, 1, 2]
    assert _bar_in(capsys.readouterr().err, "loop")


@pytest.mark.parametrize(("value", "expected"), [("1", True), ("on", True), ("0", False)])
def test_environment_variable(monkeypatch, capsys, value, expected):
    monkeypatch.setenv("FLUXFIT_PROGRESS", value)
    assert progress_enabled() is expected
    run_tasks(_square, range(3), backend="serial", desc="squares")
    assert _bar_in(capsys.readouterr().err, "squares") is expected


def test_precedence(monkeypatch):
    monkeypatch.setenv("FLUXFIT_PROGRESS", "1")
    set_progress(False)  # the package switch beats the environment
    assert progress_enabled() is False
    assert progress_enabled(True) is True  # an explicit argument beats both
    set_progress(None)
    assert progress_enabled() is True


def test_cli_quiet_turns_bars_and_info_off(tmp_path, capsys, monkeypatch):
    from fluxfit.cli.main import main

    monkeypatch.setenv("FLUXFIT_PROGRESS", "1")
    yaml_file = tmp_path / "m.yaml"
    yaml_file.write_text("components: []\n")
    main(["--quiet", "info", str(yaml_file)])
    assert progress_enabled() is False
    assert logging.getLogger("fluxfit").getEffectiveLevel() == logging.WARNING
    main(["info", str(yaml_file), "-q"])  # also after the command
    assert progress_enabled() is False
    main(["info", str(yaml_file)])
    assert progress_enabled() is True  # back to automatic: the environment says on
    assert logging.getLogger("fluxfit").getEffectiveLevel() == logging.INFO


BAYES = """
data:
  ogip: [{a}, {b}]
models:
  - name: crab
    spectral:
      type: PowerLawSpectralModel
      parameters: {{index: 2.5, amplitude: 3e-11 cm-2 s-1 TeV-1, reference: 1 TeV}}
      priors:
        index: {{type: GaussianPrior, mu: 2.5, sigma: 1.0}}
        amplitude: {{type: LogUniformPrior, min: 1e-13, max: 1e-9}}
fit: {{method: bayes, sampler: emcee, sampler_options: {{n_walkers: 8, n_iterations: 30}}}}
outputs: {{dir: results, report: false, overwrite: true}}
"""


@pytest.fixture
def bayes_config(tmp_path):
    if not HESS.is_dir():
        pytest.skip(f"H.E.S.S. OGIP spectra not found at {HESS}")
    pytest.importorskip("emcee")
    a, b = (HESS / f"pha_obs{n}.fits" for n in (23523, 23526))
    path = tmp_path / "analysis.yaml"
    path.write_text(BAYES.format(a=a, b=b))
    return path


def test_sampling_bar_forced_and_quiet(bayes_config, capsys, monkeypatch):
    from fluxfit.cli.main import main

    monkeypatch.setenv("FLUXFIT_PROGRESS", "1")
    assert main(["run", str(bayes_config)]) == 0
    captured = capsys.readouterr()
    assert BAR.search(captured.err), captured.err[-2000:]  # emcee's tqdm bar
    assert "emcee sampling" in captured.err
    assert "fit: success=True" in captured.out
    assert main(["--quiet", "run", str(bayes_config)]) == 0
    captured = capsys.readouterr()
    assert not BAR.search(captured.err), captured.err[-2000:]
    assert captured.out == ""


def test_non_interactive_run_has_no_bars(bayes_config):
    """``fluxfit run`` with standard error in a pipe (a batch job) prints no bar."""
    env = {k: v for k, v in os.environ.items() if k != "FLUXFIT_PROGRESS"}
    proc = subprocess.run(
        [sys.executable, "-m", "fluxfit.cli.main", "run", str(bayes_config)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert not BAR.search(proc.stderr), proc.stderr[-2000:]
    assert "fit: success=True" in proc.stdout
