"""Seed 002: joint Crab fit of Fermi-LAT, H.E.S.S. and HAWC data (Gammapy's tutorial, in fluxfit).

1. the Fermi-LAT 3FHL Crab MapDataset and its models (LogParabola point source, FoV
   background) from the datasets and models YAML files (``Datasets.read``);
2. the two H.E.S.S. runs 23523 and 23526 (OGIP ON/OFF spectra) stacked into one dataset;
3. the HAWC flux points (``FluxPointsDataset``), all three sharing the Crab model;
4. ``Datasets.write`` of the three datasets and models and ``Datasets.read`` back (the
   statistics must be identical);
5. the joint fit, compared with Gammapy 2.1's (``wf2_joint_crab.json``) when available;
6. flux points: Fermi-LAT 5 bins 10 GeV - 2 TeV, H.E.S.S. 6 bins 1-15 TeV with upper limits;
7. the SED: model, 1-sigma butterfly from the fit covariance and the three sets of points.

Usage::

    python examples/seed_002_joint_crab.py [--out seed002_output] [--quiet]

Data: ``$FLUXFIT_DATA/gammapy-data/{fermi-3fhl-crab,joint-crab,hawc}`` (or ``../shared/data``
beside the repository). Figures and the written datasets go to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import astropy.units as u
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from fluxfit.datasets import (
    Datasets,
    FluxPoints,
    FluxPointsDataset,
    SpectrumDatasetOnOff,
)
from fluxfit.estimators import FluxPointsEstimator
from fluxfit.fit import Fit
from fluxfit.maps import MapAxis
from fluxfit.models import Models

REPO = Path(__file__).resolve().parents[1]
SOURCE = "Crab Nebula"


def data_dir() -> Path:
    env = os.environ.get("FLUXFIT_DATA")
    return Path(env) if env else REPO.parent / "shared" / "data"


def reference() -> dict | None:
    env = os.environ.get("FLUXFIT_DATA")
    shared = Path(env).parent if env else REPO.parent / "shared"
    path = shared / "reference" / "gammapy" / "wf2_joint_crab.json"
    return json.loads(path.read_text()) if path.is_file() else None


def read_datasets(data: Path):
    """Fermi-LAT (YAML), H.E.S.S. (two runs stacked) and HAWC, sharing the Crab model."""
    crab_dir = data / "gammapy-data/fermi-3fhl-crab"
    fermi = Datasets.read(
        crab_dir / "Fermi-LAT-3FHL_datasets.yaml", crab_dir / "Fermi-LAT-3FHL_models.yaml"
    )
    dataset_fermi = fermi[0]
    crab_model = dataset_fermi.models[SOURCE]
    hess_dir = data / "gammapy-data/joint-crab/spectra/hess"
    runs = [SpectrumDatasetOnOff.read(hess_dir / f"pha_obs{obs}.fits") for obs in (23523, 23526)]
    dataset_hess = Datasets(runs).stack_reduce(name="HESS")
    dataset_hess.models = Models([crab_model])
    flux_points_hawc = FluxPoints.read(data / "gammapy-data/hawc/crab_flux/HAWC19_flux_points.fits")
    dataset_hawc = FluxPointsDataset(Models([crab_model]), flux_points_hawc, name="HAWC")
    return Datasets([dataset_fermi, dataset_hess, dataset_hawc]), flux_points_hawc


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default="seed002_output", help="output folder")
    parser.add_argument("--quiet", action="store_true", help="print the key numbers only")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    def say(text=""):
        if not args.quiet:
            print(text)

    def key(name, value):
        print(f"KEY {name} = {value}")

    start_all = time.perf_counter()
    ref = reference()
    datasets, flux_points_hawc = read_datasets(data_dir())
    say(str(datasets))
    say(str(datasets["Fermi-LAT"].models))
    key("datasets", " ".join(f"{d.name}:{type(d).__name__}" for d in datasets))

    # ------------------------------------------------------- write / read back
    folder = out / "crab-3datasets"
    datasets.write(folder, prefix="crab_10GeV_100TeV", overwrite=True)
    datasets_read = Datasets.read(
        folder / "crab_10GeV_100TeV_datasets.yaml", folder / "crab_10GeV_100TeV_models.yaml"
    )
    before, after = datasets.stat_sums(), datasets_read.stat_sums()
    key("roundtrip_files", " ".join(sorted(p.name for p in folder.iterdir())))
    key(
        "roundtrip_max_stat_difference",
        f"{max(abs(before[n] - after[n]) for n in before):.1e}",
    )
    say(f"statistics at the start values: {after}")
    datasets = datasets_read

    # --------------------------------------------------------------- joint fit
    t0 = time.perf_counter()
    result = Fit().run(datasets)
    key("joint_fit_time_ms", f"{(time.perf_counter() - t0) * 1e3:.0f}")
    say(str(result))
    crab_spec = datasets.models[SOURCE].spectral_model
    say(str(crab_spec))
    key("joint_success", result.success)
    key("joint_total_stat", f"{result.total_stat:.3f}")
    for name in ("amplitude", "alpha", "beta"):
        key(f"joint_{name}", f"{crab_spec.parameters[name].value:.6g}")
    if ref:
        joint = ref["joint_fit"]
        worst = max(
            abs(crab_spec.parameters[n].value / joint["crab_spectral_params"][n]["value"] - 1)
            for n in ("amplitude", "alpha", "beta")
        )
        key("joint_max_rel_diff_vs_gammapy", f"{worst:.1e}")
        key("joint_stat_diff_vs_gammapy", f"{result.total_stat - joint['fit']['total_stat']:.1e}")

    # ------------------------------------------------------------ flux points
    energy_edges = MapAxis.from_energy_bounds("10 GeV", "2 TeV", nbin=5).edges
    flux_points_fermi = FluxPointsEstimator(energy_edges=energy_edges, source=SOURCE).run(
        [datasets["Fermi-LAT"]]
    )
    energy_edges = MapAxis.from_bounds(1, 15, nbin=6, interp="log", unit="TeV").edges
    flux_points_hess = FluxPointsEstimator(
        energy_edges=energy_edges, source=SOURCE, selection_optional=["ul"]
    ).run([datasets["HESS"]])
    say(str(flux_points_fermi.to_table(sed_type="dnde", formatted=True)))
    say(str(flux_points_hess.to_table(sed_type="dnde", formatted=True)))
    key("fermi_fp_dnde_bin0", f"{flux_points_fermi.dnde.to_value('cm-2 s-1 TeV-1')[0]:.4e}")
    key("hess_fp_dnde_bin0", f"{flux_points_hess.dnde.to_value('cm-2 s-1 TeV-1')[0]:.4e}")
    key("hess_fp_n_ul", int(np.sum(flux_points_hess.is_ul)))
    if ref:
        for label, fp in (("fermi", flux_points_fermi), ("hess", flux_points_hess)):
            rows = ref[f"{label}_flux_points"]["dnde"]["rows"]
            theirs = np.array([r["dnde"] for r in rows], dtype=float)
            ours = fp.dnde.to_value("cm-2 s-1 TeV-1")
            key(f"{label}_fp_max_rel_diff_vs_gammapy", f"{np.max(np.abs(ours / theirs - 1)):.1e}")
    flux_points_fermi.write(out / "flux_points_fermi.fits", overwrite=True)
    flux_points_hess.write(out / "flux_points_hess.fits", overwrite=True)

    # --------------------------------------------------------------------- SED
    energy_bounds = [0.01, 120] * u.TeV
    fig, ax = plt.subplots(figsize=(8, 6))
    crab_spec.plot(ax=ax, energy_bounds=energy_bounds, energy_power=2, label="Model")
    crab_spec.plot_error(ax=ax, energy_bounds=energy_bounds, energy_power=2)
    flux_points_fermi.plot(ax=ax, energy_power=2, label="Fermi-LAT")
    flux_points_hess.plot(ax=ax, energy_power=2, label="HESS")
    flux_points_hawc.plot(ax=ax, energy_power=2, label="HAWC")
    ax.legend()
    path = out / "crab_sed.png"
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)
    key("n_figures", len(list(out.glob("*.png"))))
    key("total_time_s", f"{time.perf_counter() - start_all:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
