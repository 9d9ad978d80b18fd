"""Bayesian analysis: nested sampling (UltraNest) and MCMC (emcee) on a vectorised likelihood.

`BayesianAnalysis` hands the samplers the log-likelihood of a whole batch of parameter
vectors at once (UltraNest ``vectorized=True``, emcee ``vectorize=True``): models, response
folding and statistic are evaluated for all points of a batch in one numpy call per
dataset (`Objective.batch`), so the time per likelihood evaluation is a few microseconds and
the samplers' own bookkeeping dominates (see ``bench/RESULTS.md``).

Conventions
-----------
- Every free parameter needs a prior (`~fluxfit.models.Prior`); parameter bounds are hard
  limits (zero posterior outside).
- The log-likelihood is normalised as 3ML's (``ln L = (C - stat) / 2`` with the data-only
  constant of each dataset's statistic, `fluxfit.results.statistics.loglike_constant`), so
  the evidence ``ln(Z)``, AIC, BIC and DIC compare directly with 3ML's and XSPEC's.
- UltraNest draws from numpy's global random state; with ``seed`` given it is seeded with
  ``np.random.seed(seed)`` as 3ML does, and restored afterwards. emcee gets its own
  ``RandomState(seed)``; its walkers start from the current parameter values with a 10 %
  Gaussian spread (3ML's ``get_randomized_value(0.1)``), drawn with ``default_rng(seed)``.

Examples
--------
>>> from fluxfit.fit.bayes import BayesianAnalysis
>>> # bayes = BayesianAnalysis(models, datasets)
>>> # bayes.sample(sampler="ultranest", seed=42, min_num_live_points=400, dlogz=0.5)
>>> # bayes.results.to_table(); bayes.results.get_flux(1 * u.keV, 1 * u.MeV)
"""

from __future__ import annotations

import contextlib
import datetime
import inspect
import logging
import time
import warnings

import numpy as np

from fluxfit.errors import ConvergenceWarning, FitError
from fluxfit.fit.bayes_threads import single_threaded_blas
from fluxfit.fit.objective import Objective
from fluxfit.utils import progress_enabled

__all__ = ["BayesianAnalysis", "SAMPLERS"]

log = logging.getLogger(__name__)

SAMPLERS = ("ultranest", "emcee")

#: Parameter sets per likelihood evaluation: larger batches are split (the arrays of a
#: block stay in cache). Sampling runs with single-threaded BLAS (`bayes_threads`).
BATCH_CHUNK = 64

#: UltraNest settings used unless given: 3ML's defaults (live points, dlogz) and a larger
#: minimum batch of region draws (``ndraw_min``, UltraNest's default 128): fewer, larger
#: likelihood calls for the same live points and evidence tolerance (seed 000: 1700 calls of
#: ~50 points instead of 6900 of ~12, 0.8 s instead of 1.4 s in the likelihood).
ULTRANEST_DEFAULTS = {"min_num_live_points": 400, "dlogz": 0.5, "ndraw_min": 1024}
EMCEE_DEFAULTS = {"n_walkers": 50, "n_iterations": 500, "n_burn_in": None}

_LOW_LOGL = -1e300  # UltraNest needs finite log-likelihoods


