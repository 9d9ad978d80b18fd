"""`FluxPoints`: per-bin flux estimates on an energy axis, with SED-type conversions.

A `FluxPoints` object holds the quantities an estimator produces per energy bin
(and optionally per bin of extra axes: time for light curves, projected distance
for flux profiles): ``norm`` and its errors and upper limit, ``ts``, ``stat``,
``stat_scan`` with ``norm_scan``, ``npred``, ``counts``, ``is_ul``... and a
*reference model* through which the SED types of the GADF flux-point format
convert (as Gammapy's ``FluxPoints``)::

    dnde   = norm * ref_dnde(e_ref)          [cm-2 s-1 TeV-1]
    e2dnde = norm * e_ref**2 * ref_dnde      [erg cm-2 s-1]
    flux   = norm * int ref_dnde dE          [cm-2 s-1]       over [e_min, e_max]
    eflux  = norm * int E ref_dnde dE        [erg cm-2 s-1]   over [e_min, e_max]

``e_ref`` is the bin centre of the energy axis (the geometric mean of the edges
for the usual log axis; a table with ``e_ref`` and no edges gives a node axis
whose centres are the ``e_ref`` values themselves).

The values are stored as given (the "initial" SED type, ``sed_type_init``), so a
table read and written again in the same SED type is bit-for-bit identical;
other SED types are derived through ``norm``. With a failed fit flag
(``success=False``) ``norm``/``norm_err`` and the SED values and errors derived
from them are NaN, as in Gammapy (``filter_success_nan``).

Reference model when none is given (Gammapy 2.1 behaviour): for a "likelihood"
table, a `~fluxfit.models.TemplateSpectralModel` through ``(e_ref, ref_dnde)``;
for the other SED types, a power law of index 2 (amplitude 1e-12 cm-2 s-1 TeV-1
at 1 TeV). Conversions between ``dnde`` and ``e2dnde`` do not depend on it;
conversions of differential values to ``flux``/``eflux`` do.

Table I/O (`FluxPoints.read`, `FluxPoints.write`, `FluxPoints.to_table`,
`FluxPoints.from_table`) lives in `fluxfit.datasets.flux_points_table`; plots in
`fluxfit.plotting.sed`.

Examples
--------
>>> import numpy as np, astropy.units as u
>>> from fluxfit.maps import MapAxis
>>> from fluxfit.models import PowerLawSpectralModel
>>> from fluxfit.datasets.flux_points import FluxPoints
>>> axis = MapAxis.from_energy_edges([1, 10, 100] * u.TeV)
>>> model = PowerLawSpectralModel(index=2, amplitude="1e-12 cm-2 s-1 TeV-1")
>>> fp = FluxPoints({"norm": [1.0, 0.5], "norm_err": [0.1, 0.2]}, axis, reference_model=model)
>>> fp.dnde.to_value("cm-2 s-1 TeV-1").round(16).tolist()
[1e-13, 5e-16]
>>> fp.flux.to_value("cm-2 s-1").round(15).tolist()
[9e-13, 4.5e-14]
"""

from __future__ import annotations

import html
import logging

import astropy.units as u
import numpy as np

from fluxfit.errors import DatasetError, FluxfitError, UnitError
from fluxfit.maps import MapAxes, MapAxis

__all__ = [
    "FluxPoints",
    "QuantityNotAvailableError",
    "DEFAULT_UNIT",
    "SED_TYPES",
    "REQUIRED_COLUMNS",
    "all_quantities",
]

log = logging.getLogger(__name__)

#: SED types of the GADF flux-point format.
SED_TYPES = ("dnde", "e2dnde", "flux", "eflux", "likelihood")

#: Units SED quantities are stored and written in (Gammapy's ``DEFAULT_UNIT``).
DEFAULT_UNIT = {
    "dnde": u.Unit("cm-2 s-1 TeV-1"),
    "e2dnde": u.Unit("erg cm-2 s-1"),
    "flux": u.Unit("cm-2 s-1"),
    "eflux": u.Unit("erg cm-2 s-1"),
    "norm": u.dimensionless_unscaled,
    "likelihood": u.dimensionless_unscaled,
}

#: Columns a table of each SED type must have (Gammapy's ``REQUIRED_COLUMNS``).
REQUIRED_COLUMNS = {
    "dnde": ["e_ref", "dnde"],
    "e2dnde": ["e_ref", "e2dnde"],
    "flux": ["e_min", "e_max", "flux"],
    "eflux": ["e_min", "e_max", "eflux"],
    "likelihood": ["e_min", "e_max", "e_ref", "ref_dnde", "ref_flux", "ref_eflux", "norm"],
}

# order of the optional columns, as Gammapy writes them
_SUFFIXES = {
    "dnde": ("_err", "_errp", "_errn", "_ul", "_sensitivity"),
    "likelihood": ("_err", "_errn", "_errp", "_ul", "_sensitivity"),
}
_NORM_SUFFIXES = ("", "_err", "_errn", "_errp", "_ul", "_sensitivity")

