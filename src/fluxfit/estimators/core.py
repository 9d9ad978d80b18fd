"""Estimator base classes: option handling, the norm, and the flux-estimation pipeline.

`Estimator` parses ``selection_optional`` and prints its configuration;
`FluxEstimator` holds what every flux estimator shares (the source, the norm
and its scan, ``n_sigma``/``n_sigma_ul``, ``reoptimize``, ``fit``) and the
pipeline the flux points (and flux profile) estimators run:

1. `dataset_arrays`: per dataset, once, the counts, masks and the predicted
   counts of the source (``s``) and of everything else (``b``: the other
   sources, plus the known background with the Cash statistic) per energy bin
   and pixel, as plain ``(n_energy, n_pixels)`` arrays (`DatasetArrays`);
2. `add_group`: the channels of one energy group of one dataset (or their
   sum over the group, ``sum_over_energy_groups``) go into a
   `~fluxfit.estimators.norm_solver.NormProblem`;
3. `FluxEstimator.solve`: best fit, TS, errors, upper limits and scans of all
   groups at once (vectorised Newton on the convex Cash / W-stat profile);
4. `FluxEstimator.flux_points`: the result as `~fluxfit.datasets.FluxPoints`.

The general path (``reoptimize=True``: the other free parameters refitted in
each group with `~fluxfit.fit.Fit`; or datasets whose statistic has no
closed-form profile, e.g. PG-stat) is `FluxEstimator.estimate_group_fit`,
one independent task per group (`fluxfit.parallel.run_tasks`).

The flux profile estimator (`fluxfit.estimators.profile`) runs the same
pipeline with one group per (region, energy group): its `DatasetArrays` have the
regions as "pixels" (``MapDataset.reduce_regions``: all regions in one sparse
product, Gammapy's ``to_spectrum_dataset``), `add_group` takes an array of group
numbers ``region * n_energy + energy``, `FluxEstimator.solve` solves them all at
once, and `reshape_group_results` gives ``(n_regions, n_energy)`` arrays for
`FluxEstimator.flux_points` with the axes ``[energy, projected-distance]``. The
light curve estimator (`fluxfit.estimators.lightcurve`) numbers its groups
``time_bin * n_energy + energy`` over the datasets inside each time bin.
(`DatasetArrays.reduce_pixels` sums the arrays of one region given as pixel
weights.)

Conventions are Gammapy 2.1's (``FluxEstimator`` / ``ParameterEstimator``):
``ts = stat(norm=0) - stat(best)``, ``norm_err = n_sigma * sqrt(2 / stat'')``
(the statistic is -2 ln L), ``norm_errn``/``norm_errp`` where the statistic
has risen by ``n_sigma**2``, ``norm_ul = norm + errp(n_sigma_ul)``, ``stat_scan``
the total statistic at the scan values, ``npred``/``npred_excess``/``counts``
per dataset summed over the fitted channels; the norm is unbounded unless
``norm`` gives ``min``/``max``.
"""

from __future__ import annotations

import copy
import inspect
import logging
import warnings

import astropy.units as u
import numpy as np

from fluxfit.errors import FitError, FluxfitError
from fluxfit.estimators.norm_solver import NormProblem, find_norm_crossings, minimize_norm
from fluxfit.estimators.scale import ScaleSpectralModel

__all__ = [
    "Estimator",
    "EstimatorError",
    "FluxEstimator",
    "NormParameter",
    "DatasetArrays",
    "dataset_arrays",
    "add_group",
    "reshape_group_results",
    "snap_energy_edges",
]

log = logging.getLogger(__name__)

#: Optional quantities every flux estimator can add (Gammapy's names).
SELECTION_OPTIONAL = ("errn-errp", "ul", "scan")
#: Statistics with a closed-form norm profile (the fast path).
FAST_STAT_TYPES = ("cash", "wstat")


class EstimatorError(FluxfitError, ValueError):
    """Invalid estimator option, or datasets an estimator cannot work on."""


