"""The seed 000-004 example scripts run on the real data and print the right numbers.

Each script runs in a subprocess writing into ``tmp_path`` and prints its key numbers as
``KEY name = value`` lines; the comparisons with Gammapy 2.1 (printed when the reference is
there) must be within the acceptance of issue 6 (1 %); those with 3ML (seed 000, same counts,
same priors, UltraNest) within 0.25 sigma for the posterior medians and 0.5 % for the fluxes.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.data

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def run_example(name, data_dir, tmp_path, extra=()) -> dict:
    out = tmp_path / "out"
    env = dict(os.environ, FLUXFIT_DATA=str(data_dir), MPLBACKEND="Agg")
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / name), "--out", str(out), "--quiet", *extra],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    keys = dict(re.findall(r"^KEY (\S+) = (.*)$", proc.stdout, flags=re.M))
    assert keys, proc.stdout
    keys["_out"] = out
    return keys


def test_seed_000_multiple_sources(data_dir, tmp_path):
    keys = run_example("seed_000_multiple_sources.py", data_dir, tmp_path)
    assert keys["sampler"] == "ultranest"
    # 3ML's posterior median energy flux of src1 (1 keV-1 MeV) is 5.706e-6 erg cm-2 s-1
    assert float(keys["src1_energy_flux_1keV_1MeV"]) == pytest.approx(5.706e-6, rel=0.005)
    assert int(keys["n_figures"]) == 2
    assert (keys["_out"] / "seed000_results.fits").is_file()
    if "max_abs_pull_vs_threeml" in keys:  # 3ML's run on the same counts is there
        assert float(keys["max_abs_pull_vs_threeml"]) < 0.25
        assert float(keys["max_abs_flux_rel_diff_vs_threeml"]) < 0.005
        # evidences: fluxfit +-0.40, 3ML +-0.28 (UltraNest's own error estimates)
        assert abs(float(keys["ln_z_diff_vs_threeml"])) < 1.0


def test_seed_001_flux_profiles(data_dir, tmp_path):
    keys = run_example("seed_001_flux_profiles.py", data_dir, tmp_path)
    assert int(keys["profile51_n_bins"]) == 51
    assert int(keys["profile51_n_success"]) == 47  # 4 regions in the unsafe border
    assert float(keys["profile51_norm_bin3"]) == pytest.approx(1.894, abs=2e-3)
    assert float(keys["roundtrip_max_rel_dnde"]) == 0
    assert keys["annuli_shape"] == "10x2"
    assert keys["annuli_energy_edges_GeV"] == "10.00 84.47 500.00"
    assert float(keys["annuli_ts_inner_low"]) > 100
    for name in ("profile49_max_diff_vs_gammapy", "profile51_nomask_max_diff_vs_gammapy"):
        if name in keys:
            assert float(keys[name]) < 0.01, name
    assert int(keys["n_figures"]) == 9
    out = keys["_out"]
    assert len(list(out.glob("*.png"))) == 9
    assert (out / "flux_profile_fermi.fits").is_file()
    assert (out / "annuli_high_eflux_ts_profiles.png").stat().st_size > 5000


def test_seed_002_joint_crab(data_dir, tmp_path):
    keys = run_example("seed_002_joint_crab.py", data_dir, tmp_path)
    assert (
        keys["datasets"] == "Fermi-LAT:MapDataset HESS:SpectrumDatasetOnOff HAWC:FluxPointsDataset"
    )
    assert float(keys["roundtrip_max_stat_difference"]) == 0
    assert "crab_10GeV_100TeV_models.yaml" in keys["roundtrip_files"]
    assert keys["joint_success"] == "True"
    assert float(keys["joint_total_stat"]) == pytest.approx(-12697.23, abs=0.02)
    assert float(keys["joint_alpha"]) == pytest.approx(1.2633, rel=0.01)
    assert int(keys["hess_fp_n_ul"]) == 1
    for name in (
        "joint_max_rel_diff_vs_gammapy",
        "fermi_fp_max_rel_diff_vs_gammapy",
        "hess_fp_max_rel_diff_vs_gammapy",
    ):
        if name in keys:
            assert float(keys[name]) < 0.01, name
    out = keys["_out"]
    assert (out / "crab_sed.png").stat().st_size > 10000
    assert (out / "crab-3datasets" / "crab_10GeV_100TeV_datasets.yaml").is_file()


def test_seed_004_flux_points(data_dir, tmp_path):
    keys = run_example("seed_004_flux_points.py", data_dir, tmp_path)
    for name in (
        "joint_fit_success",
        "source_name_equals_index",
        "n_sigma_ul3_above_ul2",
        "norm_parameter_equals_dict",
        "fermi_reoptimize_success",
        "fermi_reoptimize_ts_below_fixed",
        "roundtrip_fits",
        "roundtrip_ecsv",
    ):
        assert keys[name] == "True", name
    assert keys["hess_snapped_edges_TeV"].split()[1] == "1.585"  # 1.570 snapped
    assert int(keys["hess_n_bins_energy_edges_none"]) == 80
    assert int(keys["hess_n_ul"]) == 1
    assert float(keys["n_sigma2_errp_ratio_bin0"]) == pytest.approx(2.0, abs=0.15)
    assert int(keys["norm_dict_scan_n"]) == 16
    assert int(keys["norm_values_scan_n"]) == 3
    assert float(keys["fermi_background_norm_untouched"]) == pytest.approx(1.305, abs=1e-3)
    for name in ("hess_explicit_max_diff_vs_gammapy", "fermi_max_diff_vs_gammapy"):
        if name in keys:
            assert float(keys[name]) < 0.01, name
    assert int(keys["n_figures"]) == 2


def test_seed_003_time_resolved(data_dir, tmp_path):
    keys = run_example("seed_003_time_resolved.py", data_dir, tmp_path, extra=("--compare",))
    # Gammapy 2.1: 21 observations, 34 pieces, 24 intervals of 15 minutes
    assert int(keys["n_datasets"]) == 34
    assert int(keys["n_intervals"]) == 24
    assert int(keys["n_success"]) == 24
    assert float(keys["index_first"]) == pytest.approx(4.009, abs=0.01)
    if "index_max_abs_diff_vs_gammapy" in keys:
        assert float(keys["index_max_abs_diff_vs_gammapy"]) < 0.01
        assert float(keys["amplitude_max_rel_diff_vs_gammapy"]) < 0.01
    out = keys["_out"]
    assert (out / "seed003_time_resolved.ecsv").is_file()
    assert len(list(out.glob("seed003_*.png"))) == 2
