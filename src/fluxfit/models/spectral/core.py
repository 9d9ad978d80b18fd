"""Base class of spectral models (photon spectra dN/dE) and compound models.

Internally energies are in TeV and differential fluxes in cm-2 s-1 TeV-1;
the public methods take and return astropy Quantities in any unit, the
``*_array`` methods work on plain floats in the internal units for hot loops.

Norm models (`NormSpectralModel`: ``PowerLawNormSpectralModel``...) are
dimensionless corrections multiplied onto another spectrum or a background;
their `SpectralModel.output_unit` is dimensionless (integrals then come in TeV).
A product keeps the unit of the photon spectrum, and a sum of a norm model
with a photon spectrum is refused.

Examples
--------
>>> import astropy.units as u
>>> from fluxfit.models import BlackbodySpectralModel, PowerLawFluxSpectralModel
>>> model = BlackbodySpectralModel(K=1e-7, kT=500 * u.keV) + PowerLawFluxSpectralModel(
...     F=200, index=-1.5, a=10 * u.keV, b=500 * u.keV)
>>> model.parameters.names
['K_1', 'kT_1', 'F_2', 'index_2', 'a_2', 'b_2']
>>> flux = model.energy_flux(1 * u.keV, 1 * u.MeV).to("erg cm-2 s-1")
"""

from __future__ import annotations

import sys

import astropy.units as u
import numpy as np

from fluxfit.errors import ModelError, UnitError, short_repr
from fluxfit.models.core import ModelBase, register_model
from fluxfit.models.parameter import Parameters
from fluxfit.models.spectral.integrate import (
    LogQuadrature,
    RowSplitQuadrature,
    make_quadrature,
    split_bins,
)

__all__ = [
    "SpectralModel",
    "NormSpectralModel",
    "CompoundSpectralModel",
    "ENERGY_UNIT",
    "DNDE_UNIT",
    "FLUX_UNIT",
    "EFLUX_UNIT",
    "energy_to_array",
]

ENERGY_UNIT = u.TeV
DNDE_UNIT = u.Unit("cm-2 s-1 TeV-1")
FLUX_UNIT = u.Unit("cm-2 s-1")
EFLUX_UNIT = u.Unit("TeV cm-2 s-1")

_NO_BREAKS = np.zeros(0)


def energy_to_array(energy, name: str = "energy") -> np.ndarray:
    """Convert an energy Quantity to a float array in TeV, with a clear error."""
    if not isinstance(energy, u.Quantity):
        raise UnitError(
            f"{name} must be an astropy Quantity with an energy unit (e.g. 10 * u.keV), "
            f"got {type(energy).__name__}"
        )
    try:
        return energy.to_value(ENERGY_UNIT, equivalencies=u.spectral())
    except u.UnitConversionError:
        raise UnitError(f"{name}: unit {energy.unit} is not an energy") from None


