"""Benchmark of the flux points estimator, fluxfit against Gammapy in the same run.

Work measured: ``FluxPointsEstimator(...).run(datasets)`` on the H.E.S.S. Crab runs
23523 + 23526 (``joint-crab/spectra/hess``), stacked (``stack_reduce``) unless said
otherwise, with the joint-fit best-fit model of ``wf2_joint_bestfit_models.yaml``
(LogParabola), 6 log bins 1-15 TeV (as ``wf4_fpe_options.py`` and ``wf2_joint_crab.py``):

- ``selection "all"``: Gammapy 2.1's "all" also computes the sensitivity; the
  ``errn-errp, ul, scan`` row is the like-for-like comparison (fluxfit's "all");
- ``ul`` only (the wf2 flux points), no optional step;
- ``sum_over_energy_groups``; the two runs fitted jointly (not stacked);
- ``n_jobs=2, parallel_backend="multiprocessing"`` (Gammapy's process pool; fluxfit
  solves all groups in one vectorised call and ignores it on that path);
- ``reoptimize=True`` with a second source (power law, free amplitude >= 0): the
  general path (a minuit fit, MINOS errors and profile per group), 2 wide bins;
- the Fermi-LAT 3FHL Crab MapDataset (``fermi-3fhl-crab``, same model), 5 log bins
  10 GeV - 2 TeV: no optional step (the wf2 flux points), ``errn-errp, ul`` (wf4), and
  with ``reoptimize=True`` (the FoV background norm refitted in every bin).

Each row also gives the largest difference between the two packages' results
(norm, errors, UL, TS: relative; the scans: absolute in statistic).

Usage::

    /tmp/benchvenv/bin/python bench/bench_estimators.py            # updates bench/RESULTS.md
    python bench/bench_estimators.py --no-write --gammapy-repeats 1
"""

from __future__ import annotations

import argparse
import datetime
import logging
import os
import warnings

import numpy as np

import _common

HEADING = "## Flux points estimator (bench/bench_estimators.py)"
SOURCE = "Crab Nebula"
COMPARED = ("norm", "norm_err", "norm_errn", "norm_errp", "norm_ul", "ts")

CASES = {
    "H.E.S.S. 6 bins, selection all": dict(selection_optional="all"),
    "H.E.S.S. 6 bins, errn-errp + ul + scan": dict(selection_optional=["errn-errp", "ul", "scan"]),
    "H.E.S.S. 6 bins, ul (wf2 flux points)": dict(selection_optional=["ul"]),
    "H.E.S.S. 6 bins, no optional step": dict(),
    "H.E.S.S. 6 bins, all, sum_over_energy_groups": dict(
        selection_optional=["errn-errp", "ul", "scan"], sum_over_energy_groups=True
    ),
    "H.E.S.S. 6 bins, all, n_jobs=2 multiprocessing": dict(
        selection_optional=["errn-errp", "ul", "scan"], n_jobs=2, parallel_backend="multiprocessing"
    ),
    "H.E.S.S. two runs joint, 6 bins, all": dict(
        selection_optional=["errn-errp", "ul", "scan"], joint=True
    ),
    "H.E.S.S. + 2nd source, reoptimize, 2 bins, all": dict(
        selection_optional=["errn-errp", "ul", "scan"], reoptimize=True, two_sources=True
    ),
    "Fermi-LAT 3FHL map, 5 bins, no optional step (wf2)": dict(fermi=True),
    "Fermi-LAT 3FHL map, 5 bins, errn-errp + ul (wf4)": dict(
        selection_optional=["errn-errp", "ul"], fermi=True
    ),
    "Fermi-LAT 3FHL map, 5 bins, errn-errp + ul, reoptimize": dict(
        selection_optional=["errn-errp", "ul"], reoptimize=True, fermi=True
    ),
}


def _split(kwargs):
    """Estimator options and the data: "hess", "joint", "two" (2 sources) or "fermi"."""
    kwargs = dict(kwargs)
    data = "hess"
    for key, name in (("joint", "joint"), ("two_sources", "two"), ("fermi", "fermi")):
        if kwargs.pop(key, False):
            data = name
    return kwargs, data