# ---------------------------------------------------------------------- base
class Estimator:
    """Base class of estimators: ``selection_optional``, copies, printing.

    Subclasses set ``tag`` and ``_available_selection_optional`` and implement
    ``run(datasets)``.
    """

    tag = "Estimator"
    _available_selection_optional: tuple[str, ...] = ()

    @property
    def selection_optional(self) -> list[str]:
        """Optional steps to run (``"all"`` expands to every available one)."""
        return self._selection_optional

    @selection_optional.setter
    def selection_optional(self, selection):
        available = list(self._available_selection_optional)
        if selection is None:
            self._selection_optional = []
            return
        if isinstance(selection, str):
            selection = [selection]
        selection = list(selection)
        if "all" in selection:
            self._selection_optional = available
            return
        unknown = [s for s in selection if s not in available]
        if unknown:
            raise EstimatorError(
                f"{type(self).__name__}: unknown selection_optional {unknown}; "
                f"available: {available} or 'all'"
            )
        self._selection_optional = selection

    def run(self, datasets):  # pragma: no cover - interface
        """The estimator's result for ``datasets`` (defined by each estimator)."""
        raise FluxfitError(f"{type(self).__name__} does not define run(datasets)")

    def copy(self):
        """A deep copy of the estimator."""
        return copy.deepcopy(self)

    @property
    def config_parameters(self) -> dict:
        """The options, by name."""
        return {key.strip("_"): value for key, value in self.__dict__.items()}

    def __str__(self) -> str:
        name = type(self).__name__
        lines = [name, "-" * len(name), ""]
        pars = self.config_parameters
        width = max(len(k) for k in pars) + 1 if pars else 1
        for key, value in sorted(pars.items()):
            if isinstance(value, np.ndarray | u.Quantity):
                value = np.array2string(np.asarray(value), precision=3) + (
                    f" {value.unit}" if isinstance(value, u.Quantity) else ""
                )
            elif inspect.isclass(value):
                value = value.__name__
            lines.append(f"  {key:{width}s}: {value}")
        return "\n".join(lines) + "\n"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(selection_optional={self.selection_optional})"


# ---------------------------------------------------------------------- norm
_NORM_KEYS = (
    "name",
    "value",
    "unit",
    "min",
    "max",
    "frozen",
    "error",
    "interp",
    "scan_min",
    "scan_max",
    "scan_n_values",
    "scan_n_sigma",
    "scan_values",
    "scale",
    "is_norm",
    "transform",
    "prior",
)


