"""The demo's Crab analysis, the results folder and the HTML report (opened in Chromium)."""

import json
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest

from fluxfit.cli.demo import run_crab_analysis, simulate_crab_datasets
from fluxfit.cli.main import main
from fluxfit.cli.report import build_report
from fluxfit.errors import FormatError

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def results_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("crab")
    info = run_crab_analysis(out, say=lambda *a: None)
    assert main(["report", str(out), "--quiet"]) == 0
    # rewriting it needs --overwrite: writers never replace files unasked
    assert main(["report", str(out), "--quiet"]) == 1
    assert main(["report", str(out), "--quiet", "--overwrite"]) == 0
    return out, info


def test_simulation_is_deterministic():
    first = simulate_crab_datasets()
    second = simulate_crab_datasets()
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a.counts, b.counts)
        np.testing.assert_array_equal(a.counts_off, b.counts_off)
    assert first.names == ["run1", "run2", "run3", "run4"]


def test_crab_fit_recovers_truth(results_dir):
    _, info = results_dir
    pars = info["datasets"].models.parameters
    assert info["fit_result"].success
    # truth alpha 2.47, amplitude 3.8e-11: within 3 sigma
    assert abs(pars["alpha"].value - 2.47) < 3 * pars["alpha"].error
    assert abs(pars["amplitude"].value - 3.8e-11) < 3 * pars["amplitude"].error


def test_results_folder_layout(results_dir):
    out, info = results_dir
    summary = json.loads((out / "fit.json").read_text())
    assert summary["fit"]["success"] is True
    assert [d["name"] for d in summary["datasets"]] == ["run1", "run2", "run3", "run4"]
    assert {p["name"] for p in summary["parameters"]} >= {"amplitude", "alpha", "beta"}
    for role in ("models", "flux_points", "lightcurve"):
        assert (out / summary["files"][role]).is_file()
    stems = {Path(f["file"]).stem for f in summary["figures"]}
    assert {"sed", "counts", "lightcurve"} <= stems
    if info["bayes_results"] is not None:
        assert "corner" in stems


def test_report_is_self_contained(results_dir):
    out, _ = results_dir
    text = (out / "report.html").read_text()
    sources = re.findall(r'<img[^>]*src="([^"]*)"', text)
    assert len(sources) >= 3
    assert all(s.startswith("data:image/png;base64,") for s in sources)
    for heading in ("Fit summary", "Parameters", "Figures"):
        assert heading in text


def test_report_redraws_missing_figures(results_dir, tmp_path):
    out, _ = results_dir
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    shutil.rmtree(copy / "figures")
    summary = json.loads((copy / "fit.json").read_text())
    summary["figures"] = []
    (copy / "fit.json").write_text(json.dumps(summary))
    text = build_report(copy)
    assert text.count("data:image/png;base64,") >= 2  # SED and light curve from the files


def test_report_errors(tmp_path, capsys):
    with pytest.raises(FormatError, match=r"fit\.json"):
        build_report(tmp_path)
    assert main(["report", str(tmp_path)]) == 1
    assert "fit.json" in capsys.readouterr().err


@pytest.mark.skipif(
    not CHROMIUM.is_file(),
    reason="needs /usr/bin/chromium (Debian packages chromium and chromium-driver)",
)
def test_report_renders_in_chromium(results_dir, tmp_path):
    out, _ = results_dir
    url = (out / "report.html").resolve().as_uri()
    common = [str(CHROMIUM), *CHROMIUM_FLAGS]
    dom = subprocess.run(
        [*common, f"--user-data-dir={tmp_path / 'profile1'}", "--dump-dom", url],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert dom.returncode == 0, dom.stderr[-2000:]
    body = re.search(r"<body[^>]*>", dom.stdout).group(0)
    assert 'data-images-loaded="all"' in body, body
    count = int(re.search(r'data-image-count="(\d+)"', body).group(1))
    assert count >= 3
    screenshot = tmp_path / "report.png"
    shot = subprocess.run(
        [
            *common,
            f"--user-data-dir={tmp_path / 'profile2'}",
            f"--screenshot={screenshot}",
            "--window-size=1200,3000",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert shot.returncode == 0, shot.stderr[-2000:]
    assert screenshot.stat().st_size > 10_000
