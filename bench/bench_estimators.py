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

Flux profiles (``FluxProfileEstimator``, seed 001) on the Fermi-LAT 3FHL Galactic-centre
MapDataset, power law of index 2.3:

- 49 rectangles l = 9..351 deg, 10-2000 GeV, ``ul`` (the Gammapy 2.1 tutorial; issue 6's
  goal: >= 30x faster than Gammapy's ~23 s);
- the seed's 51 rectangles l = 10..350 deg on the dataset without ``mask_safe``, and with it
  (two regions straddle the unsafe border: Gammapy 2.1 raises, fluxfit runs);
- 10 annuli around the Galactic centre (radius 1.5 deg), two energy bins, ``ul`` + ``scan``
  at norm values -1..5.

Light curves (``LightCurveEstimator``, seed 003): the H.E.S.S. PKS 2155-304 flare, 24
intervals of 15 minutes, the 34 ON/OFF pieces reduced by each package with its own makers
(reduction not timed here: see bench_dl3.py), power law index 3 (2e-11 cm-2 s-1 TeV-1):
0.4-20 TeV with ``errn-errp, ul, scan``, and the tutorial's bands 0.7-1-20 TeV with ``ul``.

Each row also gives the largest difference between the two packages' results
(norm, errors, UL, TS: relative; the scans: absolute in statistic).

Usage::

    /tmp/benchvenv/bin/python bench/bench_estimators.py            # updates bench/RESULTS.md
    python bench/bench_estimators.py --no-write --gammapy-repeats 1
    python bench/bench_estimators.py --only profile lightcurve     # (does not write)
"""

from __future__ import annotations

import argparse
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
    """Compared quantities as flat arrays (bins of the extra axis, then energy), scans as
    (n_bins, n_scan)."""
    out = {}
    for key in COMPARED + ("stat_scan",):
        try:
            values = np.asarray(fp.get_quantity(key), dtype=float)
        except Exception:
            continue
        out[key] = values.reshape(-1, values.shape[-1]) if key == "stat_scan" else values.ravel()
    return out


def _summary_gammapy(fp):
    out = {}
    for key in COMPARED + ("stat_scan",):
        try:
            m = getattr(fp, key)
            values = np.asarray(m.data, dtype=float)
        except Exception:
            continue
        if key == "stat_scan":
            # data axes: the non-spatial axes reversed, then lat, lon; the scan ("norm") last
            names = m.geom.axes.names
            index = len(names) - 1 - names.index("norm")
            values = np.moveaxis(values, index, -1)
            out[key] = values.reshape(-1, values.shape[-1])
        else:
            out[key] = values.ravel()
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


# ------------------------------------------------------------------ profiles
PROFILE_CASES = {
    "GC profile, 49 rectangles, ul (Gammapy 2.1 tutorial)": dict(lon=(9, 351, 49)),
    "GC profile, 51 rectangles, ul, mask_safe removed": dict(lon=(10, 350, 51), nomask=True),
    "GC profile, 51 rectangles, ul, non-uniform mask_safe (seed)": dict(lon=(10, 350, 51)),
    "GC profile, 10 annuli, 2 energy bins, ul + scan": dict(annuli=True),
}


def _profile_setup(kind, regions_module, sky_coord, u):
    """Regions, energy edges, selection and scan values of a profile case."""
    if kind.get("annuli"):
        regions = regions_module.make_concentric_annulus_sky_regions(
            center=sky_coord("0d", "0d", frame="galactic"), radius_max="1.5 deg", nbin=11
        )
        return regions, [10, 100, 2000] * u.GeV, ["ul", "scan"], np.linspace(-1, 5, 11)
    return None, [10, 2000] * u.GeV, ["ul"], None


def fluxfit_profile_cases(data, repeats):
    import astropy.units as u
    from astropy.coordinates import SkyCoord

    import fluxfit.maps as maps
    from fluxfit.datasets.map import MapDataset
    from fluxfit.estimators import FluxProfileEstimator
    from fluxfit.models import PowerLawSpectralModel

    filename = data / "gammapy-data/fermi-3fhl-gc/fermi-3fhl-gc.fits.gz"
    dataset = MapDataset.read(filename, name="fermi-dataset")
    nomask = dataset.copy(name="fermi-dataset")
    nomask.mask_safe = None
    times, results = {}, {}
    for label, kind in PROFILE_CASES.items():
        regions, edges, selection, scan = _profile_setup(kind, maps, SkyCoord, u)
        if regions is None:
            start, stop, nbin = kind["lon"]
            regions = maps.make_orthogonal_rectangle_sky_regions(
                start_pos=SkyCoord(f"{start}d", "0d", frame="galactic"),
                end_pos=SkyCoord(f"{stop}d", "0d", frame="galactic"),
                wcs=dataset.counts.geom.wcs,
                height="3 deg",
                nbin=nbin,
            )
        estimator = FluxProfileEstimator(
            regions=regions,
            spectral_model=PowerLawSpectralModel(index=2.3),
            energy_edges=edges,
            selection_optional=selection,
            norm_values=scan,
        )
        ds = nomask if kind.get("nomask") else dataset
        times[label] = _common.timed(lambda est=estimator, ds=ds: est.run(ds), repeats)
        results[label] = _summary(estimator.run(ds))
    return times, results


def gammapy_profile_cases(data, repeats):
    try:
        os.environ.setdefault("GAMMAPY_DATA", str(data / "gammapy-data"))
        import astropy.units as u
        import gammapy
        import gammapy.utils.regions as regions_module
        from astropy.coordinates import SkyCoord
        from gammapy.datasets import MapDataset
        from gammapy.estimators import FluxProfileEstimator
        from gammapy.modeling.models import PowerLawSpectralModel
    except ImportError:
        return None, None, None
    logging.getLogger("gammapy").setLevel(logging.ERROR)
    filename = data / "gammapy-data/fermi-3fhl-gc/fermi-3fhl-gc.fits.gz"
    dataset = MapDataset.read(filename, name="fermi-dataset")
    nomask = dataset.copy(name="fermi-dataset")
    nomask.mask_safe = None
    times, results = {}, {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for label, kind in PROFILE_CASES.items():
            regions, edges, selection, scan = _profile_setup(kind, regions_module, SkyCoord, u)
            if regions is None:
                start, stop, nbin = kind["lon"]
                regions = regions_module.make_orthogonal_rectangle_sky_regions(
                    start_pos=SkyCoord(f"{start}d", "0d", frame="galactic"),
                    end_pos=SkyCoord(f"{stop}d", "0d", frame="galactic"),
                    wcs=dataset.counts.geom.wcs,
                    height="3 deg",
                    nbin=nbin,
                )
            estimator = FluxProfileEstimator(
                regions=regions,
                spectral_model=PowerLawSpectralModel(index=2.3),
                energy_edges=edges,
                selection_optional=selection,
            )
            if scan is not None:
                estimator.norm.scan_values = scan
            ds = nomask if kind.get("nomask") else dataset
            profiles = []

            def run(est=estimator, ds=ds, profiles=profiles):
                profiles.append(est.run(ds))

            try:
                times[label] = _common.timed(run, repeats)
            except Exception as exc:
                times[label] = None
                results[label] = f"{type(exc).__name__}: {' '.join(str(exc).split())}"
                continue
            results[label] = _summary_gammapy(profiles[-1])
    return times, results, f"Gammapy {gammapy.__version__}"


# --------------------------------------------------------------- light curves
LIGHTCURVE_CASES = {
    "PKS 2155-304, 24 x 15 min, 0.4-20 TeV, errn-errp + ul + scan": dict(
        edges=(0.4, 20), selection_optional=["errn-errp", "ul", "scan"]
    ),
    "PKS 2155-304, 24 x 15 min, 0.7-1-20 TeV, ul": dict(
        edges=(0.7, 1, 20), selection_optional=["ul"]
    ),
}
PKS2155_DEG = (329.71693826, -30.2255890)


def _intervals():
    import itertools

    import astropy.units as u
    from astropy.time import Time

    times = Time("2006-07-29T20:30") + np.arange(25) * 15 * u.min
    return [Time([a, b]) for a, b in itertools.pairwise(times)]


def fluxfit_lightcurve_cases(data, repeats):
    import astropy.units as u
    from astropy.coordinates import Angle, SkyCoord
    from regions import CircleSkyRegion

    from fluxfit.data import DataStore
    from fluxfit.estimators import LightCurveEstimator
    from fluxfit.makers import (
        ReflectedRegionsBackgroundMaker,
        SafeMaskMaker,
        SpectrumDatasetMaker,
        SpectrumReduction,
    )
    from fluxfit.maps import MapAxis, RegionGeom
    from fluxfit.models import Models, PowerLawSpectralModel, SkyModel

    target = SkyCoord(*PKS2155_DEG, unit="deg", frame="icrs")
    intervals = _intervals()
    store = DataStore.from_dir(data / "gammapy-data/hess-dl3-dr1")
    selection = dict(
        type="sky_circle", frame="icrs", lon=target.ra, lat=target.dec, radius=2 * u.deg
    )
    obs_ids = store.obs_table.select_observations(selection)["OBS_ID"]
    pieces = store.get_observations(obs_ids).select_time(intervals)
    energy_axis = MapAxis.from_energy_bounds("0.4 TeV", "20 TeV", nbin=10)
    energy_axis_true = MapAxis.from_energy_bounds("0.1 TeV", "40 TeV", nbin=20, name="energy_true")
    geom = RegionGeom.create(
        region=CircleSkyRegion(center=target, radius=Angle("0.11 deg")), axes=[energy_axis]
    )
    datasets = SpectrumReduction(
        geom,
        energy_axis_true,
        dataset_maker=SpectrumDatasetMaker(
            containment_correction=True, selection=["counts", "exposure", "edisp"]
        ),
        background_maker=ReflectedRegionsBackgroundMaker(),
        safe_mask_maker=SafeMaskMaker(methods=["aeff-max"], aeff_percent=10),
    ).run(pieces)
    datasets.models = Models(
        [
            SkyModel(
                PowerLawSpectralModel(index=3.0, amplitude="2e-11 cm-2 s-1 TeV-1"), name="pks2155"
            )
        ]
    )
    times, results = {}, {}
    for label, kind in LIGHTCURVE_CASES.items():
        estimator = LightCurveEstimator(
            energy_edges=kind["edges"] * u.TeV,
            time_intervals=intervals,
            source="pks2155",
            selection_optional=kind["selection_optional"],
        )
        times[label] = _common.timed(lambda est=estimator: est.run(datasets), repeats)
        results[label] = _summary(estimator.run(datasets))
    return times, results


def gammapy_lightcurve_cases(data, repeats):
    try:
        os.environ.setdefault("GAMMAPY_DATA", str(data / "gammapy-data"))
        import astropy.units as u
        import gammapy
        from astropy.coordinates import Angle, SkyCoord
        from gammapy.data import DataStore
        from gammapy.datasets import Datasets, SpectrumDataset
        from gammapy.estimators import LightCurveEstimator
        from gammapy.makers import (
            ReflectedRegionsBackgroundMaker,
            SafeMaskMaker,
            SpectrumDatasetMaker,
        )
        from gammapy.maps import MapAxis, RegionGeom
        from gammapy.modeling.models import PowerLawSpectralModel, SkyModel
        from regions import CircleSkyRegion
    except ImportError:
        return None, None, None
    logging.getLogger("gammapy").setLevel(logging.ERROR)
    target = SkyCoord(*PKS2155_DEG, unit="deg", frame="icrs")
    intervals = _intervals()
    times, results = {}, {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        store = DataStore.from_dir(data / "gammapy-data/hess-dl3-dr1")
        selection = dict(
            type="sky_circle", frame="icrs", lon=target.ra, lat=target.dec, radius=2 * u.deg
        )
        obs_ids = store.obs_table.select_observations(selection)["OBS_ID"]
        pieces = store.get_observations(obs_ids).select_time(intervals)
        energy_axis = MapAxis.from_energy_bounds("0.4 TeV", "20 TeV", nbin=10)
        energy_axis_true = MapAxis.from_energy_bounds(
            "0.1 TeV", "40 TeV", nbin=20, name="energy_true"
        )
        geom = RegionGeom.create(
            region=CircleSkyRegion(center=target, radius=Angle("0.11 deg")), axes=[energy_axis]
        )
        maker = SpectrumDatasetMaker(
            containment_correction=True, selection=["counts", "exposure", "edisp"]
        )
        bkg_maker = ReflectedRegionsBackgroundMaker()
        safe = SafeMaskMaker(methods=["aeff-max"], aeff_percent=10)
        empty = SpectrumDataset.create(geom=geom, energy_axis_true=energy_axis_true)
        datasets = Datasets()
        for i, obs in enumerate(pieces):
            dataset = maker.run(empty.copy(name=f"ds{i:02d}_obs{obs.obs_id}"), obs)
            dataset = bkg_maker.run(dataset, obs)
            datasets.append(safe.run(dataset, obs))
        spectral = PowerLawSpectralModel(index=3.0, amplitude="2e-11 cm-2 s-1 TeV-1")
        datasets.models = SkyModel(spectral_model=spectral, name="pks2155")
        for label, kind in LIGHTCURVE_CASES.items():
            estimator = LightCurveEstimator(
                energy_edges=kind["edges"] * u.TeV,
                time_intervals=intervals,
                source="pks2155",
                selection_optional=kind["selection_optional"],
                n_jobs=1,
            )
            curves = []

            def run(est=estimator, curves=curves):
                curves.append(est.run(datasets))

            try:
                times[label] = _common.timed(run, repeats)
            except Exception as exc:
                times[label] = None
                results[label] = f"{type(exc).__name__}: {' '.join(str(exc).split())}"
                continue
            results[label] = _summary_gammapy(curves[-1])
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


def _run_group(name, ours_func, peer_func, data, reference, args):
    """fluxfit's and Gammapy's timings and results of one group of cases."""
    if name == "points":
        ours, results = ours_func(data, reference, args.repeats)
        peer = peer_func(data, reference, args.gammapy_repeats)
    else:
        ours, results = ours_func(data, args.repeats)
        peer = peer_func(data, args.gammapy_repeats)
    peer_times, peer_results, label = peer
    for key, value in ours.items():
        print(f"fluxfit  {key}: {value[0]:.3g} ms")
    if peer_times:
        for key, value in peer_times.items():
            if value is not None and key in ours:
                print(f"{label}  {key}: {value[0]:.4g} ms  ratio {value[0] / ours[key][0]:.0f}x")
            elif key in ours:
                print(f"{label}  {key}: fails: {peer_results.get(key)}")
    return table(ours, peer_times, peer_results, results, label or "Gammapy")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--gammapy-repeats", type=int, default=2)
    parser.add_argument("--no-write", action="store_true", help="do not update bench/RESULTS.md")
    parser.add_argument(
        "--only",
        nargs="+",
        choices=("points", "profile", "lightcurve"),
        help="run these groups only (RESULTS.md is then not updated)",
    )
    args = parser.parse_args(argv)
    shared = _common.shared_dir()
    reference, data = shared / "reference", shared / "data"
    groups = {
        "points": (fluxfit_cases, gammapy_cases),
        "profile": (fluxfit_profile_cases, gammapy_profile_cases),
        "lightcurve": (fluxfit_lightcurve_cases, gammapy_lightcurve_cases),
    }
    selected = args.only or list(groups)
    tables = {}
    for name in selected:
        tables[name] = _run_group(name, *groups[name], data, reference, args)

    text = "\n".join(
        [
            HEADING,
            "",
            f"{_common.run_stamp()} fluxfit {args.repeats} repeats "
            f"(reoptimize: {max(3, args.repeats // 5)}), Gammapy {args.gammapy_repeats} "
            "(after one warm-up call each). H.E.S.S. runs 23523 + 23526, model "
            "`wf2_joint_bestfit_models.yaml`, 6 log bins 1-15 TeV; Fermi-LAT: the 3FHL Crab "
            "MapDataset (Cash, FoV background norm 1.305), 5 log bins 10 GeV - 2 TeV.",
            "",
            tables.get("points", "(not run)"),
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
            "",
            "### Flux profiles (FluxProfileEstimator, seed 001)",
            "",
            "Fermi-LAT 3FHL Galactic-centre MapDataset (400 x 200 pixels, 11 bins 10-500 GeV), "
            "power law of index 2.3. fluxfit reduces all regions with one sparse "
            "(n_regions, n_pixels) product per map and solves every (region, energy group) in "
            "one vectorised call; Gammapy 2.1 builds a spectrum dataset and runs the flux "
            "points estimator per region. Issue 6's goal: >= 30x for the 49 rectangles.",
            "",
            tables.get("profile", "(not run)"),
            "",
            "The seed's own 51-rectangle geometry with the dataset's safe mask fails in "
            "Gammapy 2.1 (two regions straddle the 1-deg unsafe border); fluxfit uses their "
            "safe pixels (tests/estimators/test_profile.py::test_non_uniform_safe_mask). That "
            "row is slower (non-uniform masks: the exposure fraction per region and bin).",
            "",
            "### Light curves (LightCurveEstimator, seed 003)",
            "",
            "H.E.S.S. PKS 2155-304 flare, 24 intervals of 15 min, the 34 ON/OFF pieces reduced by "
            "each package with its own makers (not timed here), power law index 3 "
            "(2e-11 cm-2 s-1 TeV-1 at 1 TeV), datasets selected per interval as "
            "`Datasets.select_time`. fluxfit computes each dataset's arrays once and solves all "
            "(interval, energy group) norms in one call; Gammapy runs the flux points estimator "
            "per interval.",
            "",
            tables.get("lightcurve", "(not run)"),
        ]
    )
    print(text)
    if args.only and set(args.only) != set(groups):
        print("\n(--only: bench/RESULTS.md not updated)")
    elif not args.no_write:
        _common.write_section(HEADING, text)
        print(f"\nwritten to {_common.RESULTS}")


if __name__ == "__main__":
    main()