#: Quantities common to every SED type, in Gammapy's column order.
COMMON_QUANTITIES = (
    "ts",
    "sqrt_ts",
    "npred",
    "npred_excess",
    "stat",
    "stat_null",
    "stat_scan",
    "dnde_scan_values",
    "niter",
    "is_ul",
    "counts",
    "success",
    "n_dof",
    "message",
)
# quantities with an extra trailing axis: datasets, or the norm scan
_DATASET_QUANTITIES = ("counts", "npred", "npred_excess")
_SCAN_QUANTITIES = ("stat_scan", "dnde_scan_values")
_BOOL_QUANTITIES = ("is_ul", "success")
#: Text per bin: why an estimator's fit of the bin failed, or a note ("" otherwise). A
#: fluxfit extension of the GADF table: written as a last column when a bin has a message.
_STR_QUANTITIES = ("message",)

_TEV_TO_ERG = float(u.TeV.to(u.erg))


class QuantityNotAvailableError(FluxfitError, AttributeError):
    """A flux-point quantity (e.g. ``dnde_ul``) is not defined on these flux points."""


def _prefix(sed_type: str) -> str:
    return "norm" if sed_type == "likelihood" else sed_type


def _is_sed_name(name: str, prefix: str) -> bool:
    """Whether ``name`` is the SED value or one of its errors/limits (``dnde``, ``dnde_ul``...)."""
    return name == prefix or (name.startswith(prefix) and name[len(prefix) :] in _NORM_SUFFIXES)


def all_quantities(sed_type: str) -> list[str]:
    """Names of the quantities a table of ``sed_type`` may hold, in column order.

    Examples
    --------
    >>> from fluxfit.datasets.flux_points import all_quantities
    >>> all_quantities("dnde")[:6]
    ['dnde', 'dnde_err', 'dnde_errp', 'dnde_errn', 'dnde_ul', 'dnde_sensitivity']
    """
    _check_sed_type(sed_type)
    prefix = _prefix(sed_type)
    suffixes = _SUFFIXES["likelihood" if sed_type == "likelihood" else "dnde"]
    names = [prefix] + [prefix + s for s in suffixes] + list(COMMON_QUANTITIES)
    return names


def _check_sed_type(sed_type, where: str = "FluxPoints") -> str:
    if sed_type not in SED_TYPES:
        raise DatasetError(f"{where}: unknown SED type {sed_type!r}; use one of {SED_TYPES}")
    return sed_type


def _guess_sed_type(names) -> str | None:
    """First SED type whose required columns are all present (Gammapy's order)."""
    names = set(names)
    for sed_type, required in REQUIRED_COLUMNS.items():
        if set(required) <= names:
            return sed_type
    return None


def _as_axes(axes) -> MapAxes:
    if isinstance(axes, MapAxis):
        axes = [axes]
    if not isinstance(axes, MapAxes):
        axes = MapAxes(list(axes))
    if "energy" not in axes.names:
        raise DatasetError(f"FluxPoints need an axis named 'energy', got axes {axes.names}")
    if axes.names[0] != "energy":
        axes = MapAxes([axes["energy"]] + [ax for ax in axes if ax.name != "energy"])
    return axes


def _default_reference_model():
    from fluxfit.models import PowerLawSpectralModel

    return PowerLawSpectralModel(index=2.0, amplitude="1e-12 cm-2 s-1 TeV-1", reference="1 TeV")


def _spectral_model(model, where: str):
    from fluxfit.models import SpectralModel

    if model is None or isinstance(model, SpectralModel):
        return model
    spectral = getattr(model, "spectral_model", None)
    if isinstance(spectral, SpectralModel):
        return spectral
    raise DatasetError(
        f"{where}: reference_model must be a SpectralModel or a SkyModel, got {type(model).__name__}"
    )


