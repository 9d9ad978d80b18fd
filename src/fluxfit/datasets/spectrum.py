"""1-D spectral datasets: counts per channel, a response, and a statistic.

`SpectrumDataset` holds counts per reconstructed-energy channel, the exposure
(effective area x livetime, cm2 s) per true-energy bin and the energy
dispersion (probabilities from true bins to channels), plus an optional known
background (Cash statistic). `SpectrumDatasetOnOff` adds an OFF measurement
(W-statistic) or a Gaussian background estimate (PG-statistic).

The likelihood is cheap to call: the true-energy quadrature, the product
exposure x dispersion restricted to the fitted channels, the masked data and
the data-only terms of the statistic are computed once (and again only when a
mask or the data change). One evaluation is: model flux at the quadrature
nodes, one multiply-and-sum per bin, one matrix product, one statistic call;
a batch of k parameter sets costs the same number of numpy calls.

Examples
--------
>>> import numpy as np, astropy.units as u
>>> from fluxfit.irf import EnergyDispersionMatrix
>>> from fluxfit.datasets import SpectrumDataset
>>> edges = np.geomspace(1, 100, 11) * u.TeV
>>> edisp = EnergyDispersionMatrix(edges, edges, np.eye(10))
>>> dataset = SpectrumDataset(counts=np.ones(10), exposure=np.full(10, 1e12), edisp=edisp,
...                           name="toy")
>>> dataset.counts.sum()
10.0
"""

from __future__ import annotations

import logging

import astropy.units as u
import numpy as np

from fluxfit._jit import jit_enabled
from fluxfit.datasets.core import KERNEL_MAX_BATCH, Dataset, batch_size
from fluxfit.errors import DatasetError, UnitError
from fluxfit.irf.folding import FoldingMatrix
from fluxfit.irf.response import EnergyDispersionMatrix
from fluxfit.maps import MapAxis
from fluxfit.models.spectral.integrate import LogQuadrature, SimpsonQuadrature
from fluxfit.stats import cash, cash_sum

__all__ = ["SpectrumDataset", "INTEGRATION_METHODS", "parse_energy_ranges"]

log = logging.getLogger(__name__)

INTEGRATION_METHODS = ("exact", "simpson")


def _as_array(values, name: str, owner: str, size: int, unit=None, allow_none=False):
    """Float64 1-D array of ``size`` (Quantities converted to ``unit``)."""
    if values is None:
        if allow_none:
            return None
        raise DatasetError(f"{owner}: {name} is required")
    if isinstance(values, u.Quantity):
        if unit is None:
            values = values.to_value(u.dimensionless_unscaled)
        else:
            try:
                values = values.to_value(unit)
            except u.UnitConversionError:
                raise UnitError(
                    f"{owner}: {name} has unit {values.unit}, expected {unit}"
                ) from None
    array = np.array(values, dtype=np.float64)
    if array.ndim == 0:
        array = np.full(size, float(array))
    if array.shape != (size,):
        raise DatasetError(f"{owner}: {name} has shape {array.shape}, expected ({size},)")
    bad = ~np.isfinite(array)
    if np.any(bad):
        i = int(np.argmax(bad))
        raise DatasetError(f"{owner}: {name}[{i}] = {array[i]} is not finite")
    return array


def _as_mask(mask, name: str, owner: str, size: int):
    if mask is None:
        return None
    array = np.asarray(mask)
    if array.shape != (size,):
        raise DatasetError(f"{owner}: {name} has shape {array.shape}, expected ({size},)")
    return array.astype(bool)


class _FitCache:
    """What the statistic needs, computed once per data/mask state."""

    __slots__ = ("closed_form", "counts", "extra", "fold", "full", "index", "kernel", "quad")


