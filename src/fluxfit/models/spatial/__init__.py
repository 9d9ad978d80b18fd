"""Spatial models: densities on the sphere (sr^-1) and their integration over sky pixels.

See `fluxfit.models.spatial.core` for the conventions and
`fluxfit.models.spatial.grid` for the pixel grids map datasets integrate over.
"""

from fluxfit.models.spatial.analytic import (
    ConstantSpatialModel,
    DiskSpatialModel,
    GaussianSpatialModel,
    PointSpatialModel,
    Shell2SpatialModel,
    ShellSpatialModel,
)
from fluxfit.models.spatial.core import SpatialModel, integrate_pixels
from fluxfit.models.spatial.grid import MAX_OVERSAMPLING, SkyPixelGrid
from fluxfit.models.spatial.template import TemplateSpatialModel

__all__ = [
    "MAX_OVERSAMPLING",
    "ConstantSpatialModel",
    "DiskSpatialModel",
    "GaussianSpatialModel",
    "PointSpatialModel",
    "Shell2SpatialModel",
    "ShellSpatialModel",
    "SkyPixelGrid",
    "SpatialModel",
    "TemplateSpatialModel",
    "integrate_pixels",
]