class FluxPoints:
    """Flux estimates per energy bin (and per bin of optional extra axes).

    Parameters
    ----------
    data : dict
        Quantities by name, for the SED type ``sed_type`` (see `all_quantities`):
        ``norm``, ``norm_err``, ``norm_errn``, ``norm_errp``, ``norm_ul``,
        ``norm_sensitivity`` for "likelihood" (``dnde``, ``dnde_err``... for
        "dnde", etc.), plus any of ``ts``, ``sqrt_ts``, ``npred``,
        ``npred_excess``, ``stat``, ``stat_null``, ``stat_scan``, ``counts``,
        ``success``, ``is_ul``, ``n_dof``, ``niter``, ``message`` (text: why the fit
        of a bin failed, or a note; "" otherwise) and ``norm_scan`` (the norm
        values of ``stat_scan``). Arrays have the shape of the axes, reversed
        (``(n_energy,)``, or ``(n_time, n_energy)`` for a light curve), plus one
        trailing axis for ``stat_scan`` (the scan) and for ``counts``, ``npred``,
        ``npred_excess`` (datasets). SED values may be Quantities (converted to
        `DEFAULT_UNIT`) or floats in `DEFAULT_UNIT`.
    axes : `~fluxfit.maps.MapAxis`, `~fluxfit.maps.MapAxes` or list
        The energy axis (named "energy") and optional extra axes, e.g. a
        `~fluxfit.maps.TimeMapAxis` or a "projected-distance" `~fluxfit.maps.MapAxis`.
    reference_model : `~fluxfit.models.SpectralModel` or `~fluxfit.models.SkyModel`, optional
        Model through which SED types convert; default: a power law of index 2
        (required for ``sed_type="likelihood"``).
    sed_type : {"likelihood", "dnde", "e2dnde", "flux", "eflux"}, optional
        SED type of ``data`` (guessed from its keys if None).
    meta : dict, optional
        Metadata: ``n_sigma``, ``n_sigma_ul``, ``sqrt_ts_threshold_ul``,
        ``n_sigma_sensitivity``, table header keys...
    gti : optional
        Good time intervals (kept and written along, e.g. an astropy Table).
    filter_success_nan : bool
        Set ``norm`` and ``norm_err`` (and what derives from them) to NaN where
        ``success`` is False.
    reference_fluxes : dict, optional
        Reference values per energy bin, ``{"dnde": ..., "flux": ..., "eflux": ...}``
        in `DEFAULT_UNIT` (a likelihood table's ``ref_dnde``, ``ref_flux``,
        ``ref_eflux``). When given they are the conversion factors instead of the
        reference model's values (lossless round trip of likelihood tables).

    Examples
    --------
    >>> import astropy.units as u
    >>> from fluxfit.maps import MapAxis
    >>> from fluxfit.datasets.flux_points import FluxPoints
    >>> axis = MapAxis.from_energy_edges([1, 3, 10] * u.TeV)
    >>> fp = FluxPoints({"dnde": [2e-12, 1e-13] * u.Unit("cm-2 s-1 TeV-1"),
    ...                  "dnde_err": [2e-13, 3e-14] * u.Unit("cm-2 s-1 TeV-1")}, axis)
    >>> fp.sed_type_init, fp.available_quantities
    ('dnde', ['norm', 'norm_err'])
    >>> fp.e2dnde.unit
    Unit("erg / (s cm2)")
    """

    def __init__(
        self,
        data,
        axes,
        reference_model=None,
        sed_type: str | None = None,
        meta: dict | None = None,
        gti=None,
        filter_success_nan: bool = True,
        reference_fluxes: dict | None = None,
    ):
        axes = _as_axes(axes)
        keys = list(data)
        if sed_type is None:
            sed_type = (
                "likelihood"
                if "norm" in keys
                else _guess_sed_type(keys + ["e_ref", "e_min", "e_max"])
            )
            if sed_type is None:
                raise DatasetError(
                    f"FluxPoints: cannot tell the SED type from the quantities {keys}; "
                    "give sed_type= or one of norm, dnde, e2dnde, flux, eflux"
                )
        _check_sed_type(sed_type)
        self._axes = axes
        self._sed_type_init = sed_type
        self._data = self._validate(data, sed_type)
        model = _spectral_model(reference_model, "FluxPoints")
        if model is None:
            if sed_type == "likelihood":
                raise DatasetError(
                    "FluxPoints: a reference model is required for SED type 'likelihood'"
                )
            log.info("FluxPoints: no reference model given; using a power law of index 2")
            model = _default_reference_model()
        self._reference_model = model
        self.meta = dict(meta or {})
        self.meta.setdefault("sed_type_init", sed_type)
        self.gti = gti
        self.filter_success_nan = bool(filter_success_nan)
        self._reference_fluxes = self._validate_reference_fluxes(reference_fluxes)

    # ---------------------------------------------------------------- checks
    @property
    def _data_shape(self) -> tuple:
        return tuple(ax.nbin for ax in reversed(list(self._axes)))

    def _validate(self, data: dict, sed_type: str) -> dict:
        allowed = set(all_quantities(sed_type)) | {"norm_scan"}
        prefix = _prefix(sed_type)
        if prefix not in data:
            raise DatasetError(
                f"FluxPoints: SED type {sed_type!r} needs the quantity {prefix!r}; "
                f"got {sorted(data)}"
            )
        shape = self._data_shape
        out = {}
        for name, values in data.items():
            if name not in allowed:
                raise DatasetError(
                    f"FluxPoints: unknown quantity {name!r} for SED type {sed_type!r}; "
                    f"allowed: {sorted(allowed)}"
                )
            if values is None:
                continue
            if _is_sed_name(name, prefix) and sed_type != "likelihood":
                unit = DEFAULT_UNIT[sed_type]
            else:
                unit = u.dimensionless_unscaled
            out[name] = _as_array(name, values, unit, shape)
        if "stat_scan" in out:
            if "norm_scan" not in out:
                raise DatasetError("FluxPoints: 'stat_scan' needs 'norm_scan' (the scanned norms)")
            n_scan = out["stat_scan"].shape[-1]
            scan = out["norm_scan"]
            if scan.shape[-1] != n_scan:
                raise DatasetError(
                    f"FluxPoints: norm_scan has {scan.shape[-1]} values, stat_scan {n_scan}"
                )
        return out

    def _validate_reference_fluxes(self, fluxes):
        if fluxes is None:
            return None
        n = self.energy_axis.nbin
        out = {}
        for key, values in fluxes.items():
            if key not in ("dnde", "flux", "eflux"):
                raise DatasetError(
                    f"FluxPoints: reference_fluxes keys are 'dnde', 'flux', 'eflux', got {key!r}"
                )
            if values is None:
                continue
            array = _as_array(f"ref_{key}", values, DEFAULT_UNIT[key], (n,))
            if array.shape != (n,):
                raise DatasetError(
                    f"FluxPoints: ref_{key} has shape {array.shape}, expected ({n},)"
                )
            out[key] = array
        return out or None

    # ------------------------------------------------------------ properties
    @property
    def axes(self) -> MapAxes:
        """Axes: energy first, then the extra axes (`~fluxfit.maps.MapAxes`)."""
        return self._axes

    @property
    def energy_axis(self) -> MapAxis:
        return self._axes["energy"]

    @property
    def data_shape(self) -> tuple:
        """Shape of the per-bin arrays: the axes' bins, reversed (energy last)."""
        return self._data_shape

    @property
    def sed_type_init(self) -> str:
        """SED type the values were given in (and are written in by default)."""
        return self._sed_type_init

    @property
    def sed_type_plot_default(self) -> str:
        return "dnde" if self._sed_type_init == "likelihood" else self._sed_type_init

    @property
    def reference_model(self):
        """Reference spectral model (`~fluxfit.models.SpectralModel`)."""
        return self._reference_model

    @property
    def reference_spectral_model(self):
        """Same as `reference_model` (Gammapy's name)."""
        return self._reference_model

    @property
    def available_quantities(self) -> list[str]:
        """Stored quantities, with SED values named as norms (``dnde_err`` -> ``norm_err``)."""
        prefix = _prefix(self._sed_type_init)
        out = []
        for name in self._data:
            if name == "norm_scan":
                continue
            out.append("norm" + name[len(prefix) :] if _is_sed_name(name, prefix) else name)
        return out

    def _key(self, suffix: str) -> str:
        return _prefix(self._sed_type_init) + suffix

    def _has(self, suffix: str) -> bool:
        return self._key(suffix) in self._data

    @property
    def has_ul(self) -> bool:
        return self._has("_ul")

    @property
    def has_any_ts(self) -> bool:
        return "ts" in self._data or "sqrt_ts" in self._data

    @property
    def has_stat_profiles(self) -> bool:
        return "stat_scan" in self._data

    @property
    def has_success(self) -> bool:
        return "success" in self._data

    @property
    def n_sigma(self) -> float:
        return self.meta.get("n_sigma", 1)

    @property
    def n_sigma_ul(self):
        return self.meta.get("n_sigma_ul")

    @property
    def sqrt_ts_threshold_ul(self) -> float:
        """sqrt(TS) below which a bin is an upper limit (default 2, when ``is_ul`` is derived)."""
        return self.meta.get("sqrt_ts_threshold_ul", 2)

    @sqrt_ts_threshold_ul.setter
    def sqrt_ts_threshold_ul(self, value):
        if not self.has_any_ts:
            raise DatasetError("FluxPoints: setting sqrt_ts_threshold_ul needs 'ts' or 'sqrt_ts'")
        self.meta["sqrt_ts_threshold_ul"] = value
        self._data["is_ul"] = np.asarray(self.sqrt_ts < value)

    @property
    def is_convertible_to_flux_sed_type(self) -> bool:
        """Whether bin edges are known (needed for ``flux`` and ``eflux``)."""
        if self._sed_type_init in ("dnde", "e2dnde"):
            return self.energy_axis.node_type == "edges"
        return True

    # -------------------------------------------------------------- energies
    @property
    def energy_ref(self) -> u.Quantity:
        """Reference energies: the energy axis centres."""
        return self.energy_axis.center

    @property
    def energy_min(self) -> u.Quantity:
        return self.energy_axis.edges_min

    @property
    def energy_max(self) -> u.Quantity:
        return self.energy_axis.edges_max

    # ----------------------------------------------------- reference fluxes
    def _energies_tev(self):
        axis = self.energy_axis
        factor = axis.unit.to(u.TeV)
        return (
            axis.center.value * factor,
            axis.edges_min.value * factor,
            axis.edges_max.value * factor,
        )

    def _ref(self, sed_type: str) -> np.ndarray:
        """Reference values per energy bin in `DEFAULT_UNIT` (plain floats)."""
        e_ref, e_min, e_max = self._energies_tev()
        table = self._reference_fluxes
        if table is not None:
            key = "dnde" if sed_type in ("norm", "likelihood") else sed_type
            if key in table:
                return table[key]
            if key == "e2dnde" and "dnde" in table:
                return table["dnde"] * e_ref**2 * _TEV_TO_ERG
        model = self._reference_model
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            if sed_type in ("dnde", "norm", "likelihood"):
                return np.asarray(model.dnde_array(e_ref), dtype=float)
            if sed_type == "e2dnde":
                return np.asarray(model.dnde_array(e_ref)) * e_ref**2 * _TEV_TO_ERG
            if not self.is_convertible_to_flux_sed_type:
                raise DatasetError(
                    f"FluxPoints: cannot convert to SED type {sed_type!r}: the energy axis has "
                    "no bin edges (the table had 'e_ref' only)"
                )
            if sed_type == "flux":
                return np.asarray(model.integral_array(e_min, e_max), dtype=float)
            if sed_type == "eflux":
                return np.asarray(model.energy_flux_array(e_min, e_max)) * _TEV_TO_ERG
        raise DatasetError(f"FluxPoints: unknown SED type {sed_type!r}")

    @property
    def dnde_ref(self) -> u.Quantity:
        """Reference differential flux at `energy_ref`."""
        return u.Quantity(self._ref("dnde"), DEFAULT_UNIT["dnde"])

    @property
    def e2dnde_ref(self) -> u.Quantity:
        return u.Quantity(self._ref("e2dnde"), DEFAULT_UNIT["e2dnde"])

    @property
    def flux_ref(self) -> u.Quantity:
        return u.Quantity(self._ref("flux"), DEFAULT_UNIT["flux"])

    @property
    def eflux_ref(self) -> u.Quantity:
        return u.Quantity(self._ref("eflux"), DEFAULT_UNIT["eflux"])

    # --------------------------------------------------------- raw access
    def _missing(self, name: str):
        return QuantityNotAvailableError(
            f"Quantity {name!r} is not defined on these flux points; "
            f"available: {self.available_quantities}"
        )

    def _filter_success(self, values: np.ndarray) -> np.ndarray:
        if not (self.filter_success_nan and self.has_success):
            return values
        success = self._data["success"]
        if success.all():
            return values
        values = np.array(values, dtype=float)
        values[~np.broadcast_to(success, values.shape)] = np.nan
        return values

    def _norm_values(self, suffix: str) -> np.ndarray:
        key = self._key(suffix)
        if key not in self._data:
            raise self._missing("norm" + suffix)
        values = self._data[key]
        if self._sed_type_init != "likelihood":
            with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
                values = values / self._ref(self._sed_type_init)
        if suffix in ("", "_err"):
            values = self._filter_success(values)
        return values

    def _sed_values(self, sed_type: str, suffix: str) -> np.ndarray:
        """SED values in `DEFAULT_UNIT` (stored values when ``sed_type`` is the initial one)."""
        if sed_type == self._sed_type_init:
            key = self._key(suffix)
            if key not in self._data:
                raise self._missing(sed_type + suffix)
            values = self._data[key]
            if suffix in ("", "_err"):
                values = self._filter_success(values)
            return values
        with np.errstate(over="ignore", invalid="ignore"):
            return self._norm_values(suffix) * self._ref(sed_type)

    def get_quantity(self, name: str):
        """A quantity by name: ``dnde_errn``, ``norm_ul``, ``ts``, ``sqrt_ts``, ``is_ul``...

        SED quantities are returned as Quantities, the others as arrays.
        """
        for sed_type in ("dnde", "e2dnde", "flux", "eflux"):
            if name == sed_type or (
                name.startswith(sed_type + "_") and name[len(sed_type) :] in _NORM_SUFFIXES
            ):
                suffix = name[len(sed_type) :]
                values = self._sed_values(sed_type, suffix)
                return u.Quantity(values, DEFAULT_UNIT[sed_type])
        if name == "norm" or (name.startswith("norm_") and name[4:] in _NORM_SUFFIXES):
            return self._norm_values(name[4:])
        if name == "sqrt_ts":
            return self.sqrt_ts
        if name == "is_ul":
            return self.is_ul
        if name == "ts_scan":
            return self.ts_scan
        if name == "norm_scan":
            return self.norm_scan
        if name in self._data:
            return self._data[name]
        raise self._missing(name)

    # --------------------------------------------------- common quantities
    @property
    def sqrt_ts(self) -> np.ndarray:
        """sqrt(TS), negative where ``norm <= 0`` (or NaN), unless stored."""
        if "sqrt_ts" in self._data:
            return self._data["sqrt_ts"]
        if "ts" not in self._data:
            raise self._missing("sqrt_ts")
        ts = np.clip(self._data["ts"], 0, None)
        with np.errstate(invalid="ignore"):
            return np.where(self.norm > 0, np.sqrt(ts), -np.sqrt(ts))

    @property
    def is_ul(self) -> np.ndarray:
        """Whether each bin is an upper limit.

        The stored ``is_ul`` if any; else ``sqrt_ts < sqrt_ts_threshold_ul`` when TS
        and upper limits exist; else ``isfinite(norm_ul)``; else ``isnan(norm)``.
        """
        if "is_ul" in self._data:
            return self._data["is_ul"]
        if self.has_any_ts and self.has_ul:
            with np.errstate(invalid="ignore"):
                return np.asarray(self.sqrt_ts < self.sqrt_ts_threshold_ul)
        if self.has_ul:
            return np.isfinite(self._norm_values("_ul"))
        return np.isnan(self.norm)

    @is_ul.setter
    def is_ul(self, value):
        value = np.broadcast_to(np.asarray(value, dtype=bool), self._data_shape).copy()
        self._data["is_ul"] = value

    @property
    def norm_scan(self) -> np.ndarray:
        """Norm values of the likelihood scan, broadcast to ``stat_scan``'s shape."""
        if "norm_scan" not in self._data:
            raise self._missing("norm_scan")
        scan = self._data["norm_scan"]
        if "stat_scan" in self._data:
            return np.broadcast_to(scan, self._data["stat_scan"].shape)
        return scan

    @property
    def ts_scan(self) -> np.ndarray:
        """``stat_scan - stat`` (``stat``: the best-fit statistic of each bin)."""
        scan = self.get_quantity("stat_scan")
        stat = self._data.get("stat")
        if stat is None:
            stat = np.nanmin(scan, axis=-1)
        return scan - stat[..., np.newaxis]

    @property
    def npred_background(self) -> np.ndarray:
        return self.get_quantity("npred") - self.get_quantity("npred_excess")

    # ------------------------------------------------------------- slicing
    def slice_by_idx(self, slices: dict) -> FluxPoints:
        """Flux points for a subset of bins.

        Parameters
        ----------
        slices : dict
            Axis name -> ``slice`` or int. An int drops an extra axis (e.g.
            ``{"time": 3}`` gives the SED of one time bin); on the energy axis it
            keeps that one bin.

        Examples
        --------
        >>> import astropy.units as u
        >>> from fluxfit.maps import MapAxis
        >>> from fluxfit.datasets.flux_points import FluxPoints
        >>> axis = MapAxis.from_energy_edges([1, 2, 4, 8] * u.TeV)
        >>> fp = FluxPoints({"dnde": [3e-12, 1e-12, 2e-13]}, axis)
        >>> fp.slice_by_idx({"energy": slice(1, 3)}).energy_min.to_value("TeV").tolist()
        [2.0, 4.0]
        """
        slices = dict(slices)
        unknown = set(slices) - set(self._axes.names)
        if unknown:
            raise DatasetError(
                f"FluxPoints.slice_by_idx: unknown axes {sorted(unknown)}; axes are {self._axes.names}"
            )
        if isinstance(slices.get("energy"), int | np.integer):
            idx = int(slices["energy"])
            slices["energy"] = slice(idx, idx + 1 if idx != -1 else None)
        axes = self._axes.slice_by_idx(slices)
        index = tuple(slices.get(ax.name, slice(None)) for ax in reversed(list(self._axes)))
        data = {}
        for name, values in self._data.items():
            if name == "norm_scan" and values.ndim == 1:
                data[name] = values
            else:
                data[name] = values[index]
        fluxes = None
        if self._reference_fluxes is not None:
            energy_slice = slices.get("energy", slice(None))
            fluxes = {k: v[energy_slice] for k, v in self._reference_fluxes.items()}
        return self._new(data, axes, reference_fluxes=fluxes)

    def slice_by_energy(self, energy_min=None, energy_max=None) -> FluxPoints:
        """Flux points of the bins whose reference energy lies in ``[energy_min, energy_max]``."""
        e_ref = self.energy_ref
        keep = np.ones(e_ref.shape, dtype=bool)
        if energy_min is not None:
            keep &= e_ref >= u.Quantity(energy_min)
        if energy_max is not None:
            keep &= e_ref <= u.Quantity(energy_max)
        idx = np.flatnonzero(keep)
        if idx.size == 0:
            raise DatasetError(
                f"FluxPoints.slice_by_energy: no bin between {energy_min} and {energy_max}"
            )
        return self.slice_by_idx({"energy": slice(int(idx[0]), int(idx[-1]) + 1)})

    def _new(self, data, axes, reference_model=None, reference_fluxes=None) -> FluxPoints:
        return type(self)(
            data=data,
            axes=axes,
            reference_model=self._reference_model if reference_model is None else reference_model,
            sed_type=self._sed_type_init,
            meta=dict(self.meta),
            gti=self.gti,
            filter_success_nan=self.filter_success_nan,
            reference_fluxes=reference_fluxes,
        )

    def copy(self, reference_model=None) -> FluxPoints:
        """Deep copy; a new ``reference_model`` changes the fluxes (handle with care).

        As in Gammapy, the norms are kept and the SED values become
        ``norm * new reference``. Tabulated reference fluxes (``reference_fluxes``)
        are dropped with a new model.
        """
        data = {k: v.copy() for k, v in self._data.items()}
        if reference_model is None:
            model = self._reference_model.copy()
            fluxes = self._reference_fluxes
            fluxes = None if fluxes is None else {k: v.copy() for k, v in fluxes.items()}
            return self._new(data, self._axes, model, fluxes)
        model = _spectral_model(reference_model, "FluxPoints.copy")
        new = self._new(data, self._axes, model, None)
        init = self._sed_type_init
        if init != "likelihood":
            with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
                factor = new._ref(init) / self._ref(init)
            for suffix in _NORM_SUFFIXES:
                key = init + suffix
                if key in new._data:
                    new._data[key] = new._data[key] * factor
        return new

    def to_sed_type(self, sed_type: str) -> dict:
        """All available quantities of ``sed_type`` as a dict (Quantities for SED values)."""
        _check_sed_type(sed_type)
        out = {}
        for name in all_quantities(sed_type):
            try:
                out[name] = self.get_quantity(name)
            except (QuantityNotAvailableError, DatasetError):
                continue
        return out

    # ------------------------------------------------------------------ I/O
    @classmethod
    def read(cls, filename, sed_type=None, format=None, reference_model=None, **kwargs):
        """Read flux points from a FITS or ECSV table (see `fluxfit.datasets.flux_points_table`).

        Parameters
        ----------
        filename : str or Path
            FITS (HDU ``FLUXPOINTS``, else the first table) or ECSV file.
        sed_type : {"dnde", "e2dnde", "flux", "eflux", "likelihood"}, optional
            SED type; default the header key ``SED_TYPE``, else guessed from the columns.
        format : {"gadf-sed", "lightcurve", "profile"}, optional
            Table layout; guessed from the columns (``time_min`` -> lightcurve,
            ``x_min`` -> profile) if None.
        reference_model : `~fluxfit.models.SpectralModel`, optional
            Reference model (see the module docstring for the default).

        Examples
        --------
        >>> from fluxfit.datasets.flux_points import FluxPoints
        >>> fp = FluxPoints.read("HAWC19_flux_points.fits")  # doctest: +SKIP
        """
        from fluxfit.datasets.flux_points_table import read_flux_points

        return read_flux_points(
            cls,
            filename,
            sed_type=sed_type,
            format=format,
            reference_model=reference_model,
            **kwargs,
        )

    @classmethod
    def from_table(
        cls, table, sed_type=None, format=None, reference_model=None, gti=None, where=None
    ):
        """Flux points from an astropy Table in the GADF layout (see `read`)."""
        from fluxfit.datasets.flux_points_table import flux_points_from_table

        return flux_points_from_table(
            cls,
            table,
            sed_type=sed_type,
            format=format,
            reference_model=reference_model,
            gti=gti,
            where=where,
        )

    def to_table(self, sed_type=None, format=None, formatted=False):
        """Astropy Table with Gammapy's column names, units, order and header keys.

        Parameters
        ----------
        sed_type : {"likelihood", "dnde", "e2dnde", "flux", "eflux"}, optional
            Default: `sed_type_init`.
        format : {"gadf-sed", "lightcurve", "profile"}, optional
            Default from the axes (time -> lightcurve, projected-distance -> profile).
        formatted : bool
            Set display formats (``.3e`` for fluxes, ``.3f`` for energies, norms, TS).
        """
        from fluxfit.datasets.flux_points_table import flux_points_to_table

        return flux_points_to_table(self, sed_type=sed_type, format=format, formatted=formatted)

    def write(self, filename, sed_type=None, format=None, overwrite=False, checksum=False):
        """Write to FITS (``.fits``, ``.fits.gz``: HDU ``FLUXPOINTS``) or ECSV (other suffixes).

        Raises `~fluxfit.errors.OverwriteError` if the file exists and ``overwrite`` is False.
        """
        from fluxfit.datasets.flux_points_table import write_flux_points

        write_flux_points(
            self, filename, sed_type=sed_type, format=format, overwrite=overwrite, checksum=checksum
        )

    # -------------------------------------------------------------- plots
    def plot(self, ax=None, sed_type=None, energy_power=0, axis_name=None, **kwargs):
        """Plot the points with error bars and upper-limit arrows (see `fluxfit.plotting.sed`)."""
        from fluxfit.plotting.sed import plot_flux_points

        return plot_flux_points(
            self, ax=ax, sed_type=sed_type, energy_power=energy_power, axis_name=axis_name, **kwargs
        )

    def plot_ts_profiles(self, ax=None, sed_type=None, add_cbar=True, **kwargs):
        """Likelihood profiles as a colour map (see `fluxfit.plotting.sed.plot_ts_profiles`)."""
        from fluxfit.plotting.sed import plot_ts_profiles

        return plot_ts_profiles(self, ax=ax, sed_type=sed_type, add_cbar=add_cbar, **kwargs)

    # ------------------------------------------------------------- display
    def __len__(self) -> int:
        return int(np.prod(self._data_shape))

    def __getitem__(self, name: str):
        return self.get_quantity(name)

    def __str__(self) -> str:
        model = self._reference_model
        lines = [
            type(self).__name__,
            "-" * len(type(self).__name__),
            "",
            f"  axes                 : {self._axes.names}",
            f"  shape                : {self._data_shape[::-1]}",
            f"  quantities           : {self.available_quantities}",
            f"  ref. model           : {type(model).__name__}",
            f"  n_sigma              : {self.n_sigma}",
            f"  n_sigma_ul           : {self.n_sigma_ul}",
            f"  sqrt_ts_threshold_ul : {self.sqrt_ts_threshold_ul}",
            f"  sed type init        : {self._sed_type_init}",
        ]
        return "\n".join(lines) + "\n"

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(axes={self._axes.names}, shape={self._data_shape[::-1]}, "
            f"sed_type_init={self._sed_type_init!r})"
        )

    def _repr_html_(self) -> str:
        try:
            table = self.to_table(formatted=True)._repr_html_()
        except FluxfitError:  # pragma: no cover - display only
            table = ""
        return f"<pre>{html.escape(str(self))}</pre>" + table