class SpectrumDataset(Dataset):
    """Counts per channel with a response; Cash statistic with a known background.

    Parameters
    ----------
    counts : array (n_chan,), optional
        Counts per reconstructed-energy channel (zeros if None, e.g. to simulate).
    exposure : array or Quantity (n_true,)
        Effective area x livetime per true-energy bin, cm2 s.
    edisp : `~fluxfit.irf.EnergyDispersionMatrix`
        Probabilities from true-energy bins to channels (rows sum to at most 1);
        its edges define `energy_axis_true` and `energy_axis`.
    background : array (n_chan,), optional
        Known background counts per channel, added to the prediction.
    mask_safe, mask_fit : array of bool (n_chan,), optional
        Channels usable at all / channels to fit; both default to all.
    name : str
        Unique name.
    livetime : float or Quantity, optional
        Livetime in s (for information, rates and stacking).
    gti : `~fluxfit.datasets.GoodTimeIntervals`, optional
        Good time intervals.
    meta : dict, optional
        Free-form metadata (instrument, file names...).
    integration : {"exact", "simpson"}
        How model spectra are integrated over true-energy bins: "exact"
        (closed forms where they exist, else Gauss-Legendre quadrature accurate
        to <1e-6) or "simpson" (3ML's rule with the bin edges and midpoint, to
        reproduce 3ML's numbers; about 1e-3 from exact for typical bins).
    """

    tag = "SpectrumDataset"
    stat_type = "cash"

    def __init__(
        self,
        counts=None,
        exposure=None,
        edisp: EnergyDispersionMatrix | None = None,
        background=None,
        mask_safe=None,
        mask_fit=None,
        name: str = "dataset",
        livetime=None,
        gti=None,
        meta=None,
        integration: str = "exact",
    ):
        super().__init__(name)
        if not isinstance(edisp, EnergyDispersionMatrix):
            raise DatasetError(
                f"{type(self).__name__} {name!r}: edisp must be an EnergyDispersionMatrix, "
                f"got {type(edisp).__name__}"
            )
        owner = f"{type(self).__name__} {name!r}"
        self._edisp = edisp
        n_true, n_chan = edisp.shape
        self._counts = (
            np.zeros(n_chan) if counts is None else _as_array(counts, "counts", owner, n_chan)
        )
        if np.any(self._counts < 0):
            i = int(np.argmax(self._counts < 0))
            raise DatasetError(f"{owner}: counts[{i}] = {self._counts[i]} is negative")
        self._exposure = _as_array(exposure, "exposure", owner, n_true, unit=u.Unit("cm2 s"))
        if np.any(self._exposure < 0):
            raise DatasetError(f"{owner}: exposure has negative values")
        self._background = _as_array(background, "background", owner, n_chan, allow_none=True)
        self._mask_safe = _as_mask(mask_safe, "mask_safe", owner, n_chan)
        self._mask_fit = _as_mask(mask_fit, "mask_fit", owner, n_chan)
        if isinstance(livetime, u.Quantity):
            livetime = livetime.to_value(u.s)
        self.livetime = None if livetime is None else float(livetime)
        self.gti = gti
        self.meta = dict(meta or {})
        if integration not in INTEGRATION_METHODS:
            raise DatasetError(
                f"{owner}: integration={integration!r}; use one of {INTEGRATION_METHODS}"
            )
        self._integration = integration
        self._cache = None
        self._spectral_models: list = []

    # --------------------------------------------------------------- content
    @property
    def counts(self) -> np.ndarray:
        """Counts per channel (read-only view; set with ``dataset.counts = ...``)."""
        view = self._counts.view()
        view.flags.writeable = False
        return view

    @counts.setter
    def counts(self, values):
        owner = f"{type(self).__name__} {self.name!r}"
        self._counts = _as_array(values, "counts", owner, self._counts.size)
        self._invalidate()

    @property
    def exposure(self) -> u.Quantity:
        """Exposure per true-energy bin (cm2 s)."""
        return u.Quantity(self._exposure, "cm2 s")

    @property
    def edisp(self) -> EnergyDispersionMatrix:
        return self._edisp

    @property
    def background(self) -> np.ndarray | None:
        """Known background counts per channel, or None."""
        return self._background

    @background.setter
    def background(self, values):
        owner = f"{type(self).__name__} {self.name!r}"
        self._background = _as_array(
            values, "background", owner, self._counts.size, allow_none=True
        )
        self._invalidate()

    @property
    def mask_safe(self) -> np.ndarray:
        """Channels usable at all (all True if unset)."""
        if self._mask_safe is None:
            return np.ones(self._counts.size, dtype=bool)
        return self._mask_safe

    @mask_safe.setter
    def mask_safe(self, mask):
        self._mask_safe = _as_mask(mask, "mask_safe", self.name, self._counts.size)
        self._invalidate()

    @property
    def mask_fit(self) -> np.ndarray | None:
        """Channels to fit (None: all safe channels)."""
        return self._mask_fit

    @mask_fit.setter
    def mask_fit(self, mask):
        self._mask_fit = _as_mask(mask, "mask_fit", self.name, self._counts.size)
        self._invalidate()

    @property
    def mask(self) -> np.ndarray:
        """Channels entering the statistic: ``mask_safe & mask_fit``."""
        mask = self.mask_safe
        if self._mask_fit is not None:
            mask = mask & self._mask_fit
        return mask

    @property
    def integration(self) -> str:
        return self._integration

    @integration.setter
    def integration(self, method: str):
        if method not in INTEGRATION_METHODS:
            raise DatasetError(f"integration={method!r}; use one of {INTEGRATION_METHODS}")
        self._integration = method
        self._invalidate()

    @property
    def energy_axis(self) -> MapAxis:
        """Reconstructed-energy axis (channel edges)."""
        return MapAxis.from_energy_edges(self._edisp.energy_edges, name="energy")

    @property
    def energy_axis_true(self) -> MapAxis:
        """True-energy axis."""
        return MapAxis.from_energy_edges(self._edisp.energy_true_edges, name="energy_true")

    @property
    def n_channels(self) -> int:
        return self._counts.size

    # ------------------------------------------------------------------ cache
    def _invalidate(self) -> None:
        self._cache = None

    def _on_models_changed(self) -> None:
        self._spectral_models = [
            m.spectral_model for m in self.models if hasattr(m, "spatial_model")
        ]
        self._cache = None

    def _prepare(self) -> _FitCache:
        cache = _FitCache()
        edges = self._edisp.energy_true_edges_tev
        lo, hi = edges[:-1], edges[1:]
        if self._integration == "simpson":
            cache.quad = SimpsonQuadrature(lo, hi)
            cache.closed_form = False
        else:
            # narrow bins need few nodes: 4 Gauss-Legendre nodes per <= 0.05 decade
            cache.quad = LogQuadrature(lo, hi, order=4 if np.max(np.log10(hi / lo)) < 0.1 else 8)
            cache.closed_form = True
        index = np.flatnonzero(self.mask)
        cache.index = index
        response = self._edisp.folding_matrix.scale_rows(self._exposure)
        dense = response.to_dense() if response.storage == "dense" else response.to_csr()
        cache.fold = FoldingMatrix(dense[:, index])
        cache.full = response
        cache.counts = self._counts[index]
        cache.extra = self._prepare_stat(index)
        cache.kernel = None
        if jit_enabled():
            from fluxfit.datasets.kernels import SpectrumKernel  # imports numba: on first use

            cache.kernel = SpectrumKernel.build(self, cache, self._kernel_stat(cache))
        self._cache = cache
        return cache

    def _compiled_kernel(self):
        return (self._cache or self._prepare()).kernel

    def _kernel_stat(self, cache):
        """(kind, rows, gof) of the statistic for `SpectrumKernel`, or None if it has none."""
        if type(self)._stat_sum_fit is not SpectrumDataset._stat_sum_fit:
            return None  # a subclass with its own statistic
        background = np.zeros(cache.counts.size) if cache.extra is None else cache.extra
        return "cash", np.stack([cache.counts, background]), 0.0

    def _prepare_stat(self, index):
        """Per-dataset constants of the statistic (overridden by subclasses)."""
        return None if self._background is None else self._background[index]

    # ------------------------------------------------------------- prediction
    def _flux_true(self, overrides=None, models=None):
        """Integrated photon flux per true-energy bin (cm-2 s-1), shape (..., n_true)."""
        cache = self._cache or self._prepare()
        models = self._spectral_models if models is None else models
        quad = cache.quad
        total = None
        at_nodes = None
        for model in models:
            if cache.closed_form and model._has_closed_form("integral"):
                flux = model.integral_array(quad_lo(self), quad_hi(self), overrides)
                total = flux if total is None else total + flux
            else:
                dnde = model.dnde_array(quad.nodes, overrides)
                at_nodes = dnde if at_nodes is None else at_nodes + dnde
        if at_nodes is not None:
            flux = quad.integrate(at_nodes)
            total = flux if total is None else total + flux
        if total is None:
            return np.zeros(self._edisp.n_true)
        return total

    def npred_signal(self, model_name: str | None = None, overrides=None) -> np.ndarray:
        """Predicted source counts per channel (all models, or the one named)."""
        models = None
        if model_name is not None:
            models = [self.models[model_name].spectral_model]
        flux = self._flux_true(overrides, models)
        cache = self._cache or self._prepare()
        return cache.full.fold(flux)

    def npred_background(self) -> np.ndarray:
        """Background counts per channel (zeros if there is none)."""
        if self._background is None:
            return np.zeros(self._counts.size)
        return self._background

    def npred(self) -> np.ndarray:
        """Total predicted counts per channel."""
        return self.npred_signal() + self.npred_background()

    def _npred_signal_fit(self, overrides=None):
        cache = self._cache or self._prepare()
        return cache.fold.fold(self._flux_true(overrides))

    # -------------------------------------------------------------- statistic
    def stat_sum(self) -> float:
        cache = self._cache or self._prepare()
        if cache.kernel is not None:
            return cache.kernel.single()
        return float(self._stat_sum_fit(cache, self._npred_signal_fit()))

    def stat_sum_batch(self, overrides) -> np.ndarray:
        cache = self._cache or self._prepare()
        if cache.kernel is not None and batch_size(overrides) <= KERNEL_MAX_BATCH:
            return cache.kernel(overrides)
        return np.asarray(self._stat_sum_fit(cache, self._npred_signal_fit(overrides)))

    def _stat_sum_fit(self, cache, mu_sig):
        mu = mu_sig if cache.extra is None else mu_sig + cache.extra
        return cash_sum(cache.counts, mu, check=False)

    def stat_array(self) -> np.ndarray:
        """Statistic per channel (all channels, masked ones included)."""
        return cash(self._counts, self.npred(), check=False)

    def residuals(self, method: str = "diff") -> np.ndarray:
        """Counts minus prediction per channel: "diff", "diff/model" or "diff/sqrt(model)"."""
        npred = self.npred()
        diff = self._counts - npred
        with np.errstate(divide="ignore", invalid="ignore"):
            if method == "diff":
                return diff
            if method == "diff/model":
                return diff / npred
            if method == "diff/sqrt(model)":
                return diff / np.sqrt(npred)
        raise DatasetError(f"residuals: unknown method {method!r}")

    # ---------------------------------------------------------- information
    def info_dict(self) -> dict:
        """Summary numbers (counts, excess, background, npred, livetime...) in the safe mask."""
        mask = self.mask_safe
        counts = float(self._counts[mask].sum())
        background = float(self.npred_background()[mask].sum())
        info = {
            "name": self.name,
            "counts": counts,
            "excess": counts - background,
            "background": background,
            "sqrt_ts": _sqrt_ts_cash(counts, background),
            "npred": float(self.npred()[mask].sum()) if len(self.models) else np.nan,
            "npred_signal": float(self.npred_signal()[mask].sum()) if len(self.models) else np.nan,
            "exposure_min": float(self._exposure.min()),
            "exposure_max": float(self._exposure.max()),
            "livetime": self.livetime if self.livetime is not None else np.nan,
            "n_bins": int(self._counts.size),
            "n_fit_bins": int(self.mask.sum()),
            "stat_type": self.stat_type,
            "stat_sum": self.stat_sum() if len(self.models) else np.nan,
        }
        if self.livetime:
            info["counts_rate"] = counts / self.livetime
            info["background_rate"] = background / self.livetime
            info["excess_rate"] = info["excess"] / self.livetime
        return info

    def info_table(self):
        """`info_dict` as a one-row astropy Table."""
        from astropy.table import Table

        info = self.info_dict()
        return Table([{k: v for k, v in info.items()}])

    def __str__(self) -> str:
        info = self.info_dict()
        lines = [type(self).__name__, "-" * len(type(self).__name__), ""]
        for key, value in info.items():
            lines.append(
                f"  {key:<16}: {value:.6g}" if isinstance(value, float) else f"  {key:<16}: {value}"
            )
        lines.append(f"  {'models':<16}: {self.models.names}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        return f"<b>{type(self).__name__}: {self.name}</b>" + self.info_table()._repr_html_()

    # ----------------------------------------------------- channel selection
    def set_active_measurements(self, *ranges, exclude=None) -> None:
        """Select the channels to fit, 3ML-style, by setting `mask_fit`.

        Parameters
        ----------
        *ranges : str
            Energy ranges in keV, e.g. ``"10-30", "40-900"``; ``"c10-c30"`` selects
            channel indices (0-based, inclusive); ``"*"`` or ``"*-30"`` open ends.
            A channel is kept when it overlaps a range (channels containing a
            boundary are kept, as in 3ML).
        exclude : list of str, optional
            Ranges to remove afterwards, same syntax.
        """
        edges_kev = self._edisp.energy_edges.to_value(u.keV)
        mask = np.zeros(self._counts.size, dtype=bool)
        for selector in ranges:
            mask |= _range_mask(selector, edges_kev)
        for selector in exclude or []:
            mask &= ~_range_mask(selector, edges_kev)
        if not mask.any():
            raise DatasetError(f"{self.name}: the ranges {ranges} select no channel")
        self.mask_fit = mask

    # --------------------------------------------------------------- slicing
    def slice_by_idx(self, start: int, stop: int, name: str | None = None) -> SpectrumDataset:
        """A dataset with channels ``start:stop`` (true-energy axis unchanged)."""
        sl = slice(start, stop)
        kwargs = self._init_kwargs()
        kwargs["edisp"] = self._edisp.slice_channels(sl)
        for key in ("counts", "background", "mask_safe", "mask_fit") + self._channel_keys():
            value = kwargs.get(key)
            if isinstance(value, np.ndarray) and value.shape == (self._counts.size,):
                kwargs[key] = value[sl]
        kwargs["name"] = name or self.name
        return type(self)(**kwargs)

    def slice_by_energy(self, energy_min=None, energy_max=None, name: str | None = None):
        """A dataset with the channels whose centres lie in [energy_min, energy_max)."""
        edges = self._edisp.energy_edges
        centers = np.sqrt(edges[:-1] * edges[1:])
        keep = np.ones(centers.size, dtype=bool)
        if energy_min is not None:
            keep &= centers >= u.Quantity(energy_min)
        if energy_max is not None:
            keep &= centers < u.Quantity(energy_max)
        idx = np.flatnonzero(keep)
        if idx.size == 0:
            raise DatasetError(f"{self.name}: no channel between {energy_min} and {energy_max}")
        return self.slice_by_idx(int(idx[0]), int(idx[-1]) + 1, name=name)

    def _channel_keys(self) -> tuple:
        return ()

    def _init_kwargs(self) -> dict:
        return {
            "counts": self._counts.copy(),
            "exposure": self._exposure.copy(),
            "edisp": self._edisp,
            "background": None if self._background is None else self._background.copy(),
            "mask_safe": None if self._mask_safe is None else self._mask_safe.copy(),
            "mask_fit": None if self._mask_fit is None else self._mask_fit.copy(),
            "name": self.name,
            "livetime": self.livetime,
            "gti": self.gti,
            "meta": dict(self.meta),
            "integration": self._integration,
        }

    def copy(self, name: str | None = None):
        """An independent copy (models are not copied, only re-assigned)."""
        kwargs = self._init_kwargs()
        kwargs["name"] = name or self.name
        new = type(self)(**kwargs)
        new.models = self.models
        return new

    # ------------------------------------------------------------- simulation
    def fake(self, random_state=None) -> None:
        """Replace the counts by a Poisson realisation of `npred` (models + background)."""
        rng = _rng(random_state)
        self.counts = rng.poisson(self.npred()).astype(float)

    # --------------------------------------------------------------- grouping
    def group(self, groups, name: str | None = None):
        """A dataset whose channels are groups of consecutive channels of this one.

        Parameters
        ----------
        groups : array of int (n_chan,)
            Group label of each channel; channels with the same label must be
            consecutive. Counts (and OFF counts, background) are summed, the
            dispersion columns are summed, a group is safe only if all its channels
            are safe, and in the fit if any of its channels is.
        name : str, optional
            Name of the new dataset.
        """
        groups = np.asarray(groups)
        if groups.shape != (self.n_channels,):
            raise DatasetError(
                f"{self.name}: groups has shape {groups.shape}, expected ({self.n_channels},)"
            )
        starts = np.flatnonzero(np.r_[True, groups[1:] != groups[:-1]])
        if np.unique(groups).size != starts.size:
            raise DatasetError(f"{self.name}: channels of a group must be consecutive")
        return self._regroup(starts, name)

    def group_by_edges(self, energy_edges, name: str | None = None):
        """Group channels into coarser energy bins, edges snapped to channel edges."""
        table = self.energy_axis.group_table(u.Quantity(energy_edges))
        labels = np.full(self.n_channels, -1)
        for row in table:
            labels[int(row["idx_min"]) : int(row["idx_max"]) + 1] = int(row["group_idx"])
        return self.group(labels, name=name)

    def group_by_counts(self, min_counts: float, name: str | None = None, use_off: bool = False):
        """Group consecutive channels until each group has at least ``min_counts``.

        Uses the ON counts (or the OFF counts with ``use_off=True``, as 3ML's
        ``rebin_on_background``); a last group below the threshold joins the previous one.
        """
        values = self.counts_off if use_off else self._counts
        labels = np.zeros(self.n_channels, dtype=int)
        label, total = 0, 0.0
        for i, value in enumerate(values):
            labels[i] = label
            total += value
            if total >= min_counts:
                label, total = label + 1, 0.0
        if total < min_counts and label > 0:
            labels[labels == label] = label - 1
        return self.group(labels, name=name)

    def group_ogip(self, name: str | None = None):
        """Apply the OGIP GROUPING column read from the PHA file (1 starts a group)."""
        grouping = self.meta.get("grouping")
        if grouping is None:
            raise DatasetError(f"{self.name}: the file had no GROUPING column")
        return self.group(np.cumsum(np.asarray(grouping) == 1), name=name)

    def _regroup(self, starts, name):
        kwargs = self._init_kwargs()
        dense = self._edisp.to_dense()
        edges = self._edisp.energy_edges
        new_edges = u.Quantity(np.append(edges.value[starts], edges.value[-1]), edges.unit)
        kwargs["edisp"] = EnergyDispersionMatrix(
            self._edisp.energy_true_edges, new_edges, np.add.reduceat(dense, starts, axis=1)
        )
        for key in ("counts", "background", "counts_off") + self._summed_keys():
            value = kwargs.get(key)
            if isinstance(value, np.ndarray):
                kwargs[key] = np.add.reduceat(value, starts)
        kwargs["mask_safe"] = np.logical_and.reduceat(self.mask_safe, starts)
        if self._mask_fit is not None:
            kwargs["mask_fit"] = np.logical_or.reduceat(self._mask_fit, starts)
        self._regroup_extra(kwargs, starts)
        kwargs["name"] = name or self.name
        return type(self)(**kwargs)

    def _summed_keys(self) -> tuple:
        return ()

    def _regroup_extra(self, kwargs, starts) -> None:
        """Subclass hook: non-additive per-channel quantities."""

    # ---------------------------------------------------------------- stacking
    def _check_stackable(self, other) -> None:
        if type(other) is not type(self):
            raise DatasetError(
                f"cannot stack {type(other).__name__} {other.name!r} into {type(self).__name__}"
            )
        for label, mine, theirs in (
            ("true-energy", self._edisp.energy_true_edges_tev, other._edisp.energy_true_edges_tev),
            ("reconstructed-energy", self._edisp.energy_edges_tev, other._edisp.energy_edges_tev),
        ):
            if mine.shape != theirs.shape or not np.allclose(mine, theirs, rtol=1e-6, atol=0):
                raise DatasetError(
                    f"cannot stack {other.name!r} into {self.name!r}: {label} axes differ"
                )

    def _stacked_base(self, other) -> dict:
        """Counts, exposure, dispersion, masks, livetime and GTI of ``self + other``.

        As Gammapy stacks: counts (and a known background) are summed inside each
        dataset's safe mask; exposures are summed; the dispersion is the
        exposure-weighted mean of the dispersions with channels outside each
        safe mask removed, so that ``exposure x edisp`` is the sum of the masked
        responses; the safe mask is the union.
        """
        self._check_stackable(other)
        m1, m2 = self.mask_safe, other.mask_safe
        e1, e2 = self._exposure, other._exposure
        weighted = self._edisp.to_dense() * e1[:, None] * m1[None, :]
        weighted = weighted + other._edisp.to_dense() * e2[:, None] * m2[None, :]
        exposure = e1 * (m1.any()) + e2 * (m2.any())
        with np.errstate(divide="ignore", invalid="ignore"):
            matrix = np.where(exposure[:, None] > 0, weighted / exposure[:, None], 0.0)
        edisp = EnergyDispersionMatrix(
            self._edisp.energy_true_edges, self._edisp.energy_edges, matrix
        )
        background = None
        if self._background is not None or other._background is not None:
            background = self.npred_background() * m1 + other.npred_background() * m2
        livetime = None
        if self.livetime is not None or other.livetime is not None:
            livetime = (self.livetime or 0.0) + (other.livetime or 0.0)
        return {
            "counts": self._counts * m1 + other._counts * m2,
            "exposure": exposure,
            "edisp": edisp,
            "background": background,
            "mask_safe": m1 | m2,
            "mask_fit": None,
            "livetime": livetime,
            "gti": _stack_gti(self.gti, other.gti),
            "meta": dict(self.meta),
            "integration": self._integration,
        }

    def stack(self, other, name: str | None = None):
        """A new dataset: ``self`` and ``other`` stacked (see `_stacked_base`)."""
        kwargs = self._stacked_base(other)
        return type(self)(name=name or self.name, **kwargs)

    @classmethod
    def create(cls, energy_edges, energy_true_edges, name: str = "dataset", **kwargs):
        """An empty dataset (zero counts, zero exposure, diagonal-free dispersion).

        ``edisp`` defaults to the ideal dispersion when the two axes coincide and
        to a matrix mapping each true bin to the channel containing its centre otherwise.
        """
        energy_edges = u.Quantity(energy_edges)
        energy_true_edges = u.Quantity(energy_true_edges)
        edisp = kwargs.pop("edisp", None)
        if edisp is None:
            edisp = EnergyDispersionMatrix(
                energy_true_edges, energy_edges, _nearest_matrix(energy_true_edges, energy_edges)
            )
        exposure = kwargs.pop("exposure", np.zeros(energy_true_edges.size - 1))
        return cls(exposure=exposure, edisp=edisp, name=name, **kwargs)


# ------------------------------------------------------------------ helpers
def quad_lo(dataset: SpectrumDataset) -> np.ndarray:
    return dataset._edisp.energy_true_edges_tev[:-1]


def quad_hi(dataset: SpectrumDataset) -> np.ndarray:
    return dataset._edisp.energy_true_edges_tev[1:]


def _stack_gti(gti1, gti2):
    """Union of two GTI tables (OGIP containers), or the one that exists."""
    if gti1 is None or gti2 is None:
        return gti1 if gti2 is None else gti2
    from fluxfit.datasets.ogip import GoodTimeIntervals

    start = np.concatenate([gti1.start, gti2.start])
    stop = np.concatenate([gti1.stop, gti2.stop])
    order = np.argsort(start)
    return GoodTimeIntervals(start=start[order], stop=stop[order], header=gti1.header)


def _rng(random_state):
    if isinstance(random_state, np.random.Generator):
        return random_state
    if isinstance(random_state, np.random.RandomState):
        return random_state
    return np.random.default_rng(random_state)


def _sqrt_ts_cash(counts: float, background: float) -> float:
    """Li & Ma-like significance of counts over a known background."""
    if background <= 0 or counts <= 0:
        return np.nan if background <= 0 else 0.0
    ts = 2 * (counts * np.log(counts / background) - (counts - background))
    return float(np.sign(counts - background) * np.sqrt(max(ts, 0.0)))


def _nearest_matrix(energy_true_edges, energy_edges) -> np.ndarray:
    true = energy_true_edges.to_value(u.TeV)
    reco = energy_edges.to_value(u.TeV)
    centers = np.sqrt(true[:-1] * true[1:])
    idx = np.searchsorted(reco, centers) - 1
    matrix = np.zeros((centers.size, reco.size - 1))
    ok = (idx >= 0) & (idx < reco.size - 1)
    matrix[np.flatnonzero(ok), idx[ok]] = 1.0
    return matrix


def parse_energy_ranges(selector: str):
    """Parse "10-30" / "c10-c30" / "*-30" into (low, high, is_channel)."""
    text = selector.replace(" ", "")
    if text == "*":
        return -np.inf, np.inf, False
    is_channel = text.startswith("c")
    body = text.replace("c", "") if is_channel else text
    parts = body.split("-")
    if len(parts) != 2:
        raise DatasetError(
            f"set_active_measurements: cannot parse range {selector!r}; use 'emin-emax'"
        )
    try:
        low = -np.inf if parts[0] in ("*", "") else float(parts[0])
        high = np.inf if parts[1] in ("*", "") else float(parts[1])
    except ValueError:
        raise DatasetError(f"set_active_measurements: cannot parse range {selector!r}") from None
    if high < low:
        raise DatasetError(f"set_active_measurements: range {selector!r} has max < min")
    return low, high, is_channel


def _range_mask(selector: str, edges_kev: np.ndarray) -> np.ndarray:
    low, high, is_channel = parse_energy_ranges(selector)
    n = edges_kev.size - 1
    if is_channel:
        idx = np.arange(n)
        return (idx >= low) & (idx <= high)
    # channels overlapping [low, high]: the ones containing a boundary are kept
    return (edges_kev[1:] > low) & (edges_kev[:-1] < high)