class SpectralModel(ModelBase):
    """Base class of photon spectral models dN/dE.

    Subclasses implement ``evaluate(energy, **parameters)`` as a static method
    on floats (energy in TeV, parameters in their canonical units, returning
    cm-2 s-1 TeV-1), broadcasting over a leading batch axis of parameters. They
    may add closed forms ``evaluate_integral`` and ``evaluate_energy_flux``
    (same signature with ``energy_min, energy_max``).

    Models whose spectrum has kinks (a broken power law, the Band function, a
    tabulated template) declare them with `_parameter_breaks` or `_fixed_breaks`;
    the default integration then cuts the bins there, which keeps the
    Gauss-Legendre quadrature accurate to better than 1e-6.
    """

    #: Unit of the values returned by ``evaluate`` (dimensionless for norm models).
    output_unit = DNDE_UNIT

    @staticmethod
    def evaluate(energy, **kwargs):  # pragma: no cover - interface
        raise ModelError("a spectral model class must define evaluate(energy, **parameters)")

    @property
    def is_norm_spectral_model(self) -> bool:
        """True for a dimensionless spectral correction (a norm model)."""
        return self.output_unit == u.dimensionless_unscaled

    @property
    def flux_unit(self) -> u.UnitBase:
        """Unit of `integral`: cm-2 s-1, or TeV for a norm model."""
        return self.output_unit * ENERGY_UNIT

    @property
    def eflux_unit(self) -> u.UnitBase:
        """Unit of `energy_flux`: TeV cm-2 s-1, or TeV2 for a norm model."""
        return self.output_unit * ENERGY_UNIT**2

    # ------------------------------------------------------------ float API
    def dnde_array(self, energy, overrides=None):
        """dN/dE in cm-2 s-1 TeV-1 at ``energy`` (float array, TeV).

        With batch ``overrides`` (arrays of shape (k, 1)) the result has shape (k, n).
        """
        return self.evaluate(energy, **self.canonical_values(overrides))

    def _has_closed_form(self, kind: str) -> bool:
        return hasattr(type(self), f"evaluate_{kind}")

    def _fixed_breaks(self) -> np.ndarray:
        """Energies (TeV, 1-D) where the spectrum has a kink, whatever the parameters."""
        return _NO_BREAKS

    def _parameter_breaks(self, overrides=None):
        """Energies (TeV) of kinks that depend on parameters: None or shape (k, B)."""
        return None

    def integral_array(
        self, energy_min, energy_max, overrides=None, method="exact", quadrature=None
    ):
        """Integral of dN/dE in cm-2 s-1 over bins (bounds as floats in TeV).

        ``method`` is "exact" (closed form where one exists, else Gauss-Legendre
        quadrature in ln E, with bins cut at the model's kinks, accurate to
        better than 1e-6) or "simpson" (3ML's rule). A precomputed
        ``quadrature`` (e.g. a dataset's) may be passed; it is used as is.
        """
        if method == "exact" and quadrature is None and self._has_closed_form("integral"):
            return self._closed_form(self.evaluate_integral, energy_min, energy_max, overrides)
        return self._integrate(energy_min, energy_max, overrides, method, quadrature, 0)

    def energy_flux_array(
        self, energy_min, energy_max, overrides=None, method="exact", quadrature=None
    ):
        """Integral of E dN/dE in TeV cm-2 s-1 over bins (bounds as floats in TeV)."""
        if method == "exact" and quadrature is None and self._has_closed_form("energy_flux"):
            return self._closed_form(self.evaluate_energy_flux, energy_min, energy_max, overrides)
        return self._integrate(energy_min, energy_max, overrides, method, quadrature, 1)

    def _closed_form(self, function, energy_min, energy_max, overrides):
        """Evaluate a closed-form integral; the result has shape (k, *band_shape) for a batch."""
        energy_min, energy_max = np.broadcast_arrays(
            np.asarray(energy_min, dtype=float), np.asarray(energy_max, dtype=float)
        )
        shape = energy_min.shape
        values = np.asarray(
            function(energy_min.ravel(), energy_max.ravel(), **self.canonical_values(overrides))
        )
        return values.reshape(values.shape[:-1] + shape)

    def _integrand(self, nodes, overrides, energy_power: int):
        values = self.dnde_array(nodes, overrides)
        return values * nodes if energy_power else values

    def _integrate(self, energy_min, energy_max, overrides, method, quadrature, energy_power):
        """Numerical integral of E^energy_power dN/dE over bins."""
        if quadrature is not None or method != "exact":
            quad = quadrature or make_quadrature(energy_min, energy_max, method)
            return quad.integrate(self._integrand(quad.nodes, overrides, energy_power))
        energy_min, energy_max = np.broadcast_arrays(
            np.asarray(energy_min, dtype=float), np.asarray(energy_max, dtype=float)
        )
        shape = energy_min.shape
        low = np.minimum(energy_min, energy_max).ravel()
        high = np.maximum(energy_min, energy_max).ravel()
        sign = np.where(energy_max < energy_min, -1.0, 1.0).ravel()
        fixed = np.asarray(self._fixed_breaks(), dtype=float).ravel()
        row_breaks = self._parameter_breaks(overrides)
        if row_breaks is not None:
            row_breaks = np.asarray(row_breaks, dtype=float)
            row_breaks = row_breaks.reshape(-1, row_breaks.shape[-1] if row_breaks.ndim else 1)
            if row_breaks.shape[0] == 1:
                fixed = np.concatenate([fixed, row_breaks[0]])
                row_breaks = None
        fixed = np.unique(fixed[np.isfinite(fixed) & (fixed > 0)])
        starts = None
        if fixed.size and low.size:
            low, high, starts = split_bins(low, high, fixed)
        if row_breaks is None:
            quad = LogQuadrature(low, high)
        else:
            quad = RowSplitQuadrature(low, high, row_breaks)
        values = quad.integrate(self._integrand(quad.nodes, overrides, energy_power))
        if starts is not None:
            values = np.add.reduceat(values, starts, axis=-1)
        values = values * sign
        return values.reshape(values.shape[:-1] + shape)

    # --------------------------------------------------------- Quantity API
    def __call__(self, energy):
        """dN/dE at ``energy`` (Quantity) in cm-2 s-1 TeV-1 (dimensionless for norm models)."""
        values = np.asarray(self.dnde_array(energy_to_array(energy)))
        return u.Quantity(values, self.output_unit, copy=False)

    def evaluate_batch(self, energy, values, parameters: Parameters | None = None):
        """dN/dE for k parameter sets at once.

        Parameters
        ----------
        energy : `~astropy.units.Quantity`
            Energies, shape (n,).
        values : array of shape (k, p) or dict
            Values (in the parameters' units) for the p parameters of
            ``parameters`` (default: this model's `parameters`), or a mapping
            parameter/label -> length-k array.
        parameters : `Parameters`, optional
            The parameters the columns refer to.

        Returns
        -------
        `~astropy.units.Quantity` of shape (k, n) in cm-2 s-1 TeV-1.
        """
        parameters = self.parameters if parameters is None else parameters
        overrides = self.batch_overrides(parameters, values)
        energy = energy_to_array(energy)
        out = self.dnde_array(energy, overrides)
        k = _batch_size(values, overrides)
        return u.Quantity(np.broadcast_to(out, (k,) + np.shape(energy)), self.output_unit)

    def integral(self, energy_min, energy_max, method: str = "exact"):
        """Photon flux between ``energy_min`` and ``energy_max`` (cm-2 s-1)."""
        emin = energy_to_array(energy_min, "energy_min")
        emax = energy_to_array(energy_max, "energy_max")
        return u.Quantity(self.integral_array(emin, emax, method=method), self.flux_unit)

    def energy_flux(self, energy_min, energy_max, method: str = "exact"):
        """Energy flux between ``energy_min`` and ``energy_max`` (TeV cm-2 s-1)."""
        emin = energy_to_array(energy_min, "energy_min")
        emax = energy_to_array(energy_max, "energy_max")
        return u.Quantity(self.energy_flux_array(emin, emax, method=method), self.eflux_unit)

    def e2dnde(self, energy):
        """E^2 dN/dE at ``energy`` (TeV cm-2 s-1)."""
        energy_tev = energy_to_array(energy)
        return u.Quantity(energy_tev**2 * self.dnde_array(energy_tev), self.eflux_unit)

    # ------------------------------------------------------ error propagation
    def _varied(self, parameters: Parameters, covariance):
        """Indices of parameters with non-zero variance that are not linked."""
        diag = np.diag(covariance)
        return [
            i
            for i, par in enumerate(parameters)
            if np.isfinite(diag[i]) and diag[i] > 0 and not par.is_linked
        ]

    def _propagate(self, func, parameters, covariance, epsilon=1e-4):
        """Linear propagation of ``covariance`` through ``func(overrides)``.

        One batched evaluation with +/- steps for every varied parameter (central
        differences); linked parameters follow their masters automatically.
        """
        parameters = self.parameters if parameters is None else parameters
        covariance = parameters.covariance if covariance is None else np.asarray(covariance)
        value = np.asarray(func(None))
        idx = self._varied(parameters, covariance)
        if not idx:
            return value, np.zeros_like(value)
        sigma = np.sqrt(np.diag(covariance)[idx])
        n = len(idx)
        steps = epsilon * sigma
        overrides = {}
        for j, i in enumerate(idx):
            par = parameters[i]
            column = np.full(2 * n, par.value)
            column[2 * j] += steps[j]
            column[2 * j + 1] -= steps[j]
            overrides[par] = column.reshape(-1, 1)
        values = np.broadcast_to(func(overrides), (2 * n,) + value.shape).reshape(2 * n, -1)
        jac = (values[0::2] - values[1::2]) / (2 * steps[:, None])
        sub = covariance[np.ix_(idx, idx)]
        var = np.einsum("in,ij,jn->n", jac, sub, jac)
        return value, np.sqrt(np.clip(var, 0, None)).reshape(value.shape)

    def _bounds(self, energy_min, energy_max):
        emin = energy_to_array(energy_min, "energy_min")
        emax = energy_to_array(energy_max, "energy_max")
        emin, emax = np.broadcast_arrays(emin, emax)
        return emin, emax

    def integral_error(
        self, energy_min, energy_max, parameters=None, covariance=None, method="exact"
    ):
        """Photon flux and its 1-sigma error from the covariance (cm-2 s-1).

        Parameters
        ----------
        energy_min, energy_max : `~astropy.units.Quantity`
            Band(s).
        parameters : `Parameters`, optional
            Parameters the covariance refers to: by default this model's; give
            e.g. ``models.parameters`` to propagate linked masters of other models.
        covariance : array, optional
            Covariance of ``parameters``; default ``parameters.covariance``.

        Returns
        -------
        (flux, error) : tuple of `~astropy.units.Quantity`
        """
        emin, emax = self._bounds(energy_min, energy_max)

        def func(overrides):
            return self.integral_array(emin, emax, overrides, method)

        value, error = self._propagate(func, parameters, covariance)
        unit = self.flux_unit
        return u.Quantity(value, unit), u.Quantity(error, unit)

    def energy_flux_error(
        self, energy_min, energy_max, parameters=None, covariance=None, method="exact"
    ):
        """Energy flux and its 1-sigma error from the covariance (TeV cm-2 s-1)."""
        emin, emax = self._bounds(energy_min, energy_max)

        def func(overrides):
            return self.energy_flux_array(emin, emax, overrides, method)

        value, error = self._propagate(func, parameters, covariance)
        unit = self.eflux_unit
        return u.Quantity(value, unit), u.Quantity(error, unit)

    def evaluate_error(self, energy, parameters=None, covariance=None):
        """dN/dE and its 1-sigma error at ``energy`` (for butterflies)."""
        energy_tev = energy_to_array(energy)

        def func(overrides):
            return self.dnde_array(energy_tev, overrides)

        value, error = self._propagate(func, parameters, covariance)
        return u.Quantity(value, self.output_unit), u.Quantity(error, self.output_unit)

    def integral_samples(
        self, energy_min, energy_max, samples, parameters=None, method="exact", energy_flux=False
    ):
        """Photon (or energy) flux for each row of ``samples``.

        Parameters
        ----------
        samples : array of shape (k, p)
            Parameter sets (e.g. posterior samples) for the p ``parameters``.
        parameters : `Parameters`, optional
            What the columns of ``samples`` are; default this model's free parameters.
        energy_flux : bool
            Return the energy flux (TeV cm-2 s-1) instead of the photon flux.

        Returns
        -------
        `~astropy.units.Quantity` of shape (k, *band_shape)
        """
        parameters = self.parameters.free_parameters if parameters is None else parameters
        emin, emax = self._bounds(energy_min, energy_max)
        overrides = self.batch_overrides(parameters, samples)
        integrate = self.energy_flux_array if energy_flux else self.integral_array
        values = integrate(emin, emax, overrides, method)
        k = np.shape(samples)[0]
        values = np.broadcast_to(values, (k,) + emin.shape)
        return u.Quantity(values, self.eflux_unit if energy_flux else self.flux_unit)

    # ------------------------------------------------------------------ plots
    def plot(
        self, energy_bounds=None, ax=None, sed_type="dnde", energy_power=0, n_points=100, **kwargs
    ):
        """Plot the spectrum between ``energy_bounds`` (see `fluxfit.plotting.spectral`)."""
        from fluxfit.plotting.spectral import plot_spectrum

        return plot_spectrum(
            self,
            ax=ax,
            energy_bounds=energy_bounds,
            sed_type=sed_type,
            energy_power=energy_power,
            n_points=n_points,
            **kwargs,
        )

    def plot_error(
        self,
        energy_bounds=None,
        ax=None,
        sed_type="dnde",
        energy_power=0,
        n_points=100,
        parameters=None,
        covariance=None,
        **kwargs,
    ):
        """Plot the 1-sigma butterfly from the covariance (see `fluxfit.plotting.spectral`)."""
        from fluxfit.plotting.spectral import plot_error

        return plot_error(
            self,
            ax=ax,
            energy_bounds=energy_bounds,
            sed_type=sed_type,
            energy_power=energy_power,
            n_points=n_points,
            parameters=parameters,
            covariance=covariance,
            **kwargs,
        )

    # ------------------------------------------------------------- operators
    def __add__(self, other):
        if not isinstance(other, SpectralModel):
            return NotImplemented
        return CompoundSpectralModel(self, other, "+")

    def __mul__(self, other):
        if not isinstance(other, SpectralModel):
            return NotImplemented
        return CompoundSpectralModel(self, other, "*")

    @property
    def components(self) -> list[SpectralModel]:
        """The elementary models (self for a simple model)."""
        return [self]


