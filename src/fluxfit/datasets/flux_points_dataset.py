"""`FluxPointsDataset`: flux points and a spectral model, compared with a Gaussian statistic.

The model is evaluated at the reference energies of the points (``energy_ref``:
the geometric bin centres for binned points) as dN/dE, and compared with the
measured ``dnde`` (Gammapy 2.1's `FluxPointsDataset`). Three statistics
(``stat_type``), all ``-2 ln L`` up to data-only constants:

``"chi2"`` (default, Gammapy's ``Chi2FitStatistic``)
    ``sum(((dnde - model) / dnde_err) ** 2)``; where there is no symmetric
    ``dnde_err`` the mean ``(dnde_errn + dnde_errp) / 2`` is used. **Upper limits
    are excluded**: only points with ``is_ul == False`` and a finite ``dnde``
    enter the sum (they are left out of ``mask_safe``, Gammapy's ``mask_valid``).
``"distrib"`` (Gammapy's ``Chi2AsymmetricErrorFitStatistic``)
    Points with a finite ``dnde`` (and not flagged ``is_ul``) contribute
    ``((model - dnde) / s) ** 2`` with ``s = dnde_errp`` where the model is at or
    above the point and ``dnde_errn`` below (``dnde_err`` where those are missing
    or NaN); **upper limits are included** through
    `fluxfit.stats.upper_limit_stat`, ``2 ln[erfc((ul - model)/ul) / erfc(ul/ul)]``
    with ``ul = dnde_ul`` (0 for a zero model, growing as the model exceeds the
    limit). Use this to let upper limits constrain a fit.
``"profile"`` (Gammapy's ``ProfileFitStatistic``)
    The likelihood profiles ``stat_scan - stat`` of each bin, interpolated in
    ``norm = model / dnde_ref`` (quadratic with ``interp_scale="sqrt"``, linear
    with ``"lin"``; extrapolated by default). Needs ``stat_scan``; includes bins
    with upper limits (their profiles are what the limits came from).

Everything that does not depend on the model parameters (the masked reference
energies in TeV, the data, errors, upper limits, profile interpolants) is
computed once per data/mask/statistic state; one evaluation is one
``dnde_array`` call per model and one vectorised statistic call, for a single
parameter set or for a batch of ``k`` (``stat_sum_batch``).

Not supported (Gammapy evaluates them): temporal models (the spectral model is
used as is) and the projection of `TemplateSpatialModel` cubes into a spectrum.

Examples
--------
>>> import astropy.units as u
>>> from fluxfit.maps import MapAxis
>>> from fluxfit.models import PowerLawSpectralModel, SkyModel
>>> from fluxfit.datasets.flux_points import FluxPoints
>>> from fluxfit.datasets.flux_points_dataset import FluxPointsDataset
>>> axis = MapAxis.from_energy_edges([1, 3, 10, 30] * u.TeV)
>>> fp = FluxPoints({"dnde": [2.0e-13, 6.0e-15, 1.8e-16], "dnde_err": [2e-14, 6e-16, 3e-17]}, axis)
>>> model = SkyModel(PowerLawSpectralModel(index=3), name="src")
>>> dataset = FluxPointsDataset(model, fp, name="fp")
>>> round(dataset.stat_sum(), 2)
0.34
"""

from __future__ import annotations

import uuid

import astropy.units as u
import numpy as np
from scipy.interpolate import interp1d

from fluxfit._files import check_fits_sizes, check_output
from fluxfit.datasets.core import Dataset
from fluxfit.datasets.flux_points import DEFAULT_UNIT, FluxPoints, QuantityNotAvailableError
from fluxfit.errors import DatasetError, MissingFileError
from fluxfit.stats import chi2, chi2_asymmetric, upper_limit_stat

__all__ = ["FluxPointsDataset", "STAT_TYPES"]

#: Statistics of `FluxPointsDataset` (see the module docstring).
STAT_TYPES = ("chi2", "distrib", "profile")

_DNDE_UNIT = DEFAULT_UNIT["dnde"]


def _make_name() -> str:
    return uuid.uuid4().hex[:8]