# ------------------------------------------------------------------ fluxfit
def fluxfit_cases(data, reference, repeats):
    import astropy.units as u

    from fluxfit.datasets import Datasets, SpectrumDatasetOnOff
    from fluxfit.estimators import FluxPointsEstimator
    from fluxfit.maps import MapAxis
    from fluxfit.models import Models, PowerLawSpectralModel, SkyModel

    hess_dir = data / "gammapy-data/joint-crab/spectra/hess"
    fermi_file = data / "gammapy-data/fermi-3fhl-crab/Fermi-LAT-3FHL_data_Fermi-LAT.fits"
    models_file = reference / "gammapy/wf2_joint_bestfit_models.yaml"

    def datasets(kind):
        models = Models.read(models_file)
        if kind == "fermi":
            from fluxfit.datasets.map import MapDataset

            out = Datasets([MapDataset.read(fermi_file, name="Fermi-LAT")])
            out.models = models
            return out
        runs = Datasets(
            [SpectrumDatasetOnOff.read(hess_dir / f"pha_obs{n}.fits") for n in (23523, 23526)]
        )
        out = runs if kind == "joint" else Datasets([runs.stack_reduce(name="HESS")])
        if kind == "two":
            other = SkyModel(
                PowerLawSpectralModel(index=1.5, amplitude="1e-12 cm-2 s-1 TeV-1"), name="other"
            )
            other.spectral_model.index.frozen = True
            other.spectral_model.amplitude.min = 0.0
            models = Models([models[SOURCE], other])
        out.models = models
        return out

    edges = {
        "hess": MapAxis.from_bounds(1, 15, nbin=6, interp="log", unit="TeV").edges,
        "two": [0.7, 5, 100] * u.TeV,
        "fermi": MapAxis.from_energy_bounds("10 GeV", "2 TeV", nbin=5).edges,
    }
    times, results = {}, {}
    for label, kwargs in CASES.items():
        kwargs, kind = _split(kwargs)
        try:
            ds = datasets(kind)
        except ImportError as exc:  # the map datasets are not there yet
            print(f"skipped {label}: {exc}")
            continue
        estimator = FluxPointsEstimator(
            energy_edges=edges.get(kind, edges["hess"]), source=SOURCE, **kwargs
        )
        reps = repeats if not kwargs.get("reoptimize") else max(3, repeats // 5)
        times[label] = _common.timed(lambda est=estimator, ds=ds: est.run(ds), reps)
        results[label] = _summary(estimator.run(ds))
    return times, results


def _summary(fp):
    out = {}
    for key in COMPARED + ("stat_scan",):
        try:
            out[key] = np.asarray(fp.get_quantity(key), dtype=float)
        except Exception:
            continue
    return out


def _summary_gammapy(fp):
    out = {}
    for key in COMPARED + ("stat_scan",):
        try:
            values = np.asarray(getattr(fp, key).data, dtype=float)
        except Exception:
            continue
        # Gammapy's maps are (energy, lat, lon[, scan]); fluxfit's arrays (energy[, scan])
        out[key] = values.reshape(values.shape[0], -1) if key == "stat_scan" else values.ravel()
    return out


# ------------------------------------------------------------------ Gammapy
def gammapy_cases(data, reference, repeats):
    try:
        os.environ.setdefault("GAMMAPY_DATA", str(data / "gammapy-data"))
        import astropy.units as u
        import gammapy
        from gammapy.datasets import Datasets, SpectrumDatasetOnOff
        from gammapy.estimators import FluxPointsEstimator
        from gammapy.maps import MapAxis
        from gammapy.modeling.models import Models, PowerLawSpectralModel, SkyModel
    except ImportError:
        return None, None, None
    logging.getLogger("gammapy").setLevel(logging.ERROR)
    hess_dir = data / "gammapy-data/joint-crab/spectra/hess"
    fermi_yaml = data / "gammapy-data/fermi-3fhl-crab/Fermi-LAT-3FHL_datasets.yaml"
    models_file = reference / "gammapy/wf2_joint_bestfit_models.yaml"

    def datasets(kind):
        models = Models.read(models_file)
        if kind == "fermi":
            out = Datasets.read(fermi_yaml)
            out.models = models
            return out
        runs = Datasets(
            [SpectrumDatasetOnOff.read(hess_dir / f"pha_obs{n}.fits") for n in (23523, 23526)]
        )
        out = runs if kind == "joint" else Datasets([runs.stack_reduce(name="HESS")])
        if kind == "two":
            other = SkyModel(
                PowerLawSpectralModel(index=1.5, amplitude="1e-12 cm-2 s-1 TeV-1"), name="other"
            )
            other.spectral_model.index.frozen = True
            other.spectral_model.amplitude.min = 0.0
            models = Models([models[SOURCE], other])
        out.models = models
        return out

    edges = {
        "hess": MapAxis.from_bounds(1, 15, nbin=6, interp="log", unit="TeV").edges,
        "two": [0.7, 5, 100] * u.TeV,
        "fermi": MapAxis.from_energy_bounds("10 GeV", "2 TeV", nbin=5).edges,
    }
    times, results = {}, {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for label, kwargs in CASES.items():
            kwargs, kind = _split(kwargs)
            ds = datasets(kind)
            estimator = FluxPointsEstimator(
                energy_edges=edges.get(kind, edges["hess"]), source=SOURCE, **kwargs
            )
            fps = []

            def run(est=estimator, ds=ds, fps=fps):
                fps.append(est.run(ds))

            try:
                times[label] = _common.timed(run, repeats)
            except Exception as exc:
                times[label] = None
                results[label] = f"{type(exc).__name__}: {exc}"
                continue
            results[label] = _summary_gammapy(fps[-1])
    return times, results, f"Gammapy {gammapy.__version__}"


# ------------------------------------------------------------------- report
def _difference(ours, theirs):
    """Worst relative difference (and which quantity), and the worst scan difference."""
    if not isinstance(theirs, dict):
        return "-"
    worst, which = 0.0, ""
    for key in COMPARED:
        if key in ours and key in theirs:
            a, b = ours[key].ravel(), theirs[key].ravel()
            ok = np.isfinite(a) & np.isfinite(b)
            if not ok.any():
                continue
            scale = np.maximum(np.abs(b[ok]), 0.01)  # absolute 0.01 near zero
            value = float(np.max(np.abs(a[ok] - b[ok]) / scale))
            if value >= worst:
                worst, which = value, key
    text = f"{worst:.1e} ({which})"
    if "stat_scan" in ours and "stat_scan" in theirs:
        scan = float(np.nanmax(np.abs(ours["stat_scan"] - theirs["stat_scan"])))
        text += f", scan {scan:.1e}"
    return text


def table(ours, peer_times, peer_results, results, label):
    lines = [
        f"| work | fluxfit min / median (ms) | {label} min / median (ms) | ratio (min) "
        "| max difference |",
        "|---|---:|---:|---:|---|",
    ]
    for key, mine in ours.items():
        theirs = (peer_times or {}).get(key)
        if theirs is None:
            note = (peer_results or {}).get(key)
            extra = f"fails: {note[:60]}" if isinstance(note, str) else "-"
            lines.append(f"| {key} | {mine[0]:.3g} / {mine[1]:.3g} | - | - | {extra} |")
            continue
        ratio = theirs[0] / mine[0]
        diff = _difference(results[key], (peer_results or {}).get(key))
        lines.append(
            f"| {key} | {mine[0]:.3g} / {mine[1]:.3g} | {theirs[0]:.4g} / {theirs[1]:.4g} "
            f"| {ratio:.0f}x | {diff} |"
        )
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--gammapy-repeats", type=int, default=2)
    parser.add_argument("--no-write", action="store_true", help="do not update bench/RESULTS.md")
    args = parser.parse_args(argv)
    shared = _common.shared_dir()
    reference, data = shared / "reference", shared / "data"

    ours, results = fluxfit_cases(data, reference, args.repeats)
    for key, value in ours.items():
        print(f"fluxfit  {key}: {value[0]:.3g} ms")
    peer_times, peer_results, label = gammapy_cases(data, reference, args.gammapy_repeats)
    if peer_times:
        for key, value in peer_times.items():
            if value is not None and key in ours:
                print(f"{label}  {key}: {value[0]:.4g} ms  ratio {value[0] / ours[key][0]:.0f}x")

    info = _common.machine()
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    text = "\n".join(
        [
            HEADING,
            "",
            f"Run {stamp}; `{info['uname']}`; nproc={info['nproc']}; {info['cpu']}; "
            f"Python {info['python']}, numpy {info['numpy']}; fluxfit {args.repeats} repeats "
            f"(reoptimize: {max(3, args.repeats // 5)}), Gammapy {args.gammapy_repeats} "
            "(after one warm-up call each). H.E.S.S. runs 23523 + 23526, model "
            "`wf2_joint_bestfit_models.yaml`, 6 log bins 1-15 TeV; Fermi-LAT: the 3FHL Crab "
            "MapDataset (Cash, FoV background norm 1.305), 5 log bins 10 GeV - 2 TeV.",
            "",
            table(ours, peer_times, peer_results, results, label or "Gammapy"),
            "",
            "Max difference: largest |fluxfit - Gammapy| / max(|Gammapy|, 0.01) over norm, "
            "norm_err, norm_errn, norm_errp, norm_ul and ts of all bins, and the largest "
            "absolute difference of the likelihood scans. Gammapy 2.1's selection 'all' adds "
            "the sensitivity (not computed by fluxfit); the 'errn-errp + ul + scan' row is the "
            "like-for-like one. fluxfit's fast path evaluates the models once per dataset and "
            "solves the 1-D norm problems of all bins in one vectorised Newton iteration; the "
            "reoptimize rows are its general path (minuit per bin, MINOS errors). In the H.E.S.S. "
            "+ 2nd source row the large differences are Gammapy's: its norm_errn of the first "
            "bin is 0 and its refit "
            "at the first scan point of the second bin stops at 52.0 where the profile is 41.3; "
            "fluxfit's values agree with an independent scipy profile "
            "(tests/estimators/test_flux_points_estimator.py::"
            "test_reoptimize_refits_other_sources) and with Gammapy's other numbers to ~1e-4. "
            "The Fermi-LAT reoptimize row (FoV background norm refitted per bin) has no stored "
            "Gammapy reference (wf4 recorded reoptimize=False only): this same-run comparison "
            "is it.",
        ]
    )
    print(text)
    if not args.no_write:
        _common.write_section(HEADING, text)
        print(f"\nwritten to {_common.RESULTS}")


if __name__ == "__main__":
    main()
