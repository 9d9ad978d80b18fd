"""Base class of spectral models (photon spectra dN/dE) and compound models.

Internally energies are in TeV and differential fluxes in cm-2 s-1 TeV-1;
the public methods take and return astropy Quantities in any unit, the
``*_array`` methods work on plain floats in the internal units for hot loops.

Examples
--------
>>> import astropy.units as u
>>> from fluxfit.models import BlackbodySpectralModel, PowerLaw2SpectralModel
>>> model = BlackbodySpectralModel(K=1e-7, kT=500 * u.keV) + PowerLaw2SpectralModel(
...     F=200, index=-1.5, a=10 * u.keV, b=500 * u.keV)
>>> model.parameters.names
['K_1', 'kT_1', 'F_2', 'index_2', 'a_2', 'b_2']
>>> flux = model.energy_flux(1 * u.keV, 1 * u.MeV).to("erg cm-2 s-1")
"""

from __future__ import annotations

import astropy.units as u
import numpy as np

from fluxfit.errors import ModelError, UnitError
from fluxfit.models.core import ModelBase
from fluxfit.models.parameter import Parameters
from fluxfit.models.spectral.integrate import make_quadrature

__all__ = [
    "SpectralModel",
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
    """

    @staticmethod
    def evaluate(energy, **kwargs):  # pragma: no cover - interface
        raise NotImplementedError

    # ------------------------------------------------------------ float API
    def dnde_array(self, energy, overrides=None):
        """dN/dE in cm-2 s-1 TeV-1 at ``energy`` (float array, TeV).

        With batch ``overrides`` (arrays of shape (k, 1)) the result has shape (k, n).
        """
        return self.evaluate(energy, **self.canonical_values(overrides))

    def _has_closed_form(self, kind: str) -> bool:
        return hasattr(type(self), f"evaluate_{kind}")

    def integral_array(self, energy_min, energy_max, overrides=None, method="exact", quadrature=None):
        """Integral of dN/dE in cm-2 s-1 over bins (bounds as floats in TeV).

        ``method`` is "exact" (closed form where one exists, else Gauss-Legendre
        quadrature accurate to better than 1e-8 for smooth spectra) or
        "simpson" (3ML's rule). A precomputed ``quadrature`` may be passed.
        """
        if method == "exact" and quadrature is None and self._has_closed_form("integral"):
            return self.evaluate_integral(
                np.asarray(energy_min, float), np.asarray(energy_max, float),
                **self.canonical_values(overrides),
            )
        quad = quadrature or make_quadrature(energy_min, energy_max, method)
        return quad.integrate(self.dnde_array(quad.nodes, overrides))

    def energy_flux_array(
        self, energy_min, energy_max, overrides=None, method="exact", quadrature=None
    ):
        """Integral of E dN/dE in TeV cm-2 s-1 over bins (bounds as floats in TeV)."""
        if method == "exact" and quadrature is None and self._has_closed_form("energy_flux"):
            return self.evaluate_energy_flux(
                np.asarray(energy_min, float), np.asarray(energy_max, float),
                **self.canonical_values(overrides),
            )
        quad = quadrature or make_quadrature(energy_min, energy_max, method)
        return quad.integrate(quad.nodes * self.dnde_array(quad.nodes, overrides))

    # --------------------------------------------------------- Quantity API
    def __call__(self, energy):
        """dN/dE at ``energy`` (Quantity) in cm-2 s-1 TeV-1."""
        return u.Quantity(self.dnde_array(energy_to_array(energy)), DNDE_UNIT, copy=False)

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
        k = next(iter(overrides.values())).shape[0] if overrides else 1
        return u.Quantity(np.broadcast_to(out, (k,) + np.shape(energy)), DNDE_UNIT)

    def integral(self, energy_min, energy_max, method: str = "exact"):
        """Photon flux between ``energy_min`` and ``energy_max`` (cm-2 s-1)."""
        emin, emax = energy_to_array(energy_min, "energy_min"), energy_to_array(energy_max, "energy_max")
        return u.Quantity(self.integral_array(emin, emax, method=method), FLUX_UNIT)

    def energy_flux(self, energy_min, energy_max, method: str = "exact"):
        """Energy flux between ``energy_min`` and ``energy_max`` (TeV cm-2 s-1)."""
        emin, emax = energy_to_array(energy_min, "energy_min"), energy_to_array(energy_max, "energy_max")
        return u.Quantity(self.energy_flux_array(emin, emax, method=method), EFLUX_UNIT)

    def e2dnde(self, energy):
        """E^2 dN/dE at ``energy`` (TeV cm-2 s-1)."""
        energy_tev = energy_to_array(energy)
        return u.Quantity(energy_tev**2 * self.dnde_array(energy_tev), EFLUX_UNIT)

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
        values = np.asarray(func(overrides)).reshape(2 * n, -1)
        jac = (values[0::2] - values[1::2]) / (2 * steps[:, None])
        sub = covariance[np.ix_(idx, idx)]
        var = np.einsum("in,ij,jn->n", jac, sub, jac)
        return value, np.sqrt(np.clip(var, 0, None)).reshape(value.shape)

    def _bounds(self, energy_min, energy_max):
        emin = energy_to_array(energy_min, "energy_min")
        emax = energy_to_array(energy_max, "energy_max")
        emin, emax = np.broadcast_arrays(emin, emax)
        return emin, emax

    def integral_error(self, energy_min, energy_max, parameters=None, covariance=None, method="exact"):
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
        quad = make_quadrature(emin.ravel(), emax.ravel(), method)

        def func(overrides):
            return quad.integrate(self.dnde_array(quad.nodes, overrides))

        value, error = self._propagate(func, parameters, covariance)
        shape = emin.shape
        return u.Quantity(value.reshape(shape), FLUX_UNIT), u.Quantity(error.reshape(shape), FLUX_UNIT)

    def energy_flux_error(self, energy_min, energy_max, parameters=None, covariance=None, method="exact"):
        """Energy flux and its 1-sigma error from the covariance (TeV cm-2 s-1)."""
        emin, emax = self._bounds(energy_min, energy_max)
        quad = make_quadrature(emin.ravel(), emax.ravel(), method)

        def func(overrides):
            return quad.integrate(quad.nodes * self.dnde_array(quad.nodes, overrides))

        value, error = self._propagate(func, parameters, covariance)
        shape = emin.shape
        return u.Quantity(value.reshape(shape), EFLUX_UNIT), u.Quantity(error.reshape(shape), EFLUX_UNIT)

    def evaluate_error(self, energy, parameters=None, covariance=None):
        """dN/dE and its 1-sigma error at ``energy`` (for butterflies)."""
        energy_tev = energy_to_array(energy)
        value, error = self._propagate(
            lambda overrides: self.dnde_array(energy_tev, overrides), parameters, covariance
        )
        return u.Quantity(value, DNDE_UNIT), u.Quantity(error, DNDE_UNIT)

    def integral_samples(self, energy_min, energy_max, samples, parameters=None, method="exact", energy_flux=False):
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
        quad = make_quadrature(emin.ravel(), emax.ravel(), method)
        overrides = self.batch_overrides(parameters, samples)
        weight = quad.nodes if energy_flux else 1.0
        values = quad.integrate(weight * self.dnde_array(quad.nodes, overrides))
        k = np.shape(samples)[0]
        values = np.broadcast_to(values, (k, quad.n_bins)).reshape((k,) + emin.shape)
        return u.Quantity(values, EFLUX_UNIT if energy_flux else FLUX_UNIT)

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


_OPERATORS = {"+": np.add, "*": np.multiply}


class CompoundSpectralModel(SpectralModel):
    """Sum or product of two spectral models.

    Parameters of the elementary components are exposed with the suffix of the
    component's position, as astromodels names them: ``K_1``, ``kT_1``,
    ``F_2``... A parameter object shared by two components appears once.
    """

    tag = ("CompoundSpectralModel",)

    def __init__(self, model1: SpectralModel, model2: SpectralModel, operator: str):
        if operator not in _OPERATORS:
            raise ModelError(f"CompoundSpectralModel: operator {operator!r} is not '+' or '*'")
        for model in (model1, model2):
            if not isinstance(model, SpectralModel):
                raise ModelError(f"CompoundSpectralModel: {model!r} is not a spectral model")
        object.__setattr__(self, "model1", model1)
        object.__setattr__(self, "model2", model2)
        object.__setattr__(self, "operator", operator)
        object.__setattr__(self, "_covariance", None)
        object.__setattr__(self, "_params", self._collect())

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
        return _OPERATORS[self.operator](
            self.model1.dnde_array(energy, overrides), self.model2.dnde_array(energy, overrides)
        )

    def integral_array(self, energy_min, energy_max, overrides=None, method="exact", quadrature=None):
        if self.operator == "+" and quadrature is None:
            return self.model1.integral_array(
                energy_min, energy_max, overrides, method
            ) + self.model2.integral_array(energy_min, energy_max, overrides, method)
        return super().integral_array(energy_min, energy_max, overrides, method, quadrature)

    def energy_flux_array(self, energy_min, energy_max, overrides=None, method="exact", quadrature=None):
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
