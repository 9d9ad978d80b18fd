"""Benchmark of spectral likelihoods and fits, against 3ML and Gammapy when importable.

Work measured (same files, same models, same start values for every package):

- seed 000 (3ML's "multiple sources" tutorial) on 3ML's own simulated spectra
  ``../shared/reference/threeml/task1_s{1,2}.pha`` (+ background, response): one
  evaluation of the joint log-likelihood after setting the 5 free parameters
  (3ML: ``get_log_like`` of both plugins, memoization off, as in
  ``profile_overhead.json``), the same for a batch of 1000 parameter sets
  (fluxfit only: 3ML has no batch mode; its per-point cost is the single one),
  and the maximum-likelihood fit from the tutorial's start values (minuit);
- the H.E.S.S. runs 23523 + 23526 stacked, jointly with the HAWC flux points, one
  LogParabola with reference 1 TeV (``wf6_hess_hawc_joint.json``): reading + stacking
  and the fit (Gammapy's ``Fit().run`` vs fluxfit's).

Usage::

    python bench/bench_spectrum_fit.py             # prints, and updates bench/RESULTS.md
    python bench/bench_spectrum_fit.py --no-write

Install the peers in a separate venv beside fluxfit (see bench/README.md).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import logging
import os
import warnings

import numpy as np

import _common

HEADING = "## Spectral likelihood and fits (bench/bench_spectrum_fit.py)"
SEED000_START = {
    "src1.spectral.K": 1e-4,
    "src2.spectral.K_1": 1e-4,
    "src2.spectral.kT_1": 30.0,
    "src2.spectral.F_2": 1.0,
    "src2.spectral.index_2": -2.0,
}
SEED000_TRUTH = {
    "src1.spectral.K": 5e-8,
    "src2.spectral.K_1": 1e-7,
    "src2.spectral.kT_1": 500.0,
    "src2.spectral.F_2": 200.0,
    "src2.spectral.index_2": -1.5,
}


# ------------------------------------------------------------------ fluxfit
def fluxfit_seed000(reference, repeats):
    from fluxfit._jit import jit_enabled
    from fluxfit.cli.demo import build_seed000_models
    from fluxfit.datasets import Datasets, SpectrumDatasetOnOff
    from fluxfit.fit import Fit, Objective

    def load():
        datasets = Datasets(
            [
                SpectrumDatasetOnOff.read(
                    reference / f"threeml/task1_{n}.pha", spectrum_number=1, name=n
                )
                for n in ("s1", "s2")
            ]
        )
        models = build_seed000_models()
        datasets.models = models
        return datasets, models

    def objective_at_truth():
        datasets, models = load()
        for label, value in SEED000_TRUTH.items():
            models.parameters[label].value = value
        return Objective(datasets)

    objective = objective_at_truth()
    x = objective.start_x
    rng = np.random.default_rng(1)
    values = objective.x_to_values(x) * rng.uniform(0.9, 1.1, size=(1000, x.size))

    n_single = 2000
    points = objective.x_to_values(x) * (1 + 0.05 * rng.standard_normal((n_single, x.size)))

    def single(objective):
        for row in points:
            objective.stat_values(row)

    out = {}
    kernels = jit_enabled()
    label = "eval single (us)" if kernels else "eval single, numpy (us)"
    t_single = _common.timed(lambda: single(objective), repeats)
    out[label] = tuple(1e3 * t / n_single for t in t_single)
    if kernels:
        # the same work without the compiled kernels (the numpy path), in the same run
        os.environ["FLUXFIT_NUMBA"] = "0"
        try:
            plain = objective_at_truth()
            t_plain = _common.timed(lambda: single(plain), repeats)
        finally:
            del os.environ["FLUXFIT_NUMBA"]
        out["eval single, numpy (us)"] = tuple(1e3 * t / n_single for t in t_plain)
    t_batch = _common.timed(lambda: objective.batch(values), repeats)
    out["eval batch of 1000, per point (us)"] = tuple(t for t in t_batch)  # ms/1000 = us

    def fit():
        ds, mods = load()
        for label, value in SEED000_START.items():
            mods.parameters[label].value = value
        result = Fit().run(ds)
        assert result.success, result.message

    out["MLE fit from start values (ms)"] = _common.timed(fit, max(3, repeats // 3))
    return out


def fluxfit_hess_hawc(data, repeats):
    """Read + stack the two H.E.S.S. runs, then fit them jointly with HAWC."""
    try:
        from fluxfit.datasets import FluxPoints, FluxPointsDataset
    except ImportError:
        return {}
    import astropy.units as u

    from fluxfit.datasets import Datasets, SpectrumDatasetOnOff
    from fluxfit.fit import Fit
    from fluxfit.models import LogParabolaSpectralModel, Models, SkyModel

    hess_dir = data / "gammapy-data/joint-crab/spectra/hess"
    hawc_file = data / "gammapy-data/hawc/crab_flux/HAWC19_flux_points.fits"

    def read():
        runs = Datasets(
            [SpectrumDatasetOnOff.read(hess_dir / f"pha_obs{n}.fits") for n in (23523, 23526)]
        )
        hess = runs.stack_reduce(name="HESS")
        hawc = FluxPointsDataset(data=FluxPoints.read(hawc_file), name="HAWC")
        return Datasets([hess, hawc])

    def fit():
        datasets = read()
        model = SkyModel(
            LogParabolaSpectralModel(
                amplitude="1e-12 cm-2 s-1 TeV-1", reference=1 * u.TeV, alpha=2.0, beta=0.1
            ),
            name="Crab Nebula",
        )
        datasets.models = Models([model])
        Fit().run(datasets)

    return {
        "H.E.S.S. read + stack (ms)": _common.timed(lambda: read()[0], repeats),
        "H.E.S.S. + HAWC joint fit incl. reading (ms)": _common.timed(fit, max(3, repeats // 3)),
    }


# --------------------------------------------------------------------- peers
def threeml_seed000(reference, repeats):
    try:
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import astromodels
            from astromodels import use_astromodels_memoization
            from threeML import JointLikelihood, silence_warnings
            from threeML import __version__ as threeml_version
    except ImportError:
        return None, None
    silence_warnings()
    logging.getLogger("threeML").setLevel(logging.ERROR)
    logging.getLogger("astromodels").setLevel(logging.ERROR)

    def build():
        return _common.threeml_seed000(reference)

    def free(model):
        return list(model.free_parameters.values())

    truth = [5e-8, 1e-7, 500.0, 200.0, -1.5]
    start = [1e-4, 1e-4, 30.0, 1.0, -2.0]
    out = {}
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model, data = build()
        JointLikelihood(model, data)  # sets the model in the plugins
        params = free(model)
        plugins = list(data.values())
        n_single = 300
        rng = np.random.default_rng(7)
        points = np.array(truth) * (1 + 0.05 * rng.standard_normal((n_single, 5)))

        def single():
            # as profile_overhead.json measured it: new values at every call
            with use_astromodels_memoization(False):
                for row in points:
                    for par, value in zip(params, row):
                        par.value = value
                    sum(p.get_log_like() for p in plugins)

        t_single = _common.timed(single, repeats)
        out["eval single (us)"] = tuple(1e3 * t / n_single for t in t_single)

        # the likelihood callable 3ML hands to UltraNest (what profile_overhead.json timed)
        from threeML import BayesianAnalysis

        bayes = BayesianAnalysis(model, data)
        bayes.set_sampler("ultranest")
        bayes.sampler.setup(min_num_live_points=400, dlogz=0.5)
        loglike, _ = bayes.sampler._construct_unitcube_posterior()

        def sampler_single():
            for row in points:
                loglike(row)

        t_sampler = _common.timed(sampler_single, repeats)
        out["eval single, sampler callable (us)"] = tuple(1e3 * t / n_single for t in t_sampler)

        def fit():
            mod, dat = build()
            jl = JointLikelihood(mod, dat, verbose=False)
            for par, value in zip(free(mod), start):
                par.value = value
            jl.fit(quiet=True)

        out["MLE fit from start values (ms)"] = _common.timed(fit, max(3, repeats // 3))
    return out, f"3ML {threeml_version} / astromodels {astromodels.__version__}"


def gammapy_hess_hawc(data, repeats):
    try:
        import astropy.units as u
        import gammapy
        from gammapy.datasets import Datasets, FluxPointsDataset, SpectrumDatasetOnOff
        from gammapy.estimators import FluxPoints
        from gammapy.modeling import Fit
        from gammapy.modeling.models import LogParabolaSpectralModel, SkyModel
    except ImportError:
        return None, None
    hess_dir = data / "gammapy-data/joint-crab/spectra/hess"
    hawc_file = data / "gammapy-data/hawc/crab_flux/HAWC19_flux_points.fits"

    def read():
        runs = Datasets(
            [SpectrumDatasetOnOff.read(hess_dir / f"pha_obs{n}.fits") for n in (23523, 23526)]
        )
        hess = runs.stack_reduce(name="HESS")
        hawc = FluxPointsDataset(data=FluxPoints.read(hawc_file), name="HAWC")
        return Datasets([hess, hawc])

    def fit():
        datasets = read()
        model = SkyModel(
            LogParabolaSpectralModel(
                amplitude="1e-12 cm-2 s-1 TeV-1", reference=1 * u.TeV, alpha=2.0, beta=0.1
            ),
            name="Crab Nebula",
        )
        datasets.models = [model]
        Fit().run(datasets)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = {
            "H.E.S.S. read + stack (ms)": _common.timed(lambda: read()[0], repeats),
            "H.E.S.S. + HAWC joint fit incl. reading (ms)": _common.timed(
                fit, max(3, repeats // 3)
            ),
        }
    return out, f"Gammapy {gammapy.__version__}"


# ------------------------------------------------------------------- report
def recorded_threeml_likelihood(reference) -> str:
    """A sentence on 3ML's likelihood cost recorded inside its own UltraNest run."""
    path = reference / "threeml" / "profile_overhead.json"
    try:
        recorded = json.loads(path.read_text())["task1_ultranest_default"]["like_us_per_call"]
    except (OSError, KeyError, ValueError):
        return f"({path} not readable: no recorded 3ML likelihood cost.)"
    return (
        f"3ML's seed-000 likelihood as recorded inside its own UltraNest run "
        f"(`{path.name}`): {recorded:.0f} us per call."
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--no-write", action="store_true", help="do not update bench/RESULTS.md")
    args = parser.parse_args(argv)
    shared = _common.shared_dir()
    reference, data = shared / "reference", shared / "data"

    rows = {}
    rows.update({f"seed 000: {k}": v for k, v in fluxfit_seed000(reference, args.repeats).items()})
    rows.update(fluxfit_hess_hawc(data, args.repeats))
    peers = {}
    threeml, threeml_label = threeml_seed000(reference, args.repeats)
    if threeml:
        peers.update({f"seed 000: {k}": (threeml_label, v) for k, v in threeml.items()})
    gammapy, gammapy_label = gammapy_hess_hawc(data, args.repeats)
    if gammapy:
        peers.update({k: (gammapy_label, v) for k, v in gammapy.items()})
    # 3ML has no batch mode: compare its single-point cost with fluxfit's per-point batch cost
    single = peers.get("seed 000: eval single (us)") or peers.get(
        "seed 000: eval single, numpy (us)"
    )
    if single:
        peers["seed 000: eval single (us)"] = single
        peers["seed 000: eval single, numpy (us)"] = single
        peers["seed 000: eval batch of 1000, per point (us)"] = (
            f"{single[0]} (single)",
            single[1],
        )
    callable_ = peers.pop("seed 000: eval single, sampler callable (us)", None)
    if callable_:
        key = "seed 000: eval single, vs 3ML's sampler callable (us)"
        rows[key] = (
            rows.get("seed 000: eval single (us)") or rows["seed 000: eval single, numpy (us)"]
        )
        peers[key] = callable_
    recorded = recorded_threeml_likelihood(reference)

    text = "\n".join(
        [
            HEADING,
            "",
            f"{_common.run_stamp()} {args.repeats} repeats "
            "(fits: a third of them, at least 3). Times in the unit of each row.",
            "",
            _common.peer_table(rows, peers),
            "",
            "Peers not installed show '-'. 3ML evaluates one parameter set per call; fluxfit's "
            "batch row is the per-point cost of `Objective.batch` over 1000 sets, which is what "
            'its samplers and scans use. "eval single" uses the compiled kernels '
            '(`pip install fluxfit[fast]`, numba); "numpy" is the same evaluation without them.',
            "",
            recorded,
        ]
    )
    print(text)
    if not args.no_write:
        _common.write_section(HEADING, text)
        print(f"\nwritten to {_common.RESULTS}")


if __name__ == "__main__":
    main()