class BayesianAnalysis:
    """Posterior sampling of the free parameters of models fitted to datasets.

    Parameters
    ----------
    models : `~fluxfit.models.Models` or None
        The models (assigned to ``datasets``); None keeps the datasets' models.
    datasets : `~fluxfit.datasets.Datasets` or a dataset or a list of them
        The joint likelihood.

    Attributes
    ----------
    results : `~fluxfit.results.AnalysisResults` or None
        Set by `sample`.
    sampler : object
        The sampler object of the last run (UltraNest ``ReactiveNestedSampler`` or emcee
        ``EnsembleSampler``), for diagnostics.

    Examples
    --------
    The seed-000 workflow (3ML's "multiple sources" tutorial)::

        from fluxfit.cli.demo import build_seed000_models
        from fluxfit.datasets import Datasets, SpectrumDatasetOnOff
        from fluxfit.fit import BayesianAnalysis

        datasets = Datasets([SpectrumDatasetOnOff.read(f"task1_{n}.pha", spectrum_number=1,
                                                       name=n) for n in ("s1", "s2")])
        bayes = BayesianAnalysis(build_seed000_models(), datasets)
        bayes.sample(seed=42)                       # UltraNest, 400 live points, dlogz 0.5
        print(bayes.results)
        bayes.results.get_flux(1 * u.keV, 1 * u.MeV, flux_unit="erg/(cm2 s)")
    """

    def __init__(self, models, datasets):
        from fluxfit.fit.fit import _as_datasets

        datasets = _as_datasets(datasets)
        if models is not None:
            datasets.models = models
        self.datasets = datasets
        self.models = datasets.models if models is None else models
        self._objective = Objective(datasets)
        missing = [
            n
            for n, par in zip(self._objective.names, self._objective.parameters)
            if par.prior is None
        ]
        if missing:
            raise FitError(
                "BayesianAnalysis: every free parameter needs a prior; these have none: "
                f"{missing}. Set e.g. models.parameters[label].prior = LogUniformPrior(...) "
                "or freeze them"
            )
        params = list(self._objective.parameters)
        self._priors = [p.prior for p in params]
        self._lower = np.array([p.min for p in params], dtype=float)
        self._upper = np.array([p.max for p in params], dtype=float)
        self._lower[np.isnan(self._lower)] = -np.inf
        self._upper[np.isnan(self._upper)] = np.inf
        self._constants = {d.name: _loglike_constant(d) for d in datasets}
        self._constant = float(sum(self._constants.values()))
        self.results = None
        self.sampler = None
        self._n_like = 0
        self._t_like = 0.0
        self._sampling = False  # inside sample(): BLAS already single-threaded

    # ------------------------------------------------------------ functions
    @property
    def parameter_names(self) -> list[str]:
        """Labels of the free (sampled) parameters, in sampling order."""
        return list(self._objective.names)

    def _inside(self, values) -> np.ndarray:
        return np.all((values >= self._lower) & (values <= self._upper), axis=-1)

    def log_like(self, values) -> np.ndarray:
        """ln L (3ML's normalisation) for parameter sets ``values`` of shape (k, n).

        Outside the parameters' bounds, or where the statistic is not finite, ``-inf``.
        """
        values = np.atleast_2d(np.asarray(values, dtype=float))
        start = time.perf_counter()
        out = np.full(values.shape[0], -np.inf)
        inside = np.flatnonzero(self._inside(values))
        with np.errstate(all="ignore"):
            if inside.size == 1:
                # one point: the scalar path is cheaper; the current values are restored
                current = [p.value for p in self._objective.parameters]
                stat = self._objective.stat_values(values[inside[0]])
                self._objective.set_values(current)
                out[inside[0]] = 0.5 * (self._constant - stat)
            elif inside.size:
                pin = contextlib.nullcontext() if self._sampling else single_threaded_blas()
                with pin:
                    self._batch(values, inside, out)
        out[~np.isfinite(out)] = -np.inf
        self._n_like += values.shape[0]
        self._t_like += time.perf_counter() - start
        return out

    def _batch(self, values, rows_inside, out) -> None:
        for first in range(0, rows_inside.size, BATCH_CHUNK):
            rows = rows_inside[first : first + BATCH_CHUNK]
            stat = self._objective.batch(values[rows])
            out[rows] = 0.5 * (self._constant - stat)

    def log_prior(self, values) -> np.ndarray:
        """ln prior (sum over free parameters; ``-inf`` outside bounds or supports)."""
        values = np.atleast_2d(np.asarray(values, dtype=float))
        with np.errstate(all="ignore"):
            out = np.asarray(self._objective.log_prior(values), dtype=float)
        out = np.where(self._inside(values), out, -np.inf)
        out[np.isnan(out)] = -np.inf
        return out

    def log_posterior(self, values) -> np.ndarray:
        """ln L + ln prior; the likelihood is evaluated only where the prior is positive."""
        values = np.atleast_2d(np.asarray(values, dtype=float))
        out = self.log_prior(values)
        ok = np.flatnonzero(np.isfinite(out))
        if ok.size:
            out[ok] += self.log_like(values[ok])
        return out

    def prior_transform(self, cube) -> np.ndarray:
        """Unit cube (k, n) to parameter values through each prior's inverse CDF."""
        cube = np.asarray(cube, dtype=float)
        out = np.empty_like(cube)
        for i, prior in enumerate(self._priors):
            out[..., i] = prior.ppf(cube[..., i])
        return out

    # -------------------------------------------------------------- sampling
    def sample(self, sampler: str = "ultranest", seed=None, verbose: bool | None = None, **options):
        """Sample the posterior; sets `results` (and the models to the MAP sample).

        Parameters
        ----------
        sampler : {"ultranest", "emcee"}
        seed : int, optional
            Makes the run reproducible (see the module notes).
        verbose : bool, optional
            Show the sampler's progress (emcee's tqdm bar, UltraNest's status line and
            messages): True or False to force, None (default) automatic, on when standard
            error is a terminal and fluxfit is not quietened (`fluxfit.utils.set_progress`,
            ``FLUXFIT_PROGRESS``). The results summary is logged at INFO level.
        **options
            UltraNest: any argument of ``ReactiveNestedSampler`` or of its ``run`` method
            (defaults `ULTRANEST_DEFAULTS`: ``min_num_live_points=400, dlogz=0.5``).
            emcee: ``n_walkers`` (50), ``n_iterations`` (500), ``n_burn_in``
            (``n_iterations // 4``), ``start`` ("current" values, "fit" for a
            maximum-likelihood fit first, or an array (n,) or (n_walkers, n)),
            ``start_spread`` (0.1, relative), and any ``EnsembleSampler`` argument.

        Returns
        -------
        `~fluxfit.results.AnalysisResults`
        """
        if sampler not in SAMPLERS:
            raise FitError(f"BayesianAnalysis: unknown sampler {sampler!r}; use one of {SAMPLERS}")
        self._n_like, self._t_like = 0, 0.0
        verbose = progress_enabled(verbose)
        start = time.perf_counter()
        with single_threaded_blas():
            self._sampling = True
            try:
                if sampler == "ultranest":
                    draws = self._run_ultranest(seed, verbose, options)
                else:
                    draws = self._run_emcee(seed, verbose, options)
            finally:
                self._sampling = False
        draws["meta"]["wall_time_s"] = time.perf_counter() - start
        draws["meta"]["n_likelihood_evaluations"] = int(self._n_like)
        draws["meta"]["likelihood_time_s"] = float(self._t_like)
        self.results = self._build_results(**draws)
        self.results.meta["wall_time_with_results_s"] = time.perf_counter() - start
        log.info("%s", self.results)
        return self.results

    def _run_ultranest(self, seed, verbose, options) -> dict:
        try:
            import ultranest
        except ImportError:  # pragma: no cover - optional dependency
            raise FitError(
                "sampler='ultranest' needs the ultranest package (pip install ultranest)"
            ) from None
        cls = ultranest.ReactiveNestedSampler
        ctor_keys = set(inspect.signature(cls.__init__).parameters) - {"self"}
        run_keys = set(inspect.signature(cls.run).parameters) - {"self"}
        settings = {**ULTRANEST_DEFAULTS, **options}
        ctor = {"vectorized": True, "log_dir": None}
        run = {"show_status": verbose, "viz_callback": False}
        for key, value in settings.items():
            if key in run_keys:
                run[key] = value
            elif key in ctor_keys - {"param_names", "loglike", "transform", "vectorized"}:
                ctor[key] = value
            else:
                raise FitError(
                    f"sample(sampler='ultranest'): unknown option {key!r}; options are the "
                    f"arguments of ReactiveNestedSampler ({sorted(ctor_keys)}) and of its run "
                    f"method ({sorted(run_keys)})"
                )

        def loglike(values):
            out = self.log_like(values)
            out[~np.isfinite(out)] = _LOW_LOGL
            return out

        with _seeded_global_random(seed):
            nested = cls(self.parameter_names, loglike, transform=self.prior_transform, **ctor)
            # UltraNest registers its stdout logger in the constructor: quieten it afterwards
            with _quiet_logger("ultranest", verbose):
                result = nested.run(**run)
        self.sampler = nested
        weighted = result["weighted_samples"]
        meta = {
            "sampler": "ultranest",
            "ultranest_version": ultranest.__version__,
            "options": {k: _jsonable(v) for k, v in settings.items()},
            "seed": seed,
            "ncall": int(result["ncall"]),
            "niter": int(result["niter"]),
            "ess": float(result.get("ess", np.nan)),
        }
        return {
            "samples": np.asarray(weighted["points"], dtype=float),
            "weights": np.asarray(weighted["weights"], dtype=float),
            "log_likelihood": np.asarray(weighted["logl"], dtype=float),
            "ln_z": float(result["logz"]),
            "ln_z_error": float(result["logzerr"]),
            "meta": meta,
        }

    def _run_emcee(self, seed, verbose, options) -> dict:
        try:
            import emcee
        except ImportError:  # pragma: no cover - optional dependency
            raise FitError("sampler='emcee' needs the emcee package (pip install emcee)") from None
        settings = {**EMCEE_DEFAULTS, **options}
        n_walkers = int(settings.pop("n_walkers"))
        n_iterations = int(settings.pop("n_iterations"))
        n_burn_in = settings.pop("n_burn_in")
        n_burn_in = n_iterations // 4 if n_burn_in is None else int(n_burn_in)
        start = settings.pop("start", "current")
        spread = float(settings.pop("start_spread", 0.1))
        ctor_keys = set(inspect.signature(emcee.EnsembleSampler.__init__).parameters)
        unknown = set(settings) - ctor_keys
        if unknown:
            raise FitError(
                f"sample(sampler='emcee'): unknown option(s) {sorted(unknown)}; use n_walkers, "
                "n_iterations, n_burn_in, start, start_spread or EnsembleSampler arguments "
                f"{sorted(ctor_keys - {'self', 'nwalkers', 'ndim', 'log_prob_fn'})}"
            )
        n = len(self.parameter_names)
        rng = np.random.default_rng(seed)
        p0 = self._start_points(n_walkers, start, spread, rng)
        ensemble = emcee.EnsembleSampler(
            n_walkers, n, self.log_posterior, vectorize=True, **settings
        )
        random_state = None if seed is None else np.random.RandomState(seed).get_state()
        state = emcee.State(p0, random_state=random_state)
        with np.errstate(all="ignore"):
            if n_burn_in > 0:
                state = ensemble.run_mcmc(
                    state, n_burn_in, progress=verbose, progress_kwargs=_bar("emcee burn-in")
                )
                ensemble.reset()
            ensemble.run_mcmc(
                state, n_iterations, progress=verbose, progress_kwargs=_bar("emcee sampling")
            )
        self.sampler = ensemble
        samples = ensemble.get_chain(flat=True)
        log_post = ensemble.get_log_prob(flat=True)
        log_prior = self.log_prior(samples)
        meta = {
            "sampler": "emcee",
            "emcee_version": emcee.__version__,
            "options": {
                "n_walkers": n_walkers,
                "n_iterations": n_iterations,
                "n_burn_in": n_burn_in,
                "start": start if isinstance(start, str) else "array",
                "start_spread": spread,
                **{k: _jsonable(v) for k, v in settings.items()},
            },
            "seed": seed,
            "acceptance_fraction": float(np.mean(ensemble.acceptance_fraction)),
        }
        meta.update(_autocorrelation(ensemble, emcee))
        return {
            "samples": samples,
            "weights": None,
            "log_likelihood": log_post - log_prior,
            "meta": meta,
        }

    def _start_points(self, n_walkers, start, spread, rng) -> np.ndarray:
        n = len(self.parameter_names)
        if isinstance(start, str):
            if start == "fit":
                from fluxfit.fit.fit import Fit

                Fit().optimize(self.datasets)
            elif start != "current":
                raise FitError(f"emcee start={start!r}; use 'current', 'fit' or an array")
            start = np.array([p.value for p in self._objective.parameters])
        start = np.asarray(start, dtype=float)
        if start.shape == (n_walkers, n):
            return start
        if start.shape != (n,):
            raise FitError(f"emcee start must have shape ({n},) or ({n_walkers}, {n})")
        if not np.isfinite(self.log_posterior(start[None])[0]):
            raise FitError(
                f"emcee: the posterior is zero at the start values {dict(zip(self.parameter_names, start))}"
            )
        scale = np.where(start != 0, spread * np.abs(start), spread)
        points = start + scale * rng.standard_normal((n_walkers, n))
        for _ in range(100):
            bad = ~np.isfinite(self.log_posterior(points))
            if not bad.any():
                return points
            points[bad] = start + scale * rng.standard_normal((int(bad.sum()), n))
        raise FitError("emcee: could not draw walker start points with a finite posterior")

    # --------------------------------------------------------------- results
    def _build_results(self, samples, weights, log_likelihood, meta, ln_z=None, ln_z_error=None):
        from fluxfit import __version__
        from fluxfit.results import AnalysisResults
        from fluxfit.results.analysis_results import _statistics_table
        from fluxfit.results.statistics import aic, bic, dic, n_data_points
        from fluxfit.results.summary import (
            effective_sample_size,
            normalised_weights,
            weighted_covariance,
            weighted_mean,
        )

        names = self.parameter_names
        k, n = samples.shape
        w = normalised_weights(k, weights)
        log_prior = self.log_prior(samples)
        log_post = log_likelihood + log_prior
        i_map = int(np.argmax(np.where(np.isfinite(log_post), log_post, -np.inf)))
        best = samples[i_map].copy()

        # per-dataset statistics at the MAP sample (the models are left there, as in 3ML)
        self._objective.set_values(best)
        stats = self.datasets.stat_sums()
        dnames = list(stats)
        stat = np.array([stats[d] for d in dnames], dtype=float)
        consts = np.array([self._constants[d] for d in dnames])
        npts = np.array([n_data_points(self.datasets[d]) for d in dnames])
        log_likes = 0.5 * (consts - stat)
        lnprior_map = float(log_prior[i_map])
        table = _statistics_table(dnames, stat, log_likes, npts, log_prior=lnprior_map)

        # DIC as 3ML: log posterior at the posterior mean and its posterior average
        mean = weighted_mean(samples, w)
        lnp_mean = float(self.log_posterior(mean[None])[0])
        finite = np.isfinite(log_post)
        mean_lnp = float(np.sum(w[finite] * log_post[finite]) / np.sum(w[finite]))
        dic_value, pdic = dic(lnp_mean, mean_lnp)
        self._objective.set_values(best)

        total_loglike = float(log_likes.sum())
        n_points = int(npts.sum())
        measures = {
            "AIC": aic(total_loglike, n, n_points),
            "BIC": bic(total_loglike, n, n_points),
            "DIC": dic_value,
            "pDIC": pdic,
        }
        if ln_z is not None:
            measures["ln(Z)"] = ln_z
            measures["ln(Z) error"] = ln_z_error
            measures["log10(Z)"] = ln_z / np.log(10.0)
        measures.update(
            {
                "log_likelihood_at_map": total_loglike,
                "log_prior_at_map": lnprior_map,
                "n_data_points": n_points,
                "n_free_parameters": n,
                "n_datasets": len(dnames),
                "ess": effective_sample_size(w),
            }
        )
        meta.update(
            {
                "fluxfit_version": __version__,
                "numpy_version": np.__version__,
                "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S"),
                "datasets": dnames,
                "loglike_constants": {d: float(self._constants[d]) for d in dnames},
            }
        )

        models = self.models.copy()
        pars = models.parameters
        idx = [pars.index(name) for name in names]
        full = np.zeros((len(pars), len(pars)))
        full[np.ix_(idx, idx)] = weighted_covariance(samples, w)
        models.covariance = 0.5 * (full + full.T)
        return AnalysisResults(
            models,
            names,
            "Bayesian",
            best_fit=best,
            samples=samples,
            weights=w,
            log_likelihood=log_likelihood,
            log_prior=log_prior,
            statistics=table,
            measures=measures,
            meta=meta,
        )

    # ------------------------------------------------------------------ plots
    def plot_spectrum_counts(self, **kwargs):
        """Counts, model and residuals per dataset at the current (MAP) parameters."""
        from fluxfit.plotting.counts import plot_spectrum_counts

        return plot_spectrum_counts(self.datasets, **kwargs)

    def corner_plot(self, **kwargs):
        """Corner plot of the posterior (needs `sample` first)."""
        if self.results is None:
            raise FitError("corner_plot: run sample() first")
        return self.results.corner_plot(**kwargs)

    def __repr__(self) -> str:
        return (
            f"BayesianAnalysis(parameters={self.parameter_names}, "
            f"datasets={self.datasets.names}, sampled={self.results is not None})"
        )