class NormParameter:
    """The norm an estimator fits: start value, bounds and likelihood-scan values.

    Mirrors Gammapy's norm ``Parameter`` (``_get_default_norm``): ``value=1``,
    no bounds, ``interp="log"``, scan from ``scan_min=0.2`` to ``scan_max=5``
    in ``scan_n_values=11`` steps, unless ``scan_values`` are given.

    Parameters
    ----------
    value : float
        Start value of the fit (also the general path's start).
    min, max : float, optional
        Bounds of the fit and of the error / upper-limit searches (NaN: none).
    interp : {"log", "lin"}
        Spacing of the default scan values.
    scan_min, scan_max : float, optional
        Scan range; None: ``value -/+ scan_n_sigma * error`` (Gammapy).
    scan_n_values : int
        Number of scan values.
    scan_n_sigma : float
        Width of the default scan range in errors.
    scan_values : array, optional
        Explicit scan values (override the range).
    error : float
        Error used for the default scan range.

    Examples
    --------
    >>> from fluxfit.estimators import NormParameter
    >>> NormParameter().scan_values.round(3).tolist()[:3]
    [0.2, 0.276, 0.381]
    >>> NormParameter(scan_values=[0, 1, 2]).scan_values.tolist()
    [0.0, 1.0, 2.0]
    """

    name = "norm"

    def __init__(
        self,
        value: float = 1.0,
        min=None,
        max=None,
        interp: str = "log",
        scan_min=0.2,
        scan_max=5.0,
        scan_n_values: int = 11,
        scan_n_sigma: float = 2,
        scan_values=None,
        error: float = 0.0,
        frozen: bool = False,
    ):
        self.value = float(value)
        self.min = np.nan if min is None else float(min)
        self.max = np.nan if max is None else float(max)
        if interp not in ("lin", "log"):
            raise EstimatorError(f"norm: interp={interp!r}; use 'log' or 'lin'")
        self.interp = interp
        self.scan_min = scan_min
        self.scan_max = scan_max
        self.scan_n_values = int(scan_n_values)
        self.scan_n_sigma = scan_n_sigma
        self._scan_values = None if scan_values is None else np.asarray(scan_values, float)
        self.error = float(error)
        self.frozen = bool(frozen)

    @property
    def _step(self) -> float:
        return self.error if self.error > 0 else abs(self.value)

    @property
    def scan_values(self) -> np.ndarray:
        """Norm values of the likelihood scan."""
        if self._scan_values is not None:
            return self._scan_values
        lo = self.scan_min
        hi = self.scan_max
        if lo is None:
            lo = self.value - self._step * self.scan_n_sigma
        if hi is None:
            hi = self.value + self._step * self.scan_n_sigma
        if self.interp == "log":
            if not (lo > 0 and hi > 0):
                raise EstimatorError(
                    f"norm: log-spaced scan needs positive scan_min/scan_max, got {lo}, {hi}"
                )
            return np.geomspace(lo, hi, self.scan_n_values)
        return np.linspace(lo, hi, self.scan_n_values)

    @scan_values.setter
    def scan_values(self, values):
        self._scan_values = None if values is None else np.asarray(values, dtype=float)

    def to_parameter(self):
        """A `~fluxfit.models.Parameter` for the general path's fits."""
        from fluxfit.models import Parameter

        return Parameter(
            "norm",
            self.value,
            min=None if np.isnan(self.min) else self.min,
            max=None if np.isnan(self.max) else self.max,
            interp=self.interp,
            is_norm=True,
        )

    def copy(self) -> NormParameter:
        return copy.deepcopy(self)

    def __repr__(self) -> str:
        scan = (
            f"scan_values={self._scan_values.tolist()}"
            if self._scan_values is not None
            else f"scan_min={self.scan_min}, scan_max={self.scan_max}, "
            f"scan_n_values={self.scan_n_values}"
        )
        return (
            f"NormParameter(value={self.value}, min={self.min}, max={self.max}, "
            f"interp={self.interp!r}, {scan})"
        )

    @classmethod
    def create(cls, norm=None, scan_n_sigma: float = 2, **defaults) -> NormParameter:
        """The norm from None, a dict of Parameter-like keys, a `~fluxfit.models.Parameter`
        (its value, bounds, interp, error and any ``scan_*`` attributes) or a NormParameter."""
        if isinstance(norm, NormParameter):
            return norm.copy()
        kwargs = {"scan_n_sigma": scan_n_sigma}
        kwargs.update(defaults)
        if norm is None:
            return cls(**kwargs)
        if isinstance(norm, dict):
            unknown = sorted(set(norm) - set(_NORM_KEYS))
            if unknown:
                raise EstimatorError(
                    f"norm: unknown key(s) {unknown}; use a subset of {list(_NORM_KEYS)}"
                )
            values = dict(norm)
        elif hasattr(norm, "value") and hasattr(norm, "name"):
            values = {"name": norm.name, "value": norm.value}
            for key in ("min", "max", "interp", "error", "frozen") + tuple(
                k for k in _NORM_KEYS if k.startswith("scan_")
            ):
                if hasattr(norm, key):
                    values[key] = getattr(norm, key)
            if getattr(norm, "unit", None) not in (None, u.dimensionless_unscaled, ""):
                raise EstimatorError(f"norm: must be dimensionless, got unit {norm.unit}")
        else:
            raise EstimatorError(
                f"norm: give None, a dict or a Parameter, got {type(norm).__name__}"
            )
        name = values.pop("name", "norm")
        if name != "norm":
            raise EstimatorError(f"norm: the parameter must be named 'norm', got {name!r}")
        unit = values.pop("unit", "")
        if unit not in ("", None) and u.Unit(unit) != u.dimensionless_unscaled:
            raise EstimatorError(f"norm: must be dimensionless, got unit {unit!r}")
        for key in ("scale", "is_norm", "transform", "prior"):
            values.pop(key, None)
        for key in ("min", "max"):
            if key in values and values[key] is not None and np.isnan(values[key]):
                values[key] = None
        kwargs.update(values)
        out = cls(**kwargs)
        if out.interp == "lin":
            log.warning(
                "Linear interpolation should be used with care on the 'norm' parameter; "
                "'log' is recommended"
            )
        return out


# ------------------------------------------------------------ dataset arrays
def _data(values):
    """Plain array of a Map (``.data``) or array."""
    return np.asarray(getattr(values, "data", values))


def _energy_axis(dataset):
    axis = getattr(dataset, "energy_axis", None)
    if axis is None:
        try:
            axis = dataset.counts.geom.axes["energy"]
        except (AttributeError, KeyError, TypeError):
            raise EstimatorError(
                f"dataset {getattr(dataset, 'name', dataset)!r} has no reconstructed-energy "
                "axis (energy_axis or counts.geom.axes['energy'])"
            ) from None
    return axis


def _npred_signal(dataset, model_name=None):
    if model_name is None:
        return _data(dataset.npred_signal())
    try:
        return _data(dataset.npred_signal(model_name=model_name))
    except TypeError:
        return _data(dataset.npred_signal(model_names=[model_name]))


