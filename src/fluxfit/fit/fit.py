"""Maximum-likelihood fitting: iminuit (migrad, hesse, minos) with a scipy fallback.

Examples
--------
>>> from fluxfit.fit import Fit
>>> fit = Fit(backend="minuit", optimize_opts={"strategy": 1})
>>> # result = fit.run(datasets); print(result); result.parameters.to_table()
"""

from __future__ import annotations

import logging
import warnings

import numpy as np
from scipy import optimize as sp_optimize

from fluxfit.errors import ConvergenceWarning, FitError
from fluxfit.fit.bayes_threads import single_threaded_blas
from fluxfit.fit.objective import Objective

__all__ = ["Fit", "FitResult", "OptimizeResult", "CovarianceResult"]

log = logging.getLogger(__name__)

_BACKENDS = ("minuit", "scipy")


class OptimizeResult:
    """Outcome of the minimisation: success, message, calls, statistic, best values."""

    def __init__(self, success, message, nfev, total_stat, names, values, backend, method):
        self.success = bool(success)
        self.message = str(message)
        self.nfev = int(nfev)
        self.total_stat = float(total_stat)
        self.names = list(names)
        self.values = np.asarray(values, dtype=float)
        self.backend = backend
        self.method = method

    def __repr__(self) -> str:
        return (
            f"OptimizeResult(backend={self.backend!r}, method={self.method!r}, success={self.success}, "
            f"nfev={self.nfev}, total_stat={self.total_stat:.4f}, message={self.message!r})"
        )


class CovarianceResult:
    """Covariance of the free parameters (their units) and how it was obtained."""

    def __init__(self, success, message, names, matrix, backend, method):
        self.success = bool(success)
        self.message = str(message)
        self.names = list(names)
        self.matrix = np.asarray(matrix, dtype=float)
        self.backend = backend
        self.method = method

    @property
    def errors(self) -> np.ndarray:
        return np.sqrt(np.clip(np.diag(self.matrix), 0, None))

    def __repr__(self) -> str:
        return f"CovarianceResult(backend={self.backend!r}, success={self.success}, message={self.message!r})"


class FitResult:
    """Result of `Fit.run`: optimisation and covariance, and the models at the best fit.

    Attributes
    ----------
    success : bool
        Both the minimisation and the covariance estimate succeeded.
    message : str
        What the optimiser said (why it failed, when it did).
    nfev : int
        Calls of the statistic.
    total_stat : float
        Statistic at the best fit.
    models : `~fluxfit.models.Models`
        A copy of the models at the best fit, with covariance.
    """

    def __init__(
        self, optimize_result: OptimizeResult, covariance_result: CovarianceResult | None, models
    ):
        self.optimize_result = optimize_result
        self.covariance_result = covariance_result
        self.models = models

    @property
    def success(self) -> bool:
        ok = self.optimize_result.success
        return ok and (self.covariance_result is None or self.covariance_result.success)

    @property
    def message(self) -> str:
        msg = self.optimize_result.message
        if self.covariance_result is not None and not self.covariance_result.success:
            msg += f"; covariance: {self.covariance_result.message}"
        return msg

    @property
    def nfev(self) -> int:
        return self.optimize_result.nfev

    @property
    def total_stat(self) -> float:
        return self.optimize_result.total_stat

    @property
    def parameters(self):
        return self.models.parameters

    @property
    def covariance(self) -> np.ndarray:
        return self.models.covariance

    @property
    def correlation(self) -> np.ndarray:
        return self.models.parameters.correlation

    def to_table(self):
        return self.models.to_parameters_table()

    def to_analysis_results(self, datasets=None):
        """The result as `~fluxfit.results.AnalysisResults` (saved to disk, fluxes with errors)."""
        from fluxfit.results import AnalysisResults

        return AnalysisResults.from_fit_result(self, datasets)

    def __str__(self) -> str:
        opt = self.optimize_result
        lines = [
            "FitResult",
            "",
            f"  backend    : {opt.backend} ({opt.method})",
            f"  success    : {self.success}",
            f"  message    : {self.message}",
            f"  nfev       : {opt.nfev}",
            f"  total stat : {opt.total_stat:.4f}",
            "",
        ]
        lines += self.to_table().pformat(max_lines=-1, max_width=-1)
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (
            f"FitResult(success={self.success}, total_stat={self.total_stat:.4f}, nfev={self.nfev})"
        )

    def _repr_html_(self) -> str:
        head = (
            f"<b>FitResult</b>: success={self.success}, total_stat={self.total_stat:.4f}, "
            f"nfev={self.nfev}<br>{self.message}"
        )
        return head + self.to_table()._repr_html_()