def _make_sed_property(sed_type: str, suffix: str):
    name = sed_type + suffix
    what = {
        "": "values",
        "_err": "symmetric errors",
        "_errn": "negative errors",
        "_errp": "positive errors",
        "_ul": "upper limits",
        "_sensitivity": "sensitivity",
    }[suffix]

    def getter(self):
        return u.Quantity(self._sed_values(sed_type, suffix), DEFAULT_UNIT[sed_type])

    getter.__name__ = name
    getter.__doc__ = f"``{sed_type}`` {what} ({DEFAULT_UNIT[sed_type]}) as a Quantity."
    return property(getter)


def _make_norm_property(suffix: str):
    def getter(self):
        return self._norm_values(suffix)

    getter.__name__ = "norm" + suffix
    getter.__doc__ = f"``norm{suffix}`` per bin (dimensionless array)."
    return property(getter)


def _make_common_property(name: str):
    def getter(self):
        if name not in self._data:
            raise self._missing(name)
        return self._data[name]

    getter.__name__ = name
    getter.__doc__ = f"``{name}`` per bin (array)."
    return property(getter)


for _sed in ("dnde", "e2dnde", "flux", "eflux"):
    for _suffix in _NORM_SUFFIXES:
        setattr(FluxPoints, _sed + _suffix, _make_sed_property(_sed, _suffix))
