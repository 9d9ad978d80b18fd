"""`ScaleSpectralModel`: a spectral model times a free ``norm`` (the estimators' norm).

Only the general path of the estimators (``reoptimize=True``, or statistics
without a closed-form norm profile) puts it into the models: the wrapped model
is evaluated as it is (its parameters are frozen by the estimator) and the norm
multiplies it. Its only parameter is ``norm``, as Gammapy's
``ScaleSpectralModel``.

Examples
--------
>>> import astropy.units as u
>>> from fluxfit.models import PowerLawSpectralModel
>>> from fluxfit.estimators.scale import ScaleSpectralModel
>>> model = ScaleSpectralModel(PowerLawSpectralModel(index=2, amplitude="1e-12 cm-2 s-1 TeV-1"))
>>> model.norm.value = 2.0
>>> model(1 * u.TeV)
<Quantity 2.e-12 1 / (TeV s cm2)>
"""

from __future__ import annotations

import numpy as np

from fluxfit.models.core import ParameterSpec
from fluxfit.models.spectral.core import SpectralModel

__all__ = ["ScaleSpectralModel"]


class ScaleSpectralModel(SpectralModel):
    """``norm * model(E)`` with ``norm`` the only (free) parameter.

    Parameters
    ----------
    model : `~fluxfit.models.SpectralModel`
        The scaled model (evaluated with its current parameter values).
    norm : float or `~fluxfit.models.Parameter`
        The scale factor (a Parameter object is used as is).
    """

    tag = ("ScaleSpectralModel", "scale")
    _parameter_specs = (ParameterSpec("norm", 1.0, "", is_norm=True, interp="log"),)

    def __init__(self, model: SpectralModel, norm=1.0):
        super().__init__(norm=norm)
        object.__setattr__(self, "model", model)

    @property
    def output_unit(self):
        return self.model.output_unit

    def _norm(self, overrides):
        return self._params["norm"].value_from(overrides)

    def dnde_array(self, energy, overrides=None):
        return self._norm(overrides) * self.model.dnde_array(energy, overrides)

    def integral_array(
        self, energy_min, energy_max, overrides=None, method="exact", quadrature=None
    ):
        values = self.model.integral_array(energy_min, energy_max, overrides, method, quadrature)
        return self._norm(overrides) * values

    def energy_flux_array(
        self, energy_min, energy_max, overrides=None, method="exact", quadrature=None
    ):
        values = self.model.energy_flux_array(energy_min, energy_max, overrides, method, quadrature)
        return self._norm(overrides) * values

    def _has_closed_form(self, kind: str) -> bool:
        return self.model._has_closed_form(kind)

    def _fixed_breaks(self) -> np.ndarray:
        return self.model._fixed_breaks()

    def _parameter_breaks(self, overrides=None):
        return self.model._parameter_breaks(overrides)

    def to_dict(self, full_output: bool = False) -> dict:
        data = super().to_dict(full_output)
        data["model"] = self.model.to_dict(full_output)
        return data
