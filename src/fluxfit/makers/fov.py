"""`FoVBackgroundMaker`: normalise a map dataset's background on the counts outside exclusions.

Gammapy 2.1's ``FoVBackgroundMaker``. The exclusion mask (True where usable) is projected on
the dataset (nearest pixel) and combined with its fit mask; a `~fluxfit.models.FoVBackgroundModel`
(``<dataset>-bkg``, a norm spectral model, default ``PowerLawNormSpectralModel`` with the tilt
frozen) is added if the dataset has none; then

- ``method="scale"``: ``norm = (counts - npred_other) / npred_background`` summed over the
  unmasked bins, with error ``sqrt(counts - npred_other) / npred_background``;
- ``method="fit"``: the background model is fitted with the sky models frozen.

If there are too few counts or background counts (``min_counts``, ``min_npred_background``),
negative residuals, or the fit fails, the safe mask is set to False (the dataset is then
ignored by fits and stacks), as Gammapy does. The fit mask is restored afterwards.

Examples
--------
>>> from fluxfit.makers import FoVBackgroundMaker
>>> FoVBackgroundMaker(method="fit").method
'fit'
>>> # dataset = FoVBackgroundMaker(exclusion_mask=mask).run(dataset)
"""

from __future__ import annotations

import logging

import numpy as np

from fluxfit.errors import DatasetError
from fluxfit.maps import Map
from fluxfit.models import FoVBackgroundModel, Models, SpectralModel
from fluxfit.models.core import lookup_model

from .core import Maker

__all__ = ["FoVBackgroundMaker"]

log = logging.getLogger(__name__)


def _norm_model(spectral_model):
    if isinstance(spectral_model, str):
        cls = lookup_model(spectral_model, SpectralModel)
        if cls is None:
            raise DatasetError(f"FoVBackgroundMaker: unknown spectral model {spectral_model!r}")
        spectral_model = cls()
    names = [p.name for p in spectral_model.parameters]
    if "norm" not in names:
        raise DatasetError(
            "FoVBackgroundMaker: the spectral model must be a norm spectral model "
            f"(with a 'norm' parameter), got {type(spectral_model).__name__}"
        )
    return spectral_model