def _minuit_message(fmin) -> str:
    if fmin.is_valid:
        return "Optimization terminated successfully."
    reasons = []
    if fmin.has_reached_call_limit:
        reasons.append("call limit reached")
    if fmin.is_above_max_edm:
        reasons.append(f"EDM {fmin.edm:.3g} above goal {fmin.edm_goal:.3g}")
    if fmin.has_parameters_at_limit:
        reasons.append("parameters at limit")
    if not fmin.has_covariance or not fmin.has_accurate_covar:
        reasons.append("no accurate covariance")
    if fmin.hesse_failed:
        reasons.append("hesse failed")
    return "Optimization failed: " + (", ".join(reasons) or "invalid minimum")


class Fit:
    """Fit models to datasets by minimising the total statistic.

    Parameters
    ----------
    backend : {"minuit", "scipy"}
        Optimiser: iminuit's migrad (errors from hesse, asymmetric errors from
        minos) or `scipy.optimize.minimize` (errors from a numerical Hessian).
    optimize_opts : dict, optional
        For minuit: ``strategy`` (default 1), ``tol`` (0.1), ``ncall`` (None:
        iminuit's default limit), ``retries`` (2: migrad restarted from where it
        stopped when the minimum is not valid), ``gradient`` ("batch": the
        gradient from one batched evaluation of 2n+1 points, 3-4x faster fits;
        "numerical": migrad's own finite differences). For scipy: ``method``
        ("L-BFGS-B") and ``options``.
    covariance_opts : dict, optional
        ``method``: "numerical" (default: the Hessian from one batched evaluation of
        ``2 n^2 + 1`` points, steps ``epsilon * max(|x|, 1)`` in optimiser space; stable
        on strongly correlated problems where HESSE's result depends on how close
        migrad stopped) or "hesse" (iminuit's HESSE, minuit backend only); ``epsilon``
        (1e-4).
    use_priors : bool
        Include parameter priors (maximum a posteriori). Default False.

    Examples
    --------
    >>> fit = Fit()
    >>> fit.backend
    'minuit'
    """

    def __init__(
        self, backend: str = "minuit", optimize_opts=None, covariance_opts=None, use_priors=False
    ):
        if backend not in _BACKENDS:
            raise FitError(f"Fit: unknown backend {backend!r}; use one of {_BACKENDS}")
        self.backend = backend
        self.optimize_opts = dict(optimize_opts or {})
        self.covariance_opts = dict(covariance_opts or {})
        self.use_priors = use_priors
        self._minuit = None
        self._last_models = None

    def __getstate__(self):
        # the last minimiser holds the objective and its datasets: not part of the settings
        state = dict(self.__dict__)
        state["_minuit"] = None
        state["_last_models"] = None
        return state

    # ------------------------------------------------------------------ run
    def run(self, datasets) -> FitResult:
        """Optimise, then estimate the covariance; returns a `FitResult`."""
        datasets = _as_datasets(datasets)
        opt = self.optimize(datasets)
        # errors are estimated even after a failed minimisation: the result says it failed
        cov = self.covariance(datasets, _after_optimize=True)
        result = FitResult(opt, cov, self._last_models.copy())
        if not result.success:
            warnings.warn(
                f"fit did not converge: {result.message}", ConvergenceWarning, stacklevel=2
            )
        return result

    def optimize(self, datasets) -> OptimizeResult:
        """Minimise the statistic; the parameters are left at the best fit.

        Raises `~fluxfit.errors.FitError` when there is nothing to fit (no free parameter,
        no channel in any dataset's fit range) or the statistic is not finite at the start.
        A free parameter that ends on one of its bounds gives a
        `~fluxfit.errors.ConvergenceWarning` naming it, and the message of the result says
        so (the fit still succeeds: a bounded minimum is a minimum, but its error is not
        symmetric and the bound may be hiding a better fit).
        """
        datasets = _as_datasets(datasets)
        objective = Objective(datasets, use_priors=self.use_priors)
        _check_fit_range(datasets)
        start_stat = objective(objective.start_x)
        if not np.isfinite(start_stat):
            raise FitError(
                f"the statistic is not finite at the start values ({objective.names} = "
                f"{objective.x_to_values(objective.start_x)}); check the models and data"
            )
        # small matrix products: OpenBLAS threads only wait for each other (see bayes_threads)
        with single_threaded_blas():
            if self.backend == "minuit":
                result = self._optimize_minuit(objective)
            else:
                result = self._optimize_scipy(objective)
        notes = _at_bound(datasets, objective)
        if notes:
            text = "; ".join(notes)
            warnings.warn(text, ConvergenceWarning, stacklevel=2)
            result.message = f"{result.message}; {text}"
        return result

    def _optimize_minuit(self, objective: Objective) -> OptimizeResult:

        opts = {"strategy": 1, "tol": 0.1, "ncall": None, "retries": 2, "gradient": "batch"}
        opts.update(self.optimize_opts)
        unknown = set(opts) - {"strategy", "tol", "ncall", "print_level", "retries", "gradient"}
        if unknown:
            raise FitError(f"Fit: unknown minuit optimize_opts {sorted(unknown)}")
        if opts["gradient"] not in ("batch", "numerical"):
            raise FitError(f"Fit: gradient={opts['gradient']!r}; use 'batch' or 'numerical'")
        minuit = self._new_minuit(objective, gradient=opts["gradient"] == "batch")
        minuit.strategy = opts["strategy"]
        minuit.tol = opts["tol"]
        minuit.print_level = opts.get("print_level", 0)
        nfev = 0
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            minuit.migrad(ncall=opts["ncall"])
            nfev += minuit.fmin.nfcn
            # migrad restarted from where it stopped often reaches a valid minimum
            # when the first descent ended far from it (hard starts, curved valleys)
            for _ in range(int(opts["retries"])):
                if minuit.fmin.is_valid or opts["ncall"] is not None:
                    break
                minuit.migrad()
                nfev += minuit.fmin.nfcn
        self._minuit = minuit
        best = np.array(minuit.values)
        values = objective.x_to_values(best)
        objective.set_values(values)
        stat = objective.stat_values(values)
        fmin = minuit.fmin
        return OptimizeResult(
            success=fmin.is_valid,
            message=_minuit_message(fmin),
            nfev=nfev,
            total_stat=stat,
            names=objective.names,
            values=values,
            backend="minuit",
            method="migrad",
        )

    @staticmethod
    def _new_minuit(objective, gradient: bool = False):
        from iminuit import Minuit

        start = objective.start_x
        grad = objective.gradient if gradient else None
        minuit = Minuit(objective, start, grad=grad, name=objective.names)
        minuit.errordef = Minuit.LEAST_SQUARES  # the statistic is -2 ln L
        minuit.limits = objective.bounds_x
        # first steps: 10% of each value (0.1 dex for log parameters), as 3ML does
        steps = np.where(objective.log_mask, 0.1, np.maximum(np.abs(start) * 0.1, 1e-2))
        minuit.errors = steps
        return minuit

    def _optimize_scipy(self, objective: Objective) -> OptimizeResult:
        opts = {"method": "L-BFGS-B", "options": {}}
        opts.update(self.optimize_opts)
        bounds = list(objective.bounds_x)
        result = sp_optimize.minimize(
            objective,
            objective.start_x,
            method=opts["method"],
            bounds=bounds
            if opts["method"]
            in ("L-BFGS-B", "TNC", "SLSQP", "Powell", "Nelder-Mead", "trust-constr")
            else None,
            options=opts["options"],
        )
        values = objective.x_to_values(result.x)
        objective.set_values(values)
        stat = objective.stat_values(values)
        return OptimizeResult(
            success=result.success,
            message=str(result.message),
            nfev=result.nfev,
            total_stat=stat,
            names=objective.names,
            values=values,
            backend="scipy",
            method=opts["method"],
        )

    # ------------------------------------------------------------ covariance
    def covariance(self, datasets, _after_optimize: bool = False) -> CovarianceResult:
        """Covariance of the free parameters at the current values; sets errors on the models."""
        datasets = _as_datasets(datasets)
        objective = Objective(datasets, use_priors=self.use_priors)
        method = self.covariance_opts.get("method", "numerical")
        if method not in ("numerical", "hesse"):
            raise FitError(f"Fit: covariance method {method!r}; use 'numerical' or 'hesse'")
        if self.backend == "minuit" and method == "hesse":
            minuit = self._minuit if _after_optimize and self._minuit is not None else None
            if minuit is None:
                minuit = self._new_minuit(objective)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                minuit.hesse()
            best = np.array(minuit.values)
            objective.set_x(best)
            success = minuit.covariance is not None and minuit.fmin.has_accurate_covar
            jac = objective.jacobian(best)
            matrix = (
                np.array(minuit.covariance) * np.outer(jac, jac)
                if minuit.covariance is not None
                else np.full((len(objective.names),) * 2, np.nan)
            )
            message = (
                "Hesse terminated successfully." if success else "Hesse failed or is inaccurate."
            )
        else:
            # differentiate in a space of order one around the current values: the
            # parameters' own scales were set at the start and may be far off now
            values = np.abs(objective.x_to_values(objective.start_x))
            objective.scales = np.where(values > 0, 10.0 ** np.floor(np.log10(values)), 1.0)
            with single_threaded_blas():
                matrix, success, message = _numerical_covariance(
                    objective, self.covariance_opts.get("epsilon", 1e-4)
                )
            method = "numerical hessian (batched)"
        self._last_models = _store_covariance(datasets, objective, matrix)
        return CovarianceResult(success, message, objective.names, matrix, self.backend, method)

    # ------------------------------------------------------------ confidence
    def confidence(self, datasets, parameter, sigma: float = 1.0, reoptimize: bool = True) -> dict:
        """Asymmetric errors of ``parameter`` where the statistic rises by ``sigma**2``.

        With ``reoptimize=True`` the other free parameters are refitted along the
        profile (MINOS with the minuit backend); otherwise they stay fixed.

        Returns
        -------
        dict
            ``success``, ``message``, ``errp``, ``errn`` (in the parameter unit), ``nfev``.
        """
        datasets = _as_datasets(datasets)
        objective = Objective(datasets, use_priors=self.use_priors)
        par = _find_parameter(objective, parameter)
        index = [p is par for p in objective.parameters].index(True)
        start_values = objective.x_to_values(objective.start_x)
        try:
            if self.backend == "minuit" and reoptimize:
                return self._minos(objective, index, sigma)
            return self._profile_roots(objective, index, sigma, reoptimize)
        finally:
            objective.set_values(start_values)

    def _minos(self, objective, index, sigma) -> dict:
        minuit = self._new_minuit(objective)
        minuit.strategy = self.optimize_opts.get("strategy", 1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            minuit.migrad()
            try:
                minuit.minos(objective.names[index], cl=float(sigma))
            except RuntimeError as exc:
                return {
                    "success": False,
                    "message": f"minos failed: {exc}",
                    "errp": np.nan,
                    "errn": np.nan,
                    "nfev": minuit.nfcn,
                }
        merr = minuit.merrors[objective.names[index]]
        best = np.array(minuit.values)
        value = objective.x_to_values(best)[index]
        up, down = best.copy(), best.copy()
        up[index] += merr.upper
        down[index] += merr.lower
        return {
            "success": bool(merr.is_valid),
            "message": "MINOS terminated successfully." if merr.is_valid else "MINOS failed",
            "errp": abs(objective.x_to_values(up)[index] - value),
            "errn": abs(value - objective.x_to_values(down)[index]),
            "nfev": minuit.nfcn,
        }

    def _profile_roots(self, objective, index, sigma, reoptimize) -> dict:
        best = objective.x_to_values(objective.start_x)
        par = objective._params[index]
        stat_min = self._profile_stat(objective, index, best[index], best, reoptimize)
        target = stat_min + sigma**2
        step = par.error if par.error > 0 else max(abs(best[index]) * 0.1, 1e-3 * abs(par.scale))
        out = {"success": True, "message": "profile roots found", "nfev": 0}
        for key, direction in (("errp", 1.0), ("errn", -1.0)):
            bound = par.max if direction > 0 else par.min
            x_far = best[index] + direction * step
            ok = False
            for _ in range(60):
                if not np.isnan(bound) and direction * (x_far - bound) > 0:
                    x_far = bound
                if self._profile_stat(objective, index, x_far, best, reoptimize) > target:
                    ok = True
                    break
                if x_far == bound:
                    break
                x_far = best[index] + 2 * (x_far - best[index])
            if not ok:
                out[key] = np.nan
                out["success"] = False
                out["message"] = f"statistic does not rise by {sigma}^2 before the bound"
                continue
            root = sp_optimize.brentq(
                lambda x: self._profile_stat(objective, index, x, best, reoptimize) - target,
                best[index],
                x_far,
                xtol=1e-6 * abs(step),
            )
            out[key] = abs(root - best[index])
        out["nfev"] = objective.n_calls
        return out

    def _profile_stat(self, objective, index, value, best, reoptimize) -> float:
        values = best.copy()
        values[index] = value
        if not reoptimize or len(values) == 1:
            return objective.stat_values(values)
        others = [i for i in range(len(values)) if i != index]

        def fun(x):
            full = objective.values_to_x(values)
            full[others] = x
            with np.errstate(over="ignore", invalid="ignore"):
                stat = objective.stat_values(objective.x_to_values(full))
            return stat if np.isfinite(stat) else np.inf

        bounds = [objective.bounds_x[i] for i in others]
        start = objective.values_to_x(best)[others]
        result = sp_optimize.minimize(fun, start, method="L-BFGS-B", bounds=bounds)
        return float(result.fun)

    # ----------------------------------------------------- profiles, surfaces
    def stat_profile(
        self,
        datasets,
        parameter,
        values=None,
        reoptimize: bool = False,
        n_values: int = 30,
        n_sigma: float = 3.0,
    ) -> dict:
        """Statistic as a function of one parameter.

        Parameters
        ----------
        parameter : `~fluxfit.models.Parameter` or str
            The scanned parameter (object or label).
        values : array, optional
            Values to scan (parameter unit); default ``n_values`` values within
            ``n_sigma`` errors of the current value.
        reoptimize : bool
            Refit the other free parameters at each value (slower); otherwise the
            whole scan is one batched evaluation.

        Returns
        -------
        dict
            ``"<label>_scan"``: the values, ``"stat_scan"``: the statistic.
        """
        datasets = _as_datasets(datasets)
        par = _resolve(datasets, parameter)
        label = datasets.models.parameters.names[datasets.models.parameters.index(par)]
        if values is None:
            err = par.error if par.error > 0 else abs(par.value) * 0.1 or 1.0
            values = np.linspace(par.value - n_sigma * err, par.value + n_sigma * err, n_values)
        values = np.asarray(values, dtype=float)
        saved = par.value
        frozen = par.frozen
        try:
            if not reoptimize:
                stats = np.broadcast_to(
                    datasets.stat_sum_batch({par: values[:, None]}), values.shape
                ).copy()
            else:
                par.frozen = True
                stats = np.empty(values.size)
                for i, value in enumerate(values):
                    par._value = float(value)
                    try:
                        stats[i] = self.optimize(datasets).total_stat
                    except FitError:
                        stats[i] = datasets.stat_sum()
        finally:
            par.frozen = frozen
            par._value = saved
        return {f"{label}_scan": values, "stat_scan": stats}

    def stat_surface(self, datasets, x, y, x_values, y_values, reoptimize: bool = False) -> dict:
        """Statistic on a grid of two parameters (batched unless ``reoptimize``)."""
        datasets = _as_datasets(datasets)
        px, py = _resolve(datasets, x), _resolve(datasets, y)
        labels = datasets.models.parameters.names
        lx = labels[datasets.models.parameters.index(px)]
        ly = labels[datasets.models.parameters.index(py)]
        x_values = np.asarray(x_values, dtype=float)
        y_values = np.asarray(y_values, dtype=float)
        gx, gy = np.meshgrid(x_values, y_values, indexing="ij")
        saved = (px.value, py.value, px.frozen, py.frozen)
        try:
            if not reoptimize:
                stats = datasets.stat_sum_batch({px: gx.reshape(-1, 1), py: gy.reshape(-1, 1)})
                stats = np.broadcast_to(stats, (gx.size,)).reshape(gx.shape)
            else:
                px.frozen = py.frozen = True
                stats = np.empty(gx.shape)
                for idx in np.ndindex(gx.shape):
                    px._value, py._value = float(gx[idx]), float(gy[idx])
                    stats[idx] = self.optimize(datasets).total_stat
        finally:
            px._value, py._value, px.frozen, py.frozen = saved
        return {f"{lx}_scan": x_values, f"{ly}_scan": y_values, "stat_scan": np.array(stats)}


# ---------------------------------------------------------------- helpers
def _n_fitted(dataset) -> int | None:
    """Number of channels (bins) of ``dataset`` in its fit range, None if it cannot tell."""
    mask = getattr(dataset, "mask", None)
    if mask is not None:
        return int(np.count_nonzero(np.asarray(getattr(mask, "data", mask))))
    counts = getattr(dataset, "counts", None)
    if counts is None:
        return None
    return int(np.size(np.asarray(getattr(counts, "data", counts))))


def _check_fit_range(datasets) -> None:
    """No channel in any fit range: `FitError`; one dataset without: a warning.

    A dataset with channels but no counts in its fit range is kept silently: with a
    Poisson statistic it constrains the flux from above (a non-detection), as it should.
    """
    n_fitted = {d.name: _n_fitted(d) for d in datasets}
    known = {name: n for name, n in n_fitted.items() if n is not None}
    if known and len(known) == len(n_fitted) and not any(known.values()):
        raise FitError(
            f"no channel in the fit range of any dataset {list(known)} (mask_safe & mask_fit "
            "select nothing): there is nothing to fit; check the safe masks and energy range"
        )
    empty = [name for name, n in known.items() if n == 0]
    if empty:
        warnings.warn(
            f"dataset(s) {empty} have no channel in their fit range (mask_safe & mask_fit): "
            "they do not contribute to the fit",
            UserWarning,
            stacklevel=3,
        )


def _at_bound(datasets, objective: Objective) -> list[str]:
    """Notes naming the free parameters whose best-fit value is on one of their bounds."""
    owner = {}
    for model in datasets.models:
        for par in model.parameters:
            owner.setdefault(id(par), model.name)
    notes = []
    for par in objective.parameters:
        value = float(par.value)
        for label, bound in (("min", par.min), ("max", par.max)):
            bound = float(bound)
            if not np.isfinite(bound):
                continue
            tol = 1e-6 * max(abs(bound), abs(float(par.scale)) * 1e-3, 1e-300)
            if abs(value - bound) <= tol:
                model = owner.get(id(par))
                where = f" of model {model!r}" if model is not None else ""
                notes.append(f"parameter {par.name!r}{where} is at its bound {label}={bound:.6g}")
    return notes


def _as_datasets(datasets):
    from fluxfit.datasets.core import Dataset, Datasets

    if isinstance(datasets, Datasets):
        return datasets
    if isinstance(datasets, Dataset):
        return Datasets([datasets])
    return Datasets(datasets)


def _resolve(datasets, parameter):
    from fluxfit.models import Parameter

    if isinstance(parameter, Parameter):
        return parameter
    return datasets.models.parameters[parameter]


def _find_parameter(objective: Objective, parameter):
    from fluxfit.models import Parameter

    if isinstance(parameter, Parameter):
        for par in objective.parameters:
            if par is parameter:
                return par
        raise FitError(f"parameter {parameter.name!r} is not a free parameter of these datasets")
    return objective.parameters[parameter]


def batched_hessian(objective: Objective, x0, steps) -> np.ndarray:
    """Hessian of the statistic in optimiser space from one batched evaluation.

    Central second differences: ``2 n^2 + 1`` points evaluated in a single
    `Objective.batch` call (51 points for 5 parameters).
    """
    x0 = np.asarray(x0, dtype=float)
    n = x0.size
    pairs = [(i, j) for i in range(n) for j in range(i + 1, n)]
    points = [x0]
    for i in range(n):
        for sign in (1.0, -1.0):
            point = x0.copy()
            point[i] += sign * steps[i]
            points.append(point)
    for i, j in pairs:
        for si, sj in ((1, 1), (1, -1), (-1, 1), (-1, -1)):
            point = x0.copy()
            point[i] += si * steps[i]
            point[j] += sj * steps[j]
            points.append(point)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        stat = objective.batch(objective.x_to_values(np.array(points)))
    center = stat[0]
    hess = np.empty((n, n))
    for i in range(n):
        up, down = stat[1 + 2 * i], stat[2 + 2 * i]
        hess[i, i] = (up - 2 * center + down) / steps[i] ** 2
    base = 1 + 2 * n
    for k, (i, j) in enumerate(pairs):
        pp, pm, mp, mm = stat[base + 4 * k : base + 4 * k + 4]
        hess[i, j] = hess[j, i] = (pp - pm - mp + mm) / (4 * steps[i] * steps[j])
    return hess


def _numerical_covariance(objective: Objective, epsilon: float):
    """2 * inverse Hessian of the statistic (optimiser space), converted to values.

    Steps are ``epsilon * max(|x|, 1)`` in optimiser space (factors of order one,
    or log10 values), where the statistic is smooth at that scale.
    """
    x0 = objective.start_x
    n = x0.size
    steps = epsilon * np.maximum(np.abs(x0), 1.0)
    hess = batched_hessian(objective, x0, steps)
    objective.set_x(x0)
    if not np.all(np.isfinite(hess)):
        return np.full((n, n), np.nan), False, "statistic not finite around the best fit"
    try:
        cov_x = 2.0 * np.linalg.inv(hess)
    except np.linalg.LinAlgError:
        return np.full((n, n), np.nan), False, "singular Hessian"
    ok = bool(np.all(np.isfinite(cov_x)) and np.all(np.diag(cov_x) > 0))
    jac = objective.jacobian(x0)
    matrix = cov_x * np.outer(jac, jac)
    return matrix, ok, "numerical Hessian inverted" if ok else "Hessian not positive definite"


def _store_covariance(datasets, objective: Objective, matrix):
    """Put the free-parameter covariance into the models' full covariance; returns the models."""
    models = datasets.models
    pars = models.parameters
    full = np.zeros((len(pars), len(pars)))
    idx = [pars.index(p) for p in objective.parameters]
    full[np.ix_(idx, idx)] = matrix
    models.covariance = full
    return models