# ---------------------------------------------------------------- helpers
def _loglike_constant(dataset) -> float:
    from fluxfit.results.statistics import loglike_constant

    return loglike_constant(dataset)


def _jsonable(value):
    if isinstance(value, (bool, int, float, str)) or value is None:
        return value
    if isinstance(value, (np.integer, np.floating)):
        return value.item()
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return repr(value)


@contextlib.contextmanager
def _seeded_global_random(seed):
    """Seed numpy's global random state (UltraNest uses it) and restore it afterwards."""
    if seed is None:
        yield
        return
    # UltraNest draws from numpy's legacy global state: seeding it is the point here
    state = np.random.get_state()  # noqa: NPY002
    np.random.seed(seed)  # noqa: NPY002
    try:
        yield
    finally:
        np.random.set_state(state)  # noqa: NPY002


def _autocorrelation(ensemble, emcee) -> dict:
    """emcee's integrated autocorrelation time, and whether the chain is long enough for it.

    emcee raises ``AutocorrError`` (with its estimate in ``tau``) when the chain is shorter
    than 50 autocorrelation times; the estimate is kept, the reason is recorded in the meta
    data (``autocorrelation_message``) and a `~fluxfit.errors.ConvergenceWarning` is given.
    """
    try:
        tau = ensemble.get_autocorr_time(quiet=False)
    except emcee.autocorr.AutocorrError as exc:
        tau = np.atleast_1d(getattr(exc, "tau", np.nan))
        message = " ".join(str(exc).split())
        warnings.warn(
            f"emcee: autocorrelation time not reliable: {message}",
            ConvergenceWarning,
            stacklevel=4,  # the caller of BayesianAnalysis.sample
        )
        return {
            "autocorrelation_time": [float(t) for t in tau],
            "autocorrelation_converged": False,
            "autocorrelation_message": message,
        }
    return {
        "autocorrelation_time": [float(t) for t in tau],
        "autocorrelation_converged": True,
        "autocorrelation_message": "",
    }


def _bar(desc: str) -> dict:
    """Settings of emcee's tqdm bar: labelled, removed when done."""
    return {"desc": desc, "leave": False}


@contextlib.contextmanager
def _quiet_logger(name: str, verbose: bool, quiet_level: int = logging.WARNING):
    """Silence a sampler's messages below ``quiet_level`` unless ``verbose``."""
    logger = logging.getLogger(name)
    level = logger.level
    if not verbose:
        logger.setLevel(quiet_level)
    try:
        yield
    finally:
        logger.setLevel(level)