for _suffix in _NORM_SUFFIXES:
    setattr(FluxPoints, "norm" + _suffix, _make_norm_property(_suffix))
for _name in COMMON_QUANTITIES:
    if _name not in ("sqrt_ts", "is_ul"):
        setattr(FluxPoints, _name, _make_common_property(_name))
del _sed, _suffix, _name


def _as_array(name: str, values, unit, shape: tuple) -> np.ndarray:
    """Float (or bool) array of a quantity, converted to ``unit``, shape-checked."""
    if isinstance(values, u.Quantity):
        try:
            values = values.to_value(unit)
        except u.UnitConversionError:
            raise UnitError(
                f"FluxPoints: {name} has unit {values.unit}, expected one convertible to "
                f"{unit.to_string() or 'dimensionless'}"
            ) from None
    if name in _STR_QUANTITIES:
        if np.ma.isMaskedArray(values):
            values = values.astype(str).filled("")
        array = np.array(values, dtype=str)
        if array.ndim == 0:
            array = np.full(shape, array)
        if array.shape != shape:
            raise DatasetError(
                f"FluxPoints: {name} has shape {array.shape}, expected {shape} from the axes"
            )
        return array
    if np.ma.isMaskedArray(values):
        values = values.filled(False if values.dtype == bool else np.nan)
    if name in _BOOL_QUANTITIES:
        array = np.array(values, dtype=bool)
    else:
        array = np.array(values, dtype=float)
    if name == "norm_scan":
        if array.ndim == 0:
            raise DatasetError("FluxPoints: norm_scan must be an array")
        return array
    if array.ndim == 0:
        array = np.full(shape, array)
    n = len(shape)
    if array.shape[:n] != shape:
        raise DatasetError(
            f"FluxPoints: {name} has shape {array.shape}, expected {shape} from the axes"
        )
    extra = array.ndim - n
    if extra > 1 or (extra == 1 and name not in _DATASET_QUANTITIES + _SCAN_QUANTITIES):
        raise DatasetError(
            f"FluxPoints: {name} has shape {array.shape}; only {shape} "
            + (
                "plus one trailing axis is allowed"
                if name in _DATASET_QUANTITIES + _SCAN_QUANTITIES
                else "is allowed"
            )
        )
    return array