def _optional(fp: FluxPoints, name: str):
    """A dnde quantity as a float array, or None if the flux points do not have it."""
    try:
        return np.asarray(fp.get_quantity(name).to_value(_DNDE_UNIT), dtype=float)
    except (QuantityNotAvailableError, DatasetError):
        return None


class _StatCache:
    """Masked, flattened data of one data/mask/statistic state."""

    __slots__ = (
        "data",
        "dnde_ref",
        "energy",
        "err",
        "errn",
        "errp",
        "n",
        "point_index",
        "profiles",
        "sigma",
        "ul",
        "ul_index",
    )

    def __init__(self):
        for name in self.__slots__:
            setattr(self, name, None)


class FluxPointsDataset(Dataset):
    """Flux points fitted with a spectral model (Gaussian statistics).

    Parameters
    ----------
    models : `~fluxfit.models.Models`, `~fluxfit.models.SkyModel` or list, optional
        Models; their spectral parts are summed (background models are ignored).
    data : `~fluxfit.datasets.flux_points.FluxPoints`
        The flux points.
    mask_fit : array of bool, optional
        Points to fit (shape `FluxPoints.data_shape`; Gammapy's ``(n, 1, 1)`` masks
        are accepted).
    mask_safe : array of bool, optional
        Points usable at all; default all. Points without a valid value for the
        statistic (upper limits for "chi2"...) are always left out.
    name : str, optional
        Unique name (default: 8 random hex digits, as Gammapy).
    meta_table : `~astropy.table.Table`, optional
        Information on the observations behind the points.
    stat_type : {"chi2", "distrib", "profile"}
        The statistic (see the module docstring). "chi2" ignores upper limits,
        "distrib" includes them, "profile" uses the likelihood profiles.
    stat_kwargs : dict, optional
        For "profile": ``interp_scale`` ("sqrt", default, or "lin") and
        ``extrapolate`` (default True).

    Examples
    --------
    >>> from fluxfit.datasets.flux_points import FluxPoints
    >>> from fluxfit.datasets.flux_points_dataset import FluxPointsDataset
    >>> fp = FluxPoints.read("HAWC19_flux_points.fits")  # doctest: +SKIP
    >>> dataset = FluxPointsDataset(models, fp, name="HAWC")  # doctest: +SKIP
    """

    tag = "FluxPointsDataset"

    def __init__(
        self,
        models=None,
        data: FluxPoints | None = None,
        mask_fit=None,
        mask_safe=None,
        name: str | None = None,
        meta_table=None,
        stat_type: str = "chi2",
        stat_kwargs: dict | None = None,
    ):
        super().__init__(_make_name() if name is None else name)
        if not isinstance(data, FluxPoints):
            raise DatasetError(
                f"FluxPointsDataset {self.name!r}: data must be FluxPoints, got {type(data).__name__}"
            )
        self._data = data
        self._mask_fit = self._as_mask(mask_fit, "mask_fit")
        self._mask_safe = self._as_mask(mask_safe, "mask_safe")
        self.meta_table = meta_table
        self.stat_kwargs = dict(stat_kwargs or {})
        self._stat_type = None
        self._mask_valid = None
        self._cache = None
        self._spectral_models: list = []
        self.stat_type = stat_type
        self.models = models

    # ---------------------------------------------------------------- content
    @property
    def data(self) -> FluxPoints:
        return self._data

    @data.setter
    def data(self, data: FluxPoints):
        if not isinstance(data, FluxPoints):
            raise DatasetError(f"FluxPointsDataset {self.name!r}: data must be FluxPoints")
        self._data = data
        self._mask_fit = self._as_mask(self._mask_fit, "mask_fit")
        self._mask_safe = self._as_mask(self._mask_safe, "mask_safe")
        self._mask_valid = self._compute_mask_valid(self._stat_type)
        self._invalidate()

    @property
    def gti(self):
        return self._data.gti

    @property
    def data_shape(self) -> tuple:
        return self._data.data_shape

    def _as_mask(self, mask, label: str):
        if mask is None:
            return None
        array = np.asarray(mask, dtype=bool)
        shape = self._data.data_shape
        if array.shape != shape:
            if array.size != int(np.prod(shape)):
                raise DatasetError(
                    f"FluxPointsDataset {self.name!r}: {label} has shape {array.shape}, "
                    f"expected {shape}"
                )
            array = array.reshape(shape)
        return array

    # ----------------------------------------------------------------- masks
    @property
    def stat_type(self) -> str:
        return self._stat_type

    @stat_type.setter
    def stat_type(self, stat_type: str):
        if stat_type not in STAT_TYPES:
            raise DatasetError(
                f"FluxPointsDataset {self.name!r}: stat_type={stat_type!r}; use one of {STAT_TYPES}"
            )
        if stat_type == "profile":
            self.stat_kwargs.setdefault("interp_scale", "sqrt")
            self.stat_kwargs.setdefault("extrapolate", True)
            if self.stat_kwargs["interp_scale"] not in ("sqrt", "lin"):
                raise DatasetError(
                    f"FluxPointsDataset {self.name!r}: interp_scale="
                    f"{self.stat_kwargs['interp_scale']!r}; use 'sqrt' or 'lin'"
                )
        self._mask_valid = self._compute_mask_valid(stat_type)
        self._stat_type = stat_type
        self._invalidate()

    @property
    def available_stat_type(self) -> tuple:
        return STAT_TYPES

    def _compute_mask_valid(self, stat_type: str) -> np.ndarray:
        fp = self._data
        dnde = np.asarray(fp.dnde.to_value(_DNDE_UNIT))
        is_ul = np.asarray(fp.is_ul, dtype=bool)
        if stat_type == "chi2":
            return ~is_ul & np.isfinite(dnde)
        if stat_type == "distrib":
            ul = _optional(fp, "dnde_ul")
            ul_ok = is_ul & np.isfinite(ul) if ul is not None else np.zeros_like(is_ul)
            return ul_ok | (np.isfinite(dnde) & ~is_ul)
        if not fp.has_stat_profiles:
            raise DatasetError(
                f"FluxPointsDataset {self.name!r}: stat_type='profile' needs flux points with "
                "'stat_scan' (likelihood profiles)"
            )
        ts_scan = fp.ts_scan
        return np.all(np.isfinite(ts_scan), axis=-1)

    @property
    def mask_valid(self) -> np.ndarray:
        """Points that have what the statistic needs (e.g. no upper limit for "chi2")."""
        return self._mask_valid

    @property
    def mask_safe(self) -> np.ndarray:
        """User safe mask (default all) and `mask_valid`."""
        if self._mask_safe is None:
            return self._mask_valid.copy()
        return self._mask_safe & self._mask_valid

    @mask_safe.setter
    def mask_safe(self, mask):
        self._mask_safe = self._as_mask(mask, "mask_safe")
        self._invalidate()

    @property
    def mask_fit(self):
        return self._mask_fit

    @mask_fit.setter
    def mask_fit(self, mask):
        self._mask_fit = self._as_mask(mask, "mask_fit")
        self._invalidate()

    @property
    def mask(self) -> np.ndarray:
        """Points entering the statistic: ``mask_safe & mask_fit``."""
        mask = self.mask_safe
        if self._mask_fit is not None:
            mask = mask & self._mask_fit
        return mask

    # ------------------------------------------------------------------ cache
    def _invalidate(self) -> None:
        self._cache = None

    def _on_models_changed(self) -> None:
        self._spectral_models = [
            m.spectral_model for m in self.models if hasattr(m, "spatial_model")
        ]

    def _energy_tev(self) -> np.ndarray:
        """Reference energy of every point (TeV), broadcast to the data shape."""
        axis = self._data.energy_axis
        e_ref = axis.center.value * axis.unit.to(u.TeV)
        return np.broadcast_to(e_ref, self._data.data_shape)

    def _prepare(self) -> _StatCache:
        fp = self._data
        owner = f"FluxPointsDataset {self.name!r}"
        cache = _StatCache()
        index = np.flatnonzero(self.mask.ravel())
        cache.energy = self._energy_tev().ravel()[index]
        cache.n = index.size
        dnde = np.asarray(fp.dnde.to_value(_DNDE_UNIT)).ravel()[index]
        err = _optional(fp, "dnde_err")
        errn = _optional(fp, "dnde_errn")
        errp = _optional(fp, "dnde_errp")
        err, errn, errp = (None if a is None else a.ravel()[index] for a in (err, errn, errp))
        if self._stat_type == "chi2":
            if err is None:
                if errn is None or errp is None:
                    raise DatasetError(
                        f"{owner}: stat_type='chi2' needs 'dnde_err' or 'dnde_errn' and 'dnde_errp'"
                    )
                err = (errn + errp) / 2
            _check_errors(err, cache.energy, "dnde_err", owner)
            cache.data, cache.sigma = dnde, err
        elif self._stat_type == "distrib":
            is_ul = np.asarray(fp.is_ul, dtype=bool).ravel()[index]
            points = np.flatnonzero(~is_ul & np.isfinite(dnde))
            uls = np.flatnonzero(is_ul)
            cache.point_index, cache.ul_index = points, uls
            cache.data = dnde[points]
            if errn is not None and errp is not None:
                cache.errn, cache.errp = errn[points], errp[points]
                cache.err = None if err is None else err[points]
                _check_asymmetric(cache, owner)
            elif err is not None:
                cache.sigma = err[points]
                _check_errors(cache.sigma, cache.energy[points], "dnde_err", owner)
            else:
                raise DatasetError(
                    f"{owner}: stat_type='distrib' needs 'dnde_err' or 'dnde_errn' and 'dnde_errp'"
                )
            if uls.size:
                ul = _optional(fp, "dnde_ul").ravel()[index][uls]
                cache.ul = ul
                _check_errors(ul, cache.energy[uls], "dnde_ul", owner)
        else:
            ref = np.broadcast_to(np.asarray(fp.dnde_ref.to_value(_DNDE_UNIT)), fp.data_shape)
            cache.dnde_ref = ref.ravel()[index]
            ts_scan = fp.ts_scan
            n_scan = ts_scan.shape[-1]
            norm_scan = np.broadcast_to(fp.norm_scan, ts_scan.shape).reshape(-1, n_scan)[index]
            ts_scan = np.abs(ts_scan).reshape(-1, n_scan)[index]
            kind = "quadratic" if self.stat_kwargs["interp_scale"] == "sqrt" else "linear"
            options = {"kind": kind}
            if self.stat_kwargs["extrapolate"]:
                options.update(bounds_error=False, fill_value="extrapolate")
            cache.profiles = [interp1d(x, y, **options) for x, y in zip(norm_scan, ts_scan)]
        self._cache = cache
        return cache

    # ------------------------------------------------------------- prediction
    def _model_dnde(self, energy: np.ndarray, overrides=None):
        """Sum of the spectral models at ``energy`` (TeV): shape (n,) or (k, n)."""
        total = None
        for model in self._spectral_models:
            values = model.dnde_array(energy, overrides)
            total = values if total is None else total + values
        if total is None:
            return np.zeros(energy.shape)
        return total

    def flux_pred(self) -> u.Quantity:
        """Model dN/dE at the reference energy of every point (data shape)."""
        energy = self._energy_tev()
        values = self._model_dnde(energy.ravel()).reshape(energy.shape)
        return u.Quantity(values, _DNDE_UNIT)

    # -------------------------------------------------------------- statistic
    def _stat_points(self, cache: _StatCache, model) -> np.ndarray:
        """Per-point statistic of the masked points; ``model`` of shape (n,) or (k, n)."""
        if self._stat_type == "chi2":
            return chi2(cache.data, model, cache.sigma, check=False)
        if self._stat_type == "distrib":
            model = np.asarray(model)
            out = np.zeros(np.broadcast_shapes(model.shape, (cache.n,)))
            points = model[..., cache.point_index]
            if cache.errn is not None:
                out[..., cache.point_index] = chi2_asymmetric(
                    cache.data, points, cache.errn, cache.errp, cache.err, check=False
                )
            else:
                out[..., cache.point_index] = chi2(cache.data, points, cache.sigma, check=False)
            if cache.ul_index.size:
                out[..., cache.ul_index] = upper_limit_stat(model[..., cache.ul_index], cache.ul)
            return out
        norm = np.asarray(model) / cache.dnde_ref
        norm = np.broadcast_to(norm, np.broadcast_shapes(norm.shape, (cache.n,)))
        out = np.empty(norm.shape)
        for i, profile in enumerate(cache.profiles):
            out[..., i] = profile(norm[..., i])
        return out

    def stat_sum(self) -> float:
        cache = self._cache or self._prepare()
        if cache.n == 0:
            return 0.0
        model = self._model_dnde(cache.energy)
        return float(np.sum(self._stat_points(cache, model)))

    def stat_sum_batch(self, overrides) -> np.ndarray:
        cache = self._cache or self._prepare()
        model = self._model_dnde(cache.energy, overrides)
        if cache.n == 0:
            return np.zeros(np.shape(model)[:-1])
        return np.asarray(np.sum(self._stat_points(cache, model), axis=-1))

    def stat_array(self) -> np.ndarray:
        """Statistic per point (data shape); NaN where the point is not in `mask`."""
        cache = self._cache or self._prepare()
        out = np.full(self._data.data_shape, np.nan)
        if cache.n:
            values = self._stat_points(cache, self._model_dnde(cache.energy))
            out.ravel()[np.flatnonzero(self.mask.ravel())] = values
        return out

    def residuals(self, method: str = "diff"):
        """Data minus model dN/dE per point; NaN for upper limits.

        Parameters
        ----------
        method : {"diff", "diff/model"}
            ``data - model`` (a Quantity in cm-2 s-1 TeV-1) or ``(data - model) / model``.
        """
        data = np.asarray(self._data.dnde.to_value(_DNDE_UNIT), dtype=float)
        model = self.flux_pred().to_value(_DNDE_UNIT)
        with np.errstate(invalid="ignore", divide="ignore"):
            if method == "diff":
                values = data - model
            elif method == "diff/model":
                values = (data - model) / model
            else:
                raise DatasetError(
                    f"FluxPointsDataset.residuals: method={method!r}; use 'diff' or 'diff/model'"
                )
        values = np.where(np.asarray(self._data.is_ul, dtype=bool), np.nan, values)
        return u.Quantity(values, _DNDE_UNIT) if method == "diff" else values

    # ---------------------------------------------------------- information
    def info_dict(self) -> dict:
        """Summary: numbers of points, of fitted points and upper limits, statistic, models."""
        fp = self._data
        has_models = len(self._spectral_models) > 0
        return {
            "name": self.name,
            "type": self.tag,
            "n_points": int(np.prod(fp.data_shape)),
            "n_fit_points": int(self.mask.sum()),
            "n_upper_limits": int(np.sum(fp.is_ul)),
            "energy_min": float(fp.energy_min.min().to_value(u.TeV)),
            "energy_max": float(fp.energy_max.max().to_value(u.TeV)),
            "stat_type": self._stat_type,
            "stat_sum": self.stat_sum() if has_models else np.nan,
            "n_models": len(self.models),
            "n_parameters": len(self.models.parameters) if len(self.models) else 0,
            "n_free_parameters": (
                len(self.models.parameters.free_parameters) if len(self.models) else 0
            ),
        }

    def info_table(self):
        """`info_dict` as a one-row astropy Table."""
        from astropy.table import Table

        return Table([self.info_dict()])

    def __str__(self) -> str:
        info = self.info_dict()
        title = type(self).__name__
        lines = [title, "-" * len(title), ""]
        lines.append(f"  {'Name':<32}: {self.name}")
        lines.append("")
        lines.append(f"  {'Number of total flux points':<32}: {info['n_points']}")
        lines.append(f"  {'Number of fit bins':<32}: {info['n_fit_points']}")
        lines.append(f"  {'Number of upper limits':<32}: {info['n_upper_limits']}")
        lines.append("")
        lines.append(f"  {'Fit statistic type':<32}: {info['stat_type']}")
        lines.append(f"  {'Fit statistic value (-2 log(L))':<32}: {info['stat_sum']:.2f}")
        lines.append("")
        lines.append(f"  {'Number of models':<32}: {info['n_models']}")
        lines.append(f"  {'Number of parameters':<32}: {info['n_parameters']}")
        lines.append(f"  {'Number of free parameters':<32}: {info['n_free_parameters']}")
        return "\n".join(lines) + "\n"

    def _repr_html_(self) -> str:
        import html

        return f"<pre>{html.escape(str(self))}</pre>"

    def copy(self, name: str | None = None) -> FluxPointsDataset:
        """A copy sharing the flux points; models are re-assigned, not copied."""
        new = type(self)(
            models=None,
            data=self._data,
            mask_fit=None if self._mask_fit is None else self._mask_fit.copy(),
            mask_safe=None if self._mask_safe is None else self._mask_safe.copy(),
            name=name or self.name,
            meta_table=self.meta_table,
            stat_type=self._stat_type,
            stat_kwargs=dict(self.stat_kwargs),
        )
        new.models = self.models
        return new

    # ------------------------------------------------------------------- I/O
    def write(self, filename, overwrite: bool = False, checksum: bool = False) -> None:
        """Write the flux points table with ``mask_fit`` and ``mask_safe`` columns (as Gammapy).

        The masks are written with Gammapy's map shape (data shape + (1, 1)).
        FITS for ``.fits`` suffixes (the table in the first extension), ECSV otherwise.
        """
        from astropy.io import fits

        from fluxfit.datasets.flux_points_table import _is_fits_name, _resolve

        path = check_output(_resolve(filename), overwrite)
        table = self._data.to_table()
        shape = self._data.data_shape + (1, 1)
        mask_safe = self.mask_safe
        mask_fit = mask_safe if self._mask_fit is None else self._mask_fit
        table["mask_fit"] = mask_fit.reshape(shape)
        table["mask_safe"] = mask_safe.reshape(shape)
        if _is_fits_name(path):
            hdu = fits.table_to_hdu(table)
            fits.HDUList([fits.PrimaryHDU(), hdu]).writeto(path, overwrite=True, checksum=checksum)
        else:
            table.write(path, format="ascii.ecsv", overwrite=True)

    @classmethod
    def read(cls, filename, name: str | None = None, reference_model=None, stat_type="chi2"):
        """Read a table written by `write` (or by Gammapy's ``FluxPointsDataset.write``)."""
        from astropy.io import fits
        from astropy.table import Table

        from fluxfit.datasets.flux_points_table import (
            _is_fits_name,
            _looks_like_fits,
            _resolve,
            _select_hdu,
        )

        path = _resolve(filename)
        if not path.is_file():
            raise MissingFileError(f"flux points dataset file {str(path)!r} does not exist")
        if _is_fits_name(path) or _looks_like_fits(path):
            check_fits_sizes(path)  # NAXIS out of range, data declared beyond the file's end
            with fits.open(path, memmap=False) as hdulist:
                table = Table.read(_select_hdu(hdulist, None, str(path)), mask_invalid=False)
        else:
            table = Table.read(path, format="ascii.ecsv")
        masks = {}
        for key in ("mask_fit", "mask_safe"):
            if key in table.colnames:
                masks[key] = np.asarray(table[key], dtype=bool)
                table.remove_column(key)
        data = FluxPoints.from_table(table, reference_model=reference_model, where=str(path))
        return cls(
            data=data,
            name=name,
            mask_fit=masks.get("mask_fit"),
            mask_safe=masks.get("mask_safe"),
            stat_type=stat_type,
        )

    @classmethod
    def from_dict(cls, data: dict, **kwargs) -> FluxPointsDataset:
        """From a datasets-YAML entry ``{"name": ..., "type": ..., "filename": ...}``."""
        for key in ("name", "filename"):
            if key not in data:
                raise DatasetError(f"FluxPointsDataset.from_dict: missing key {key!r}")
        return cls.read(data["filename"], name=data["name"], **kwargs)

    def to_dict(self, filename=None) -> dict:
        """The datasets-YAML entry (``filename``: where `write` put the table)."""
        out = {"name": self.name, "type": self.tag}
        if filename is not None:
            out["filename"] = str(filename)
        return out

    # ----------------------------------------------------------------- plots
    @property
    def _energy_bounds(self) -> u.Quantity:
        fp = self._data
        return u.Quantity([fp.energy_min.min(), fp.energy_max.max()])

    def plot_spectrum(self, ax=None, kwargs_fp=None, kwargs_model=None, axis_name="energy"):
        """Flux points (``e2dnde`` by default) with the models and their error bands."""
        from fluxfit.plotting.spectral import plot_error, plot_spectrum

        kwargs_fp = dict(kwargs_fp or {})
        kwargs_model = dict(kwargs_model or {})
        kwargs_fp.setdefault("sed_type", "e2dnde")
        ax = self._data.plot(ax=ax, axis_name=axis_name, **kwargs_fp)
        kwargs_model.setdefault("label", "Best fit model")
        kwargs_model.setdefault("zorder", 10)
        kwargs_model.setdefault("sed_type", kwargs_fp["sed_type"])
        kwargs_model.setdefault("energy_bounds", self._energy_bounds)
        for model in self._spectral_models:
            plot_spectrum(model, ax=ax, **kwargs_model)
        error_kwargs = {k: v for k, v in kwargs_model.items() if k not in ("label", "zorder")}
        if ax.lines:
            error_kwargs.setdefault("facecolor", ax.lines[-1].get_color())
        for model in self._spectral_models:
            plot_error(model, ax=ax, **error_kwargs)
        return ax

    def plot_residuals(self, ax=None, method="diff", **kwargs):
        """Residuals per point with the points' error bars (see `residuals`)."""
        from fluxfit.plotting.sed import plot_residuals

        return plot_residuals(self, ax=ax, method=method, **kwargs)

    def plot_fit(
        self, ax_spectrum=None, ax_residuals=None, kwargs_spectrum=None, kwargs_residuals=None
    ):
        """Spectrum and residual panels (residuals ``diff/model`` by default)."""
        import matplotlib.pyplot as plt
        from matplotlib.gridspec import GridSpec

        fig = None
        if ax_spectrum is None or ax_residuals is None:
            fig = plt.figure(figsize=(9, 7))
            grid = GridSpec(7, 1)
        if ax_spectrum is None:
            ax_spectrum = fig.add_subplot(grid[:5, :])
        if ax_residuals is None:
            ax_residuals = fig.add_subplot(grid[5:, :], sharex=ax_spectrum)
            plt.setp(ax_spectrum.get_xticklabels(), visible=False)
        kwargs_residuals = dict(kwargs_residuals or {})
        kwargs_residuals.setdefault("method", "diff/model")
        self.plot_spectrum(ax=ax_spectrum, **(kwargs_spectrum or {}))
        self.plot_residuals(ax=ax_residuals, **kwargs_residuals)
        return ax_spectrum, ax_residuals


def _check_errors(values: np.ndarray, energy: np.ndarray, label: str, owner: str) -> None:
    bad = ~(np.isfinite(values) & (values > 0))
    if np.any(bad):
        i = int(np.argmax(bad))
        raise DatasetError(
            f"{owner}: {label} = {values[i]} at E = {energy[i]:.6g} TeV is not a positive "
            "finite number; mask that point (mask_safe) or fix the data"
        )


def _check_asymmetric(cache: _StatCache, owner: str) -> None:
    for label, values in (("dnde_errn", cache.errn), ("dnde_errp", cache.errp)):
        usable = np.isfinite(values) & (values > 0)
        if cache.err is not None:
            usable |= np.isfinite(cache.err) & (cache.err > 0)
        if not np.all(usable):
            i = int(np.argmax(~usable))
            raise DatasetError(
                f"{owner}: {label} = {values[i]} at point {int(cache.point_index[i])} is not a "
                "positive finite number and there is no dnde_err to fall back on"
            )