def _batch_size(values, overrides) -> int:
    """Number of parameter sets in a batch given as an array (k, p) or a dict."""
    if isinstance(values, dict):
        sizes = [np.size(v) for v in values.values()]
        return max(sizes) if sizes else 1
    shape = np.shape(values)
    if len(shape) == 2:
        return shape[0]
    return next(iter(overrides.values())).shape[0] if overrides else 1


class NormSpectralModel(SpectralModel):
    """Base class of dimensionless spectral corrections ("norm" models).

    ``evaluate`` returns a pure number; the model is meant to multiply another
    spectrum (``TemplateSpectralModel(...) * PowerLawNormSpectralModel()``) or a
    dataset's background (`~fluxfit.models.FoVBackgroundModel`). Its integrals
    are in TeV (and TeV2 for the energy flux).
    """

    output_unit = u.dimensionless_unscaled


_OPERATORS = {"+": np.add, "*": np.multiply}


@register_model
@register_model
class CompoundSpectralModel(SpectralModel):
    """Sum or product of two spectral models.

    Parameters of the elementary components are exposed with the suffix of the
    component's position, as astromodels names them: ``K_1``, ``kT_1``,
    ``F_2``... A parameter object shared by two components appears once.

    A sum needs two models of the same output unit (two photon spectra, or two
    norm models); a product multiplies the units (a spectrum times a norm model
    is a spectrum).
    """

    tag = ("CompoundSpectralModel", "compound")

    def __init__(self, model1: SpectralModel, model2: SpectralModel, operator: str):
        if not isinstance(operator, str) or operator not in _OPERATORS:
            raise ModelError(
                f"CompoundSpectralModel: operator {short_repr(operator)} is not '+' or '*'"
            )
        for model in (model1, model2):
            if not isinstance(model, SpectralModel):
                raise ModelError(f"CompoundSpectralModel: {model!r} is not a spectral model")
        if operator == "+" and model1.output_unit != model2.output_unit:
            raise ModelError(
                f"CompoundSpectralModel: cannot add {type(model1).__name__} "
                f"[{model1.output_unit.to_string() or 'dimensionless'}] and "
                f"{type(model2).__name__} [{model2.output_unit.to_string() or 'dimensionless'}]; "
                "multiply a norm model onto a spectrum instead"
            )
        object.__setattr__(self, "model1", model1)
        object.__setattr__(self, "model2", model2)
        object.__setattr__(self, "operator", operator)
        object.__setattr__(self, "_covariance", None)
        object.__setattr__(self, "_params", self._collect())

    @property
    def output_unit(self):
        if self.operator == "+":
            return self.model1.output_unit
        return self.model1.output_unit * self.model2.output_unit

    def _collect(self) -> dict:
        params = {}
        seen = set()
        for i, component in enumerate(self.components, start=1):
            for name, par in component._params.items():
                if id(par) in seen:
                    continue
                seen.add(id(par))
                params[f"{name}_{i}"] = par
        return params

    @property
    def components(self) -> list[SpectralModel]:
        return self.model1.components + self.model2.components

    def __setattr__(self, name, value):
        params = self.__dict__.get("_params", {})
        if name in params and not isinstance(value, type(params[name])):
            params[name].value = value
            return
        if name in params:
            raise ModelError(
                f"CompoundSpectralModel: replace parameter {name!r} in its component instead"
            )
        object.__setattr__(self, name, value)

    def canonical_values(self, overrides=None):  # pragma: no cover - not used
        raise ModelError("a compound model has no canonical values; evaluate its components")

    def dnde_array(self, energy, overrides=None):
        first = self.model1.dnde_array(energy, overrides)
        second = self.model2.dnde_array(energy, overrides)
        operator = _OPERATORS[self.operator]
        # Combine in place when ``first`` is a fresh array nobody else holds (the
        # usual case): one large allocation less per evaluation.
        if (
            type(first) is np.ndarray
            and first.base is None
            and first.flags.writeable
            and first.dtype == np.float64
            and sys.getrefcount(first) <= 2
            and first.shape == np.broadcast_shapes(first.shape, np.shape(second))
        ):
            return operator(first, second, out=first)
        return operator(first, second)

    def _fixed_breaks(self) -> np.ndarray:
        return np.concatenate([self.model1._fixed_breaks(), self.model2._fixed_breaks()])

    def _parameter_breaks(self, overrides=None):
        parts = [
            np.asarray(b, dtype=float)
            for b in (
                self.model1._parameter_breaks(overrides),
                self.model2._parameter_breaks(overrides),
            )
            if b is not None
        ]
        if not parts:
            return None
        parts = [p.reshape(-1, p.shape[-1] if p.ndim else 1) for p in parts]
        k = max(p.shape[0] for p in parts)
        return np.concatenate([np.broadcast_to(p, (k, p.shape[1])) for p in parts], axis=-1)

    def integral_array(
        self, energy_min, energy_max, overrides=None, method="exact", quadrature=None
    ):
        if self.operator == "+" and quadrature is None:
            return self.model1.integral_array(
                energy_min, energy_max, overrides, method
            ) + self.model2.integral_array(energy_min, energy_max, overrides, method)
        return super().integral_array(energy_min, energy_max, overrides, method, quadrature)

    def energy_flux_array(
        self, energy_min, energy_max, overrides=None, method="exact", quadrature=None
    ):
        if self.operator == "+" and quadrature is None:
            return self.model1.energy_flux_array(
                energy_min, energy_max, overrides, method
            ) + self.model2.energy_flux_array(energy_min, energy_max, overrides, method)
        return super().energy_flux_array(energy_min, energy_max, overrides, method, quadrature)

    def to_dict(self, full_output: bool = False) -> dict:
        return {
            "type": self.type,
            "model1": self.model1.to_dict(full_output),
            "model2": self.model2.to_dict(full_output),
            "operator": self.operator,
        }

    @classmethod
    def from_dict(cls, data: dict, where: str = ""):
        from fluxfit.models.io import model_from_dict

        where = where or cls.__name__
        for key in ("model1", "model2", "operator"):
            if key not in data:
                raise ModelError(f"{where}: missing key {key!r}")
        model1 = model_from_dict(data["model1"], "spectral", f"{where}.model1")
        model2 = model_from_dict(data["model2"], "spectral", f"{where}.model2")
        return cls(model1, model2, data["operator"])

    def __repr__(self) -> str:
        return f"({self.model1!r} {self.operator} {self.model2!r})"
