"""Benchmark of 3-D map-dataset likelihoods and fits (seed 002), against Gammapy when importable.

Work measured (same files, same models YAML, same start values for both packages):

- reading the Fermi-LAT 3FHL Crab dataset through ``Fermi-LAT-3FHL_datasets.yaml`` and
  ``Fermi-LAT-3FHL_models.yaml`` (the first statistic evaluation included: it builds the
  PSF kernel and the per-model caches);
- one evaluation of the Fermi-LAT Cash statistic after changing the LogParabola
  amplitude (a new parameter value at every call), and fluxfit's batch of 1000 sets;
- the Fermi-LAT-only fit (LogParabola + background norm, migrad ``ncall=20000``, as
  ``fermi_only_fit_ncall20000`` in ``wf2_joint_crab.json``), reading included;
- the joint Fermi-LAT + H.E.S.S. (runs 23523 + 23526 stacked) + HAWC flux-points fit
  of seed 002 (``joint_fit``), reading and stacking included (needs fluxfit's
  ``FluxPointsDataset``);
- writing the three datasets with their models and reading them back.

Peak memory is the tracemalloc peak of one joint fit including reading (numpy buffers
included), for each package.

Usage::

    /tmp/benchvenv/bin/python bench/bench_map_fit.py            # prints, updates RESULTS.md
    /tmp/benchvenv/bin/python bench/bench_map_fit.py --no-write
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import tempfile
import tracemalloc
import warnings
from pathlib import Path

import numpy as np

import _common

HEADING = "## Map datasets: Fermi-LAT Crab and the joint fit (bench/bench_map_fit.py)"
CRAB = "fermi-3fhl-crab"


def _paths(data: Path) -> dict:
    gammapy_data = data / "gammapy-data"
    return {
        "datasets": gammapy_data / CRAB / "Fermi-LAT-3FHL_datasets.yaml",
        "models": gammapy_data / CRAB / "Fermi-LAT-3FHL_models.yaml",
        "hess": [gammapy_data / f"joint-crab/spectra/hess/pha_obs{n}.fits" for n in (23523, 23526)],
        "hawc": gammapy_data / "hawc/crab_flux/HAWC19_flux_points.fits",
    }


def _peak_mb(func) -> float:
    tracemalloc.start()
    try:
        func()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


# ------------------------------------------------------------------ fluxfit
def _fluxfit_flux_points_dataset():
    try:
        from fluxfit.datasets import FluxPointsDataset
    except ImportError:
        try:
            from fluxfit.datasets.flux_points_dataset import FluxPointsDataset
        except ImportError:
            return None
    return FluxPointsDataset


def fluxfit_work(data: Path, repeats: int) -> tuple[dict, dict]:
    from fluxfit.datasets import Datasets, SpectrumDatasetOnOff
    from fluxfit.datasets.io import read_datasets, write_datasets
    from fluxfit.fit import Fit, Objective
    from fluxfit.models import Models

    paths = _paths(data)

    def read_fermi():
        datasets = read_datasets(paths["datasets"], paths["models"])
        datasets.stat_sum()
        return datasets

    out, numbers = {}, {}
    out["Fermi-LAT read (YAML + FITS) + first statistic (ms)"] = _common.timed(read_fermi, repeats)
    datasets = read_fermi()
    amplitude = datasets.models["Crab Nebula"].spectral_model.amplitude
    start = amplitude.value
    n_single = 2000
    factors = 1 + 1e-3 * np.random.default_rng(3).standard_normal(n_single)

    def single():
        for factor in factors:
            amplitude.value = start * factor
            datasets.stat_sum()

    t = _common.timed(single, repeats)
    out["Fermi-LAT statistic, one evaluation (us)"] = tuple(1e3 * v / n_single for v in t)
    amplitude.value = start
    objective = Objective(datasets)
    x = objective.x_to_values(objective.start_x)
    values = x * (1 + 1e-3 * np.random.default_rng(4).standard_normal((1000, x.size)))
    t = _common.timed(lambda: objective.batch(values), repeats)
    out["Fermi-LAT statistic, batch of 1000, per point (us)"] = t

    def fermi_fit():
        ds = read_datasets(paths["datasets"], paths["models"])
        result = Fit(optimize_opts={"ncall": 20000}).run(ds)
        numbers["fermi"] = _crab_numbers(ds.models, result.total_stat)

    out["Fermi-LAT fit ncall=20000 incl. reading (ms)"] = _common.timed(
        fermi_fit, max(3, repeats // 2)
    )

    fp_cls = _fluxfit_flux_points_dataset()
    if fp_cls is None:
        return out, numbers
    from fluxfit.datasets.flux_points import FluxPoints

    def read_joint():
        fermi = read_datasets(paths["datasets"])[0]
        runs = Datasets([SpectrumDatasetOnOff.read(p) for p in paths["hess"]])
        hess = runs.stack_reduce(name="HESS")
        hawc = fp_cls(data=FluxPoints.read(paths["hawc"]), name="HAWC")
        datasets = Datasets([fermi, hess, hawc])
        datasets.models = Models.read(paths["models"])
        return datasets

    def joint_fit():
        ds = read_joint()
        result = Fit().run(ds)
        numbers["joint"] = _crab_numbers(ds.models, result.total_stat)
        return ds

    out["joint Fermi-LAT + H.E.S.S. + HAWC fit incl. reading (ms)"] = _common.timed(
        joint_fit, max(3, repeats // 2)
    )
    numbers["joint_peak_mb"] = _peak_mb(joint_fit)
    joint = read_joint()

    def roundtrip():
        folder = Path(tempfile.mkdtemp())
        try:
            written = write_datasets(joint, folder, prefix="crab", overwrite=True)
            read_datasets(written["datasets"], written["models"]).stat_sum()
        finally:
            shutil.rmtree(folder)

    out["write + read the three datasets (ms)"] = _common.timed(roundtrip, repeats)
    return out, numbers


def _crab_numbers(models, total_stat) -> dict:
    spectral = models["Crab Nebula"].spectral_model
    out = {name: spectral.parameters[name].value for name in ("amplitude", "alpha", "beta")}
    out["total_stat"] = float(total_stat)
    return out


# ------------------------------------------------------------------- Gammapy
def gammapy_work(data: Path, repeats: int):
    try:
        import gammapy
        from gammapy.datasets import Datasets, FluxPointsDataset, SpectrumDatasetOnOff
        from gammapy.estimators import FluxPoints
        from gammapy.modeling import Fit
        from gammapy.modeling.models import Models, create_crab_spectral_model
    except ImportError:
        return None, None, None
    logging.getLogger("gammapy").setLevel(logging.ERROR)
    os.environ["GAMMAPY_DATA"] = str(data / "gammapy-data")
    paths = _paths(data)
    out, numbers = {}, {}

    def read_fermi():
        datasets = Datasets.read(paths["datasets"], filename_models=paths["models"])
        datasets.stat_sum()
        return datasets

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out["Fermi-LAT read (YAML + FITS) + first statistic (ms)"] = _common.timed(
            read_fermi, repeats
        )
        datasets = read_fermi()
        amplitude = datasets.models["Crab Nebula"].spectral_model.amplitude
        start = amplitude.value
        n_single = 200
        factors = 1 + 1e-3 * np.random.default_rng(3).standard_normal(n_single)

        def single():
            for factor in factors:
                amplitude.value = start * factor
                datasets.stat_sum()

        t = _common.timed(single, max(3, repeats // 2))
        out["Fermi-LAT statistic, one evaluation (us)"] = tuple(1e3 * v / n_single for v in t)
        amplitude.value = start

        def fermi_fit():
            ds = Datasets.read(paths["datasets"], filename_models=paths["models"])
            result = Fit(optimize_opts={"migrad_opts": {"ncall": 20000}}).run(ds)
            numbers["fermi"] = _crab_numbers(ds.models, result.total_stat)

        out["Fermi-LAT fit ncall=20000 incl. reading (ms)"] = _common.timed(fermi_fit, 2)

        def read_joint():
            fermi = Datasets.read(paths["datasets"])[0]
            runs = Datasets([SpectrumDatasetOnOff.read(p) for p in paths["hess"]])
            hess = runs.stack_reduce(name="HESS")
            fp = FluxPoints.read(paths["hawc"], reference_model=create_crab_spectral_model("meyer"))
            hawc = FluxPointsDataset(data=fp, name="HAWC")
            ds = Datasets([fermi, hess, hawc])
            ds.models = Models.read(paths["models"])
            return ds

        def joint_fit():
            ds = read_joint()
            result = Fit().run(ds)
            numbers["joint"] = _crab_numbers(ds.models, result.total_stat)

        out["joint Fermi-LAT + H.E.S.S. + HAWC fit incl. reading (ms)"] = _common.timed(
            joint_fit, 2
        )
        numbers["joint_peak_mb"] = _peak_mb(joint_fit)
        joint = read_joint()

        def roundtrip():
            folder = Path(tempfile.mkdtemp())
            try:
                joint.write(
                    folder / "crab_datasets.yaml",
                    filename_models=folder / "crab_models.yaml",
                    overwrite=True,
                )
                Datasets.read(
                    folder / "crab_datasets.yaml", filename_models=folder / "crab_models.yaml"
                ).stat_sum()
            finally:
                shutil.rmtree(folder)

        out["write + read the three datasets (ms)"] = _common.timed(roundtrip, repeats)
    return out, numbers, f"Gammapy {gammapy.__version__}"


# ------------------------------------------------------------------- report
def table(rows, peers, label):
    lines = [
        "| work | fluxfit min / median | peer | peer min / median | ratio (peer / fluxfit, min) |",
        "|---|---:|---|---:|---:|",
    ]
    for key, ours in rows.items():
        theirs = peers.get(key) if peers else None
        if key.startswith("Fermi-LAT statistic, batch"):
            theirs = peers.get("Fermi-LAT statistic, one evaluation (us)") if peers else None
            peer_label = f"{label} (single)" if theirs else "-"
        else:
            peer_label = label if theirs else "-"
        if theirs is None:
            lines.append(f"| {key} | {ours[0]:.3g} / {ours[1]:.3g} | {peer_label} | - | - |")
        else:
            lines.append(
                f"| {key} | {ours[0]:.3g} / {ours[1]:.3g} | {peer_label} | "
                f"{theirs[0]:.3g} / {theirs[1]:.3g} | {theirs[0] / ours[0]:.1f}x |"
            )
    return "\n".join(lines)


def compare(ours: dict, theirs: dict | None, reference: dict) -> list[str]:
    lines = []
    for key, ref_key in (("fermi", "fermi_only_fit_ncall20000"), ("joint", "joint_fit")):
        if key not in ours:
            continue
        ref = reference[ref_key]
        parts = []
        for name in ("amplitude", "alpha", "beta"):
            rel = ours[key][name] / ref["crab_spectral_params"][name]["value"] - 1
            parts.append(f"{name} {ours[key][name]:.6g} ({rel:+.1e})")
        dstat = ours[key]["total_stat"] - ref["fit"]["total_stat"]
        line = (
            f"- {key} fit, fluxfit vs `{ref_key}` in wf2_joint_crab.json (relative): "
            + ", ".join(parts)
            + f"; total stat {ours[key]['total_stat']:.4f} ({dstat:+.1e})"
        )
        if theirs and key in theirs:
            line += f"; Gammapy in this run: total stat {theirs[key]['total_stat']:.4f}"
        lines.append(line)
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--no-write", action="store_true", help="do not update bench/RESULTS.md")
    args = parser.parse_args(argv)
    shared = _common.shared_dir()
    data, reference = shared / "data", shared / "reference"
    ref = json.loads((reference / "gammapy/wf2_joint_crab.json").read_text())

    rows, numbers = fluxfit_work(data, args.repeats)
    peers, peer_numbers, label = gammapy_work(data, args.repeats)

    notes = compare(numbers, peer_numbers, ref)
    if "joint_peak_mb" in numbers:
        peak = f"- Peak memory (tracemalloc) of one joint fit incl. reading: fluxfit {numbers['joint_peak_mb']:.1f} MB"
        if peer_numbers and "joint_peak_mb" in peer_numbers:
            peak += f", {label} {peer_numbers['joint_peak_mb']:.1f} MB"
        notes.append(peak)
    else:
        notes.append("- Joint fit skipped: fluxfit's FluxPointsDataset is not importable.")
    text = "\n".join(
        [
            HEADING,
            "",
            f"{_common.run_stamp()} {args.repeats} repeats "
            "(fits: fewer). Times in the unit of each row.",
            "",
            "Fermi-LAT 3FHL Crab map dataset (5 x 40 x 50 bins, 8280 fitted), LogParabola "
            "point source (reference 50.5 MeV) + background norm, from the YAML files. "
            "fluxfit's batch row is the per-point cost of `Objective.batch` over 1000 "
            "parameter sets; Gammapy has no batch mode (its single-call cost is shown).",
            "",
            table(rows, peers, label or "-"),
            "",
            *notes,
            "",
            "Peers not installed show '-'.",
        ]
    )
    print(text)
    if not args.no_write:
        _common.write_section(HEADING, text)


if __name__ == "__main__":
    main()
