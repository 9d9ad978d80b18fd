"""Seed 004: every option of the FluxPointsEstimator, on the H.E.S.S. and Fermi-LAT Crab data.

The Crab model is the joint Fermi-LAT + H.E.S.S. + HAWC best fit (LogParabola, as seed 002,
fitted here first). Then, on the stacked H.E.S.S. runs 23523 + 23526 (6 log bins 1-15 TeV)
and on the Fermi-LAT 3FHL Crab MapDataset (5 log bins 10 GeV - 2 TeV):

- ``source`` by name and by index; ``energy_edges`` snapped to the dataset's bins, and None
  (every bin);
- ``selection_optional``: none, "errn-errp", "ul", "scan", "all" and an explicit list;
- ``n_sigma`` and ``n_sigma_ul``;
- ``norm``: a dict (bounds, scan values), a `~fluxfit.models.Parameter`, and the older
  ``norm_min``/``norm_max``/``norm_n_values``/``norm_values``;
- ``reoptimize=True`` (the Fermi-LAT background norm refitted in every bin) with a ``fit``
  of our choice and ``n_jobs``/``parallel_backend`` (bins in two processes);
- ``sum_over_energy_groups``;
- the results written (FITS, ECSV) and read back, the SED with upper limits and the
  likelihood profiles, compared with Gammapy 2.1 (``wf4_fpe_options.json``) when there.

Usage::

    python examples/seed_004_flux_points.py [--out seed004_output] [--quiet]
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
from fluxfit.models import Models, Parameter

REPO = Path(__file__).resolve().parents[1]
SOURCE = "Crab Nebula"
HESS_EDGES = MapAxis.from_bounds(1, 15, nbin=6, interp="log", unit="TeV").edges
FERMI_EDGES = MapAxis.from_energy_bounds("10 GeV", "2 TeV", nbin=5).edges


def data_dir() -> Path:
    env = os.environ.get("FLUXFIT_DATA")
    return Path(env) if env else REPO.parent / "shared" / "data"


def reference() -> dict | None:
    env = os.environ.get("FLUXFIT_DATA")
    shared = Path(env).parent if env else REPO.parent / "shared"
    path = shared / "reference" / "gammapy" / "wf4_fpe_options.json"
    return json.loads(path.read_text()) if path.is_file() else None


def joint_best_fit(data: Path):
    """Seed 002's joint fit: the Crab model, the Fermi-LAT and stacked H.E.S.S. datasets."""
    crab_dir = data / "gammapy-data/fermi-3fhl-crab"
    fermi = Datasets.read(
        crab_dir / "Fermi-LAT-3FHL_datasets.yaml", crab_dir / "Fermi-LAT-3FHL_models.yaml"
    )[0]
    crab = fermi.models[SOURCE]
    hess_dir = data / "gammapy-data/joint-crab/spectra/hess"
    runs = Datasets(
        [SpectrumDatasetOnOff.read(hess_dir / f"pha_obs{obs}.fits") for obs in (23523, 23526)]
    )
    hess = runs.stack_reduce(name="HESS")
    hess.models = Models([crab])
    hawc = FluxPointsDataset(
        Models([crab]),
        FluxPoints.read(data / "gammapy-data/hawc/crab_flux/HAWC19_flux_points.fits"),
        name="HAWC",
    )
    datasets = Datasets([fermi, hess, hawc])
    result = Fit().run(datasets)
    return datasets, result