class DatasetArrays:
    """What the fast path needs from one dataset, as ``(n_energy, n_pixels)`` arrays.

    Attributes
    ----------
    name : str
    stat_type : str
        "cash" or "wstat" (others go through the general path).
    energy_axis : `~fluxfit.maps.MapAxis`
        Reconstructed-energy axis (bin edges for the grouping).
    counts, npred_source, npred_other : arrays
        Counts, source prediction and fixed rest of the prediction (other sources;
        plus the known background for Cash).
    mask, mask_safe : bool arrays
        Channels in the statistic (``mask_safe & mask_fit``) and the safe ones.
    mask_fit : bool array or None
    counts_off, alpha : arrays or None
        OFF counts and ON/OFF ratio (W-stat).
    """

    def __init__(self, **kwargs):
        self.__dict__.update(kwargs)

    @property
    def shape(self) -> tuple:
        return self.counts.shape

    def reduce_pixels(self, weights) -> DatasetArrays:
        """Arrays summed over the pixels with ``weights`` (n_pixels,) (a region spectrum).

        Counts and predictions are summed inside ``mask_safe``; the W-stat alpha of
        the sum is the OFF-count weighted mean; a bin is safe (fitted) if any of
        its pixels is.
        """
        w = np.asarray(weights, dtype=float)[None, :]
        safe = self.mask_safe * w
        out = dict(self.__dict__)
        for key in ("counts", "npred_source", "npred_other", "counts_off"):
            value = getattr(self, key)
            if value is not None:
                out[key] = (value * safe).sum(axis=1, keepdims=True)
        if self.alpha is not None:
            out["alpha"] = _mean_alpha(self.alpha, self.counts_off, safe, axis=1)
        inside = w > 0
        out["mask_safe"] = np.any(self.mask_safe & inside, axis=1, keepdims=True)
        fit = self.mask_fit if self.mask_fit is not None else np.ones(self.shape, bool)
        out["mask_fit"] = np.any(fit & inside, axis=1, keepdims=True)
        out["mask"] = out["mask_safe"] & out["mask_fit"]
        return DatasetArrays(**out)