class FoVBackgroundMaker(Maker):
    """Normalise the background of a map dataset outside an exclusion mask.

    Parameters
    ----------
    method : {"scale", "fit"}
        Scale the norm from the counts (default) or fit the background model.
    exclusion_mask : `~fluxfit.maps.WcsNDMap`, optional
        Boolean image, False where excluded (e.g. around sources).
    spectral_model : `~fluxfit.models.SpectralModel` or str
        Norm model of the background model added when the dataset has none ("pl-norm").
    min_counts : float
        Minimum counts (or residual counts) outside the exclusions.
    min_npred_background : float
        Minimum predicted background counts outside the exclusions.
    fit : `~fluxfit.fit.Fit`, optional
        Fitter for ``method="fit"`` (default ``Fit()``).
    """

    tag = "FoVBackgroundMaker"
    available_methods = ("fit", "scale")

    def __init__(
        self,
        method="scale",
        exclusion_mask=None,
        spectral_model="pl-norm",
        min_counts=0,
        min_npred_background=0,
        fit=None,
    ):
        if method not in self.available_methods:
            raise DatasetError(
                f"Not a valid method for FoVBackgroundMaker: {method!r}. "
                f"Choose from {list(self.available_methods)}"
            )
        self.method = method
        self.exclusion_mask = exclusion_mask
        self.default_spectral_model = _norm_model(spectral_model)
        self.min_counts = min_counts
        self.min_npred_background = min_npred_background
        self.fit = fit

    # ------------------------------------------------------------------ pieces
    def make_exclusion_mask(self, dataset) -> np.ndarray:
        """The exclusion mask on the dataset's bins (True where usable)."""
        geom = dataset.counts.geom
        if self.exclusion_mask is None:
            return np.ones(geom.data_shape, dtype=bool)
        image = self.exclusion_mask.interp_to_geom(geom.to_image(), fill_value=True)
        data = np.asarray(image.data, dtype=bool).reshape(geom.data_shape[-2:])
        return np.broadcast_to(data, geom.data_shape).copy()

    def make_default_fov_background_model(self, dataset):
        """Add a `~fluxfit.models.FoVBackgroundModel` for the dataset."""
        model = FoVBackgroundModel(
            dataset_name=dataset.name, spectral_model=self.default_spectral_model.copy()
        )
        dataset.models = Models([*dataset.models, model])
        return dataset

    @staticmethod
    def _background_model(dataset):
        for model in dataset.models:
            if isinstance(model, FoVBackgroundModel) and model.dataset_name == dataset.name:
                return model
        return None

    @staticmethod
    def _totals(dataset) -> dict:
        npred = np.asarray(dataset.npred().data, dtype=float)
        mask = dataset.mask
        mask = np.ones(npred.shape, bool) if mask is None else np.asarray(mask.data, bool)
        mask = mask & ~np.isnan(npred)
        return {
            "counts": np.float64(np.asarray(dataset.counts.data, float)[mask].sum()),
            "npred": np.float64(npred[mask].sum()),
            "bkg": np.float64(np.asarray(dataset.npred_background().data, float)[mask].sum()),
        }

    def _verify(self, dataset) -> bool:
        total = self._totals(dataset)
        other = total["npred"] - total["bkg"]
        with np.errstate(invalid="ignore", divide="ignore"):
            value = (total["counts"] - other) / total["bkg"]
        if not np.isfinite(value):
            reason = "Non-finite normalisation value"
        elif total["bkg"] <= self.min_npred_background:
            reason = f"Only {int(total['bkg'])} background counts outside the exclusion mask"
        elif total["counts"] <= self.min_counts:
            reason = f"Only {int(total['counts'])} counts outside the exclusion mask"
        elif total["counts"] - other <= 0:
            reason = "Negative residual counts"
        else:
            return True
        log.warning(
            "FoVBackgroundMaker failed. %s for %s. Setting mask to False.", reason, dataset.name
        )
        return False

    def make_background_scale(self, dataset):
        """Set the background norm from the counts outside the exclusions."""
        total = self._totals(dataset)
        other = total["npred"] - total["bkg"]
        norm = self._background_model(dataset).spectral_model.parameters["norm"]
        norm.value = float((total["counts"] - other) / total["bkg"])
        norm.error = float(np.sqrt(total["counts"] - other) / total["bkg"])
        return dataset

    def make_background_fit(self, dataset):
        """Fit the background model with the sky models frozen.

        With ``fit`` given (e.g. a `fluxfit.fit.Fit`), ``fit.run(dataset)`` is used; otherwise
        the free parameters of the background model are fitted here (Powell's method on the
        Cash statistic, errors from the numerical Hessian), which needs no fitting layer.
        """
        saved = []
        for model in dataset.models:
            if isinstance(model, FoVBackgroundModel):
                continue
            for par in model.parameters:
                saved.append((par, par.frozen))
                par.frozen = True
        try:
            if self.fit is not None:
                success = bool(self.fit.run(dataset).success)
            else:
                success = _fit_background_model(dataset, self._background_model(dataset))
        finally:
            for par, frozen in saved:
                par.frozen = frozen
        if not success:
            log.warning(
                "FoVBackgroundMaker failed. Fit did not converge for %s. Setting mask to False.",
                dataset.name,
            )
            dataset.mask_safe = np.zeros(dataset.counts.geom.data_shape, dtype=bool)
        return dataset

    # ------------------------------------------------------------------ run
    def run(self, dataset, observation=None):
        """Normalise the background of ``dataset`` (in place; returned)."""
        counts = getattr(dataset, "counts", None)
        if not isinstance(counts, Map) or getattr(counts.geom, "is_region", False):
            raise DatasetError(
                "FoVBackgroundMaker works on map datasets with sky pixels, "
                f"got {type(dataset).__name__}"
            )
        if dataset.background is None:
            raise DatasetError(
                f"FoVBackgroundMaker: dataset {dataset.name!r} has no background map"
            )
        mask_fit = dataset.mask_fit
        exclusion = self.make_exclusion_mask(dataset)
        if mask_fit is not None:
            dataset.mask_fit = np.asarray(mask_fit.data, bool) & exclusion
        else:
            dataset.mask_fit = exclusion
        if self._background_model(dataset) is None:
            dataset = self.make_default_fov_background_model(dataset)
        try:
            if self._verify(dataset):
                if self.method == "fit":
                    dataset = self.make_background_fit(dataset)
                else:
                    dataset = self.make_background_scale(dataset)
            else:
                dataset.mask_safe = np.zeros(dataset.counts.geom.data_shape, dtype=bool)
        finally:
            dataset.mask_fit = mask_fit
        return dataset


def _fit_background_model(dataset, model) -> bool:
    """Minimise the dataset's statistic over the free background-model parameters (in place)."""
    from scipy.optimize import minimize

    parameters = [p for p in model.spectral_model.parameters if not p.frozen]
    if not parameters:
        return True
    start = np.array([p.value for p in parameters], dtype=float)

    def stat(x):
        for par, value in zip(parameters, x):
            par.value = float(value)
        return float(dataset.stat_sum())

    bounds = [
        (None if not np.isfinite(p.min) else p.min, None if not np.isfinite(p.max) else p.max)
        for p in parameters
    ]
    result = minimize(
        stat, start, method="Powell", bounds=bounds, options={"xtol": 1e-10, "ftol": 1e-14}
    )
    best = np.atleast_1d(result.x)
    f0 = stat(best)
    # errors: the statistic is -2 ln L, so the covariance is 2 H^-1
    n = best.size
    step = 1e-4 * np.maximum(np.abs(best), 1e-2)
    hessian = np.empty((n, n))
    for i in range(n):
        for j in range(i, n):
            if i == j:
                up, down = best.copy(), best.copy()
                up[i] += step[i]
                down[i] -= step[i]
                hessian[i, i] = (stat(up) - 2 * f0 + stat(down)) / step[i] ** 2
            else:
                corners = []
                for si, sj in ((1, 1), (1, -1), (-1, 1), (-1, -1)):
                    x = best.copy()
                    x[i] += si * step[i]
                    x[j] += sj * step[j]
                    corners.append(stat(x))
                value = (corners[0] - corners[1] - corners[2] + corners[3]) / (
                    4 * step[i] * step[j]
                )
                hessian[i, j] = hessian[j, i] = value
    stat(best)
    try:
        covariance = 2.0 * np.linalg.inv(hessian)
    except np.linalg.LinAlgError:
        return False
    errors = np.sqrt(np.clip(np.diag(covariance), 0, None))
    for par, error in zip(parameters, errors):
        par.error = float(error)
    return bool(result.success) and bool(np.all(np.diag(covariance) > 0))