def compare(fp, rows, names, label):
    """Largest |fluxfit - Gammapy| / max(|Gammapy|, 0.01) over the given quantities."""
    worst = 0.0
    for name in names:
        theirs = np.array([np.ravel(r[name])[0] for r in rows], dtype=float)
        ours = np.asarray(fp.get_quantity(name), dtype=float).ravel()
        ok = np.isfinite(theirs)
        diff = np.abs(ours[ok] - theirs[ok]) / np.maximum(np.abs(theirs[ok]), 0.01)
        worst = max(worst, float(np.max(diff)))
    print(f"KEY {label}_max_diff_vs_gammapy = {worst:.1e}")
    return worst


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default="seed004_output", help="output folder")
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
    datasets, result = joint_best_fit(data_dir())
    key("joint_fit_success", result.success)
    hess, fermi = datasets["HESS"], datasets["Fermi-LAT"]

    def fpe(**kwargs):
        kwargs.setdefault("energy_edges", HESS_EDGES)
        kwargs.setdefault("source", SOURCE)
        return FluxPointsEstimator(**kwargs)

    # ------------------------------------------------------ source, energies
    by_name = fpe().run([hess])
    by_index = fpe(source=0).run([hess])
    key("source_name_equals_index", bool(np.allclose(by_name.norm, by_index.norm)))
    edges = by_name.energy_axis.edges.to_value("TeV")
    key("hess_snapped_edges_TeV", " ".join(f"{e:.3f}" for e in edges))
    every_bin = fpe(energy_edges=None).run([hess])
    key("hess_n_bins_energy_edges_none", every_bin.energy_axis.nbin)

    # -------------------------------------------------------- selections
    for selection in (None, "errn-errp", "ul", "scan", "all"):
        fp = fpe(selection_optional=selection).run([hess])
        say(f"selection_optional={selection!r}: {fp.available_quantities}")
    t0 = time.perf_counter()
    explicit = fpe(selection_optional=["errn-errp", "ul", "scan"]).run([hess])
    key("hess_explicit_time_ms", f"{(time.perf_counter() - t0) * 1e3:.1f}")
    say(str(explicit.to_table(sed_type="dnde", formatted=True)))
    key("hess_norm_bin0", f"{explicit.norm[0]:.4f}")
    key("hess_ts_bin0", f"{explicit.ts[0]:.2f}")
    key("hess_n_ul", int(np.sum(explicit.is_ul)))
    if ref:
        compare(
            explicit,
            ref["explicit"]["flux_points"]["rows"],
            ("norm", "norm_err", "norm_errn", "norm_errp", "norm_ul", "ts"),
            "hess_explicit",
        )

    # ---------------------------------------------------- n_sigma, n_sigma_ul
    wide = fpe(selection_optional=["errn-errp", "ul"], n_sigma=2, n_sigma_ul=3).run([hess])
    key("n_sigma2_errp_ratio_bin0", f"{wide.norm_errp[0] / explicit.norm_errp[0]:.3f}")
    key("n_sigma_ul3_above_ul2", bool(np.all(wide.norm_ul > explicit.norm_ul)))

    # ------------------------------------------------------------------ norm
    as_dict = fpe(
        selection_optional=["ul", "scan"],
        norm={"min": 0, "max": 10, "scan_values": np.linspace(0, 3, 16)},
    ).run([hess])
    parameter = Parameter("norm", 1.0, min=0, max=10, interp="log")
    as_parameter = fpe(selection_optional=["ul"], norm=parameter).run([hess])
    legacy = fpe(selection_optional="scan", norm_min=0.5, norm_max=2, norm_n_values=7).run([hess])
    legacy_values = fpe(selection_optional="scan", norm_values=[0.5, 1, 1.5]).run([hess])
    key("norm_dict_scan_n", as_dict.norm_scan.shape[-1])
    key("norm_parameter_equals_dict", bool(np.allclose(as_parameter.norm, as_dict.norm)))
    key("norm_legacy_scan", " ".join(f"{v:.3f}" for v in np.ravel(legacy.norm_scan[0])[:3]))
    key("norm_values_scan_n", legacy_values.norm_scan.shape[-1])

    # ------------------------------------------------ sum_over_energy_groups
    summed = fpe(selection_optional=["ul"], sum_over_energy_groups=True).run([hess])
    key("sum_over_groups_norm_bin0", f"{summed.norm[0]:.4f}")

    # ---------------------------------------- Fermi-LAT, reoptimize, fit, jobs
    fermi_fixed = fpe(energy_edges=FERMI_EDGES, selection_optional=["errn-errp", "ul"]).run(fermi)
    key("fermi_norm_bin0", f"{fermi_fixed.norm[0]:.4f}")
    if ref:
        compare(
            fermi_fixed,
            ref["fermi_reoptimize_false"]["flux_points"]["rows"],
            ("norm", "norm_err", "norm_errn", "norm_errp", "norm_ul", "ts"),
            "fermi",
        )
    t0 = time.perf_counter()
    fermi_reopt = fpe(
        energy_edges=FERMI_EDGES,
        selection_optional=["ul"],
        reoptimize=True,
        fit=Fit(backend="minuit"),
        n_jobs=2,
        parallel_backend="multiprocessing",
    ).run(fermi)
    key("fermi_reoptimize_time_s", f"{time.perf_counter() - t0:.2f}")
    key("fermi_reoptimize_success", bool(fermi_reopt.success.all()))
    key("fermi_reoptimize_ts_below_fixed", bool(np.all(fermi_reopt.ts <= fermi_fixed.ts + 1e-6)))
    background = fermi.models["Fermi-LAT-bkg"].spectral_model.norm.value
    key("fermi_background_norm_untouched", f"{background:.4f}")

    # ------------------------------------------------------- I/O and plots
    for suffix in (".fits", ".ecsv"):
        path = out / f"flux_points_hess{suffix}"
        explicit.write(path, sed_type="likelihood", overwrite=True)
        back = FluxPoints.read(path)
        same = np.allclose(back.dnde.value, explicit.dnde.value, rtol=1e-10, equal_nan=True)
        key(f"roundtrip{suffix.replace('.', '_')}", same)
    fig, ax = plt.subplots(figsize=(8, 6))
    explicit.plot(ax=ax, sed_type="e2dnde", label="H.E.S.S.")
    explicit.plot_ts_profiles(ax=ax, sed_type="e2dnde")
    fermi_fixed.plot(ax=ax, sed_type="e2dnde", label="Fermi-LAT")
    fermi_reopt.plot(ax=ax, sed_type="e2dnde", label="Fermi-LAT, reoptimize", color="k")
    datasets.models[SOURCE].spectral_model.plot(
        ax=ax, energy_bounds=[0.01, 20] * u.TeV, sed_type="e2dnde", label="joint model"
    )
    ax.legend()
    fig.savefig(out / "flux_points_sed.png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    fig, ax = plt.subplots(figsize=(8, 6))
    as_dict.plot(ax=ax, sed_type="dnde")
    as_dict.plot_ts_profiles(ax=ax, sed_type="dnde")
    fig.savefig(out / "flux_points_norm_dict_scan.png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    key("n_figures", len(list(out.glob("*.png"))))
    key("total_time_s", f"{time.perf_counter() - start_all:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