def _mean_alpha(alpha, counts_off, weights, axis):
    """OFF-count weighted mean alpha (plain mean where there are no OFF counts)."""
    off = (counts_off * weights).sum(axis=axis, keepdims=True)
    bkg = (alpha * counts_off * weights).sum(axis=axis, keepdims=True)
    norm = weights.sum(axis=axis, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.where(norm > 0, (alpha * weights).sum(axis=axis, keepdims=True) / norm, 0.0)
        return np.where(off > 0, bkg / off, mean)


def dataset_arrays(dataset, source_name: str | None) -> DatasetArrays:
    """Counts, masks and predicted counts of a dataset, computed once (see `DatasetArrays`).

    ``source_name``: the model whose norm is fitted (None or absent from the
    dataset: it predicts nothing there).
    """
    if getattr(dataset, "counts", None) is None or not hasattr(dataset, "npred_signal"):
        raise EstimatorError(
            f"{type(dataset).__name__} {getattr(dataset, 'name', '')!r}: flux estimators work on "
            "datasets of counts (spectrum, ON/OFF, map datasets)"
        )
    axis = _energy_axis(dataset)
    n_e = axis.nbin
    stat_type = getattr(dataset, "stat_type", "")

    def flat(values, dtype=float):
        array = np.asarray(values, dtype=dtype)
        if array.ndim == 0 or array.shape[0] != n_e:
            array = np.broadcast_to(array, _data(dataset.counts).shape)
        return array.reshape(n_e, -1)

    counts = flat(_data(dataset.counts))
    mask_safe = _mask_or_all(dataset.mask_safe, counts.shape, flat)
    mask = _mask_or_all(dataset.mask, counts.shape, flat)
    mask_fit = getattr(dataset, "mask_fit", None)
    mask_fit = None if mask_fit is None else flat(_data(mask_fit), bool)
    names = list(getattr(dataset.models, "names", []))
    has_source = source_name is not None and source_name in names
    total_signal = _npred_signal(dataset) if len(names) else np.zeros(counts.shape)
    source = _npred_signal(dataset, source_name) if has_source else np.zeros(counts.shape)
    source = flat(source)
    other = flat(total_signal) - source
    counts_off = alpha = None
    if stat_type == "cash":
        background = getattr(dataset, "npred_background", None)
        if background is not None:
            other = other + flat(_data(background()))
    elif stat_type == "wstat":
        counts_off = flat(_data(dataset.counts_off))
        alpha = flat(_data(dataset.alpha))
    return DatasetArrays(
        name=dataset.name,
        stat_type=stat_type,
        energy_axis=axis,
        counts=counts,
        npred_source=source,
        npred_other=other,
        mask=mask,
        mask_safe=mask_safe,
        mask_fit=mask_fit,
        counts_off=counts_off,
        alpha=alpha,
    )


def _mask_or_all(mask, shape, flat):
    """A mask as a flat bool array; None (a map dataset without masks) means all bins."""
    if mask is None:
        return np.ones(shape, dtype=bool)
    return flat(_data(mask), bool)


def snap_energy_edges(axis, energy_edges):
    """Snap requested group edges to an axis' bin edges, each group on its own (Gammapy).

    Every pair ``[energy_edges[i], energy_edges[i + 1]]`` is rounded to the nearest
    bin edges of ``axis`` (``MapAxis.group_table``, clipped to the axis); a group
    whose two edges fall on the same axis edge has no bins.

    Returns
    -------
    idx_min, idx_max : int arrays (n_groups,)
        First and last axis bin of each group (inclusive).
    contributes : bool array (n_groups,)
        Whether the group has any bin of this axis.
    """
    pix = np.clip(axis.coord_to_pix(energy_edges), -0.5, axis.nbin - 0.5)
    snapped = np.round(pix + 0.5) - 0.5
    lo, hi = snapped[:-1], snapped[1:]
    contributes = hi > lo
    idx_min = np.round(lo + 0.5).astype(int)
    idx_max = np.round(hi - 0.5).astype(int)
    return idx_min, idx_max, contributes


def add_group(
    problem: NormProblem,
    group,
    dataset_index: int,
    arrays: DatasetArrays,
    rows: slice,
    sum_over_energy_groups: bool = False,
) -> bool:
    """Add the channels ``rows`` (energy bins) of one dataset to group ``group``.

    ``group`` is one group number for all the channels, or an int array
    ``(n_pixels,)`` giving each pixel's group (e.g. a flux profile's arrays, whose
    "pixels" are the regions: one group per region and energy group). With
    ``sum_over_energy_groups`` the bins are first summed (inside ``mask_safe``)
    into one bin per pixel, as Gammapy's ``to_image``. Returns whether any channel
    enters the statistic.
    """
    counts = arrays.counts[rows]
    s = arrays.npred_source[rows]
    b = arrays.npred_other[rows]
    off = None if arrays.counts_off is None else arrays.counts_off[rows]
    alpha = None if arrays.alpha is None else arrays.alpha[rows]
    if sum_over_energy_groups:
        safe = arrays.mask_safe[rows]
        weights = safe.astype(float)
        counts = (counts * weights).sum(axis=0)
        s = (s * weights).sum(axis=0)
        b = (b * weights).sum(axis=0)
        if off is not None:
            alpha = _mean_alpha(alpha, off, weights, axis=0)[0]
            off = (off * weights).sum(axis=0)
        fit = arrays.mask_fit[rows] if arrays.mask_fit is not None else np.ones(safe.shape, bool)
        mask = safe.any(axis=0) & fit.any(axis=0)
    else:
        mask = arrays.mask[rows]
    if off is not None:
        mask = mask & (alpha > 0)
    if not np.any(mask):
        return False
    if np.ndim(group) == 0:
        groups = np.full(int(mask.sum()), group)
    else:
        groups = np.broadcast_to(np.asarray(group, dtype=np.int64), mask.shape)[mask]
    if arrays.stat_type == "wstat":
        problem.add_wstat(
            groups, counts[mask], off[mask], alpha[mask], s[mask], b[mask], dataset_index
        )
    else:
        problem.add_cash(groups, counts[mask], s[mask], b[mask], dataset_index)
    return True


# ------------------------------------------------------------- flux estimator
class FluxEstimator(Estimator):
    """Base of the flux estimators: fits the norm of one source per group of bins.

    Parameters
    ----------
    source : str or int
        The source (model name or index in ``datasets.models``) whose flux is estimated.
    n_sigma : float
        Width of the errors ``norm_errn``/``norm_errp`` (and factor of ``norm_err``).
    n_sigma_ul : float
        Confidence of the upper limits, in sigma.
    n_sigma_sensitivity : float
        Kept for Gammapy compatibility (sets the default scan width); no sensitivity
        is computed.
    selection_optional : list of str or "all", optional
        Extra quantities: "errn-errp", "ul", "scan" ("all": every one).
    fit : `~fluxfit.fit.Fit`, optional
        Fit used by the general path (``reoptimize=True``); default ``Fit()``.
    reoptimize : bool
        Refit the other free parameters in every group together with the norm
        (the source's other parameters stay frozen). False: everything but the norm
        is fixed (the fast path).
    norm : `~fluxfit.models.Parameter`, dict or `NormParameter`, optional
        The fitted norm: start value, bounds, scan values (see `NormParameter`).
    norm_min, norm_max, norm_n_values, norm_values : optional
        Older spellings of ``norm={"scan_min": ..., "scan_max": ..., "scan_n_values":
        ..., "scan_values": ...}``.
    """

    tag = "FluxEstimator"
    _available_selection_optional = SELECTION_OPTIONAL

    def __init__(
        self,
        source=0,
        n_sigma: float = 1,
        n_sigma_ul: float = 2,
        n_sigma_sensitivity: float = 5,
        selection_optional=None,
        fit=None,
        reoptimize: bool = False,
        norm=None,
        norm_min=None,
        norm_max=None,
        norm_n_values=None,
        norm_values=None,
    ):
        if not isinstance(source, str | int | np.integer):
            raise EstimatorError(f"source must be a model name or index, got {source!r}")
        self.source = source
        for label, value in (("n_sigma", n_sigma), ("n_sigma_ul", n_sigma_ul)):
            if not (np.isfinite(value) and value > 0):
                raise EstimatorError(f"{label} must be positive, got {value!r}")
        self.n_sigma = n_sigma
        self.n_sigma_ul = n_sigma_ul
        self.n_sigma_sensitivity = n_sigma_sensitivity
        self.selection_optional = selection_optional
        self.fit = fit
        self.reoptimize = bool(reoptimize)
        scan_n_sigma = max(n_sigma_ul, n_sigma_sensitivity) + 1
        self.norm = NormParameter.create(norm, scan_n_sigma=scan_n_sigma)
        legacy = {
            "scan_min": norm_min,
            "scan_max": norm_max,
            "scan_n_values": norm_n_values,
            "scan_values": norm_values,
        }
        for key, value in legacy.items():
            if value is not None:
                setattr(self.norm, key, value if key != "scan_n_values" else int(value))

    # Gammapy's older attribute names
    @property
    def norm_min(self):
        return self.norm.scan_min

    @property
    def norm_max(self):
        return self.norm.scan_max

    @property
    def norm_n_values(self):
        return self.norm.scan_n_values

    @property
    def norm_values(self):
        return self.norm._scan_values

    # ------------------------------------------------------------ helpers
    @staticmethod
    def _as_datasets(datasets):
        from fluxfit.datasets import Dataset, Datasets

        if isinstance(datasets, Datasets):
            return datasets
        if isinstance(datasets, Dataset):
            return Datasets([datasets])
        return Datasets(list(datasets))

    def source_model(self, datasets):
        """The source's model in ``datasets.models``."""
        models = datasets.models
        try:
            return models[self.source]
        except (IndexError, KeyError, FluxfitError) as exc:
            raise EstimatorError(
                f"{type(self).__name__}: source {self.source!r} is not among the models "
                f"{models.names}"
            ) from exc

    def _needs_general_path(self, datasets, arrays) -> bool:
        """Whether the groups must be fitted with `~fluxfit.fit.Fit`."""
        if any(a.stat_type not in FAST_STAT_TYPES for a in arrays):
            return True
        if not self.reoptimize:
            return False
        source = self.source_model(datasets)
        for model in datasets.models:
            if model is source:
                continue
            if any(p.is_free for p in model.parameters):
                return True
        log.info("reoptimize=True: no other free parameter; the norm alone is fitted")
        return False

    # ------------------------------------------------------------- solving
    def solve(self, problem: NormProblem) -> dict:
        """Best fit, TS, errors, upper limits and scans of every group of ``problem``.

        Returns
        -------
        dict
            Arrays over the groups: ``norm``, ``norm_err``, ``ts``, ``stat``,
            ``stat_null``, ``success``, ``message`` (why a group failed, or a note such
            as the norm on its bound; "" otherwise); ``norm_errn``, ``norm_errp`` ("errn-errp"),
            ``norm_ul`` ("ul"), ``stat_scan`` (n_groups, n_scan) and ``norm_scan``
            ("scan"); ``npred``, ``npred_excess``, ``counts`` (n_groups, n_datasets).
        """
        norm = self.norm
        lower = None if np.isnan(norm.min) else norm.min
        upper = None if np.isnan(norm.max) else norm.max
        best = minimize_norm(problem, x0=norm.value, lower=lower, upper=upper)
        success = best.success
        x = best.x
        null = np.zeros(problem.n_groups)
        stat_null = problem.value(null)
        out = {
            "norm": x,
            "norm_err": self.n_sigma * best.error,
            "ts": stat_null - best.f,
            "stat": best.f,
            "stat_null": stat_null,
            "success": success,
            "message": np.asarray(best.message, dtype=str),
        }
        nan = ~problem.has_channels
        out["stat_null"] = np.where(nan, np.nan, stat_null)
        searches = []  # (name, delta, direction, limit)
        if "errn-errp" in self.selection_optional:
            searches += [
                ("errp", self.n_sigma**2, 1.0, upper),
                ("errn", self.n_sigma**2, -1.0, lower),
            ]
        if "ul" in self.selection_optional:
            searches.append(("ul", self.n_sigma_ul**2, 1.0, upper))
        if searches:
            roots = find_norm_crossings(
                problem,
                best,
                [s[1] for s in searches],
                [s[2] for s in searches],
                [np.nan if s[3] is None else s[3] for s in searches],
            )
            found = {s[0]: roots[:, i] for i, s in enumerate(searches)}
            if "errp" in found:
                out["norm_errp"] = found["errp"] - x
                out["norm_errn"] = x - found["errn"]
            if "ul" in found:
                out["norm_ul"] = found["ul"]
        if "scan" in self.selection_optional:
            values = norm.scan_values
            grid = np.broadcast_to(values, (problem.n_groups, values.size))
            scan = problem.value(np.ascontiguousarray(grid))
            scan[nan] = np.nan
            out["stat_scan"] = scan
            out["norm_scan"] = values
        xs = np.where(success, x, 0.0)
        out["counts"] = problem.per_dataset(xs, "counts")
        npred = problem.per_dataset(xs, "npred")
        excess = problem.per_dataset(xs, "npred_excess")
        npred[~success] = np.nan
        excess[~success] = np.nan
        out["npred"] = npred
        out["npred_excess"] = excess
        return out

    # -------------------------------------------------------- general path
    def estimate_group_fit(self, datasets, group_datasets, source_name: str) -> dict:
        """One group by the general path: the norm (and, with ``reoptimize``, the other
        free parameters) fitted with `~fluxfit.fit.Fit` on ``group_datasets``.

        ``group_datasets`` are copies of the datasets restricted to the group (their
        ``mask_fit``), carrying no models yet; ``datasets`` the originals (models).
        """
        from fluxfit.datasets import Datasets
        from fluxfit.fit import Fit

        n_datasets = len(datasets)
        names = list(datasets.names)
        result = _nan_group(self, n_datasets)
        contributing = [d for d in group_datasets if d is not None]
        if not contributing:
            return result
        result["message"] = ""
        models = datasets.models.copy()
        source = models[source_name]
        source.freeze()
        if not self.reoptimize:
            for model in models:
                model.freeze()
        norm = self.norm.to_parameter()
        scaled = ScaleSpectralModel(source.spectral_model, norm=norm)
        source.spectral_model = scaled
        group = Datasets(contributing)
        group.models = models
        fit = self.fit if self.fit is not None else Fit()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                fit_result = fit.run(group)
            except FitError as exc:
                log.warning("group fit failed: %s", exc)
                result["message"] = f"{type(exc).__name__}: {exc}"
                return result
            value = norm.value
            success = bool(fit_result.optimize_result.success)
            result.update(
                norm=value,
                norm_err=self.n_sigma * norm.error,
                stat=fit_result.total_stat,
                success=success,
                message=_group_message(success, fit_result),
            )
            best_values = {p: p.value for p in group.models.parameters}

            def restore():
                for p, v in best_values.items():
                    if not p.is_linked:
                        p._value = v

            others_free = any(
                p.is_free for p in group.models.parameters.free_parameters if p is not norm
            )
            norm.frozen = True
            norm.value = 0.0
            stat_null = group.stat_sum()
            if self.reoptimize and others_free:
                try:
                    stat_null = fit.optimize(group).total_stat
                except FitError as exc:
                    note = (
                        f"null-hypothesis refit failed ({exc}): ts uses the other "
                        "parameters at their best fit"
                    )
                    result["message"] = "; ".join(m for m in (result["message"], note) if m)
            norm.frozen = False
            restore()
            result["stat_null"] = stat_null
            result["ts"] = stat_null - result["stat"]
            reopt = self.reoptimize and others_free
            if "errn-errp" in self.selection_optional:
                conf = fit.confidence(group, norm, sigma=self.n_sigma, reoptimize=reopt)
                restore()
                result["norm_errp"] = conf["errp"]
                result["norm_errn"] = conf["errn"]
            if "ul" in self.selection_optional:
                conf = fit.confidence(group, norm, sigma=self.n_sigma_ul, reoptimize=reopt)
                restore()
                result["norm_ul"] = value + conf["errp"]
            if "scan" in self.selection_optional:
                values = self.norm.scan_values
                profile = fit.stat_profile(group, norm, values=values, reoptimize=reopt)
                restore()
                result["stat_scan"] = np.asarray(profile["stat_scan"], dtype=float)
                result["norm_scan"] = values
        npred = np.zeros(n_datasets)
        excess = np.zeros(n_datasets)
        counts = np.zeros(n_datasets)
        for dataset in contributing:
            i = names.index(dataset.name)
            data = _data(dataset.counts)
            mask = dataset.mask
            mask = np.ones(data.shape, bool) if mask is None else _data(mask).astype(bool)
            counts[i] = data[mask].sum()
            npred[i] = _data(dataset.npred())[mask].sum()
            if source_name in dataset.models.names:
                excess[i] = _npred_signal(dataset, source_name)[mask].sum()
        result.update(npred=npred, npred_excess=excess, counts=counts)
        return result

    # ------------------------------------------------------------- results
    def flux_points(self, results: dict, axes, reference_model, gti=None):
        """Assemble solver results (arrays shaped like the axes, reversed) into FluxPoints."""
        from fluxfit.datasets.flux_points import FluxPoints

        keys = ["norm", "norm_err", "norm_errn", "norm_errp", "norm_ul", "ts"]
        keys += ["npred", "npred_excess", "stat", "stat_null", "stat_scan", "counts"]
        keys += ["success", "message", "norm_scan"]
        data = {k: results[k] for k in keys if k in results}
        meta = {
            "n_sigma": self.n_sigma,
            "n_sigma_ul": self.n_sigma_ul,
            "sed_type_init": "likelihood",
        }
        return FluxPoints(
            data,
            axes,
            reference_model=reference_model,
            sed_type="likelihood",
            meta=meta,
            gti=gti,
        )


def _group_message(success: bool, fit_result) -> str:
    """The ``message`` of a group fitted by the general path: the fit's message if the
    minimisation failed; otherwise only the notes worth keeping (a parameter on its bound,
    a failed covariance), "" for a plain success."""
    if not success:
        return str(fit_result.message)
    notes = [part.strip() for part in str(fit_result.message).split(";")[1:] if part.strip()]
    return "; ".join(notes)


def _nan_group(estimator: FluxEstimator, n_datasets: int) -> dict:
    """The result of a group no dataset contributes to (Gammapy's ``_nan_result``)."""
    out = {
        "norm": np.nan,
        "norm_err": np.nan,
        "ts": np.nan,
        "stat": np.nan,
        "stat_null": np.nan,
        "success": False,
        "message": "no dataset has a fitted channel in this group",
        "counts": np.zeros(n_datasets),
        "npred": np.full(n_datasets, np.nan),
        "npred_excess": np.full(n_datasets, np.nan),
    }
    if "errn-errp" in estimator.selection_optional:
        out["norm_errn"] = np.nan
        out["norm_errp"] = np.nan
    if "ul" in estimator.selection_optional:
        out["norm_ul"] = np.nan
    if "scan" in estimator.selection_optional:
        values = estimator.norm.scan_values
        out["norm_scan"] = values
        out["stat_scan"] = np.full(values.size, np.nan)
    return out


def reshape_group_results(results: dict, shape: tuple) -> dict:
    """Solver arrays over the groups ``(n_groups, ...)`` as ``shape + (...)``.

    For estimators with groups over several axes (a flux profile's regions x energy
    groups, a light curve's time bins x energy groups), numbered in C order of ``shape``.
    ``norm_scan`` (the scan values, shared) is kept as it is.
    """
    out = {}
    for key, value in results.items():
        if key == "norm_scan":
            out[key] = value
            continue
        value = np.asarray(value)
        out[key] = value.reshape(tuple(shape) + value.shape[1:])
    return out


def stack_group_results(rows: list[dict]) -> dict:
    """Per-group result dicts (general path) into arrays over the groups."""
    out = {}
    for key in rows[0]:
        if key == "norm_scan":
            out[key] = np.asarray(rows[0][key], dtype=float)
            continue
        out[key] = np.array([row[key] for row in rows])
    return out
