"""fluxfit.maps: axes, geometries, maps and their FITS I/O (Gammapy-compatible API and files).

* `MapAxis`, `MapAxes`, `TimeMapAxis`, `LabelMapAxis` -- non-spatial axes (energy, true
  energy, rad, time intervals, dataset labels...).
* `WcsGeom`, `RegionGeom` -- sky geometries with non-spatial axes; `MapCoord`.
* `Map`, `WcsNDMap`, `RegionNDMap` -- data + geometry + unit.
* `read_map_hdus`, `write_map_hdus`, `read_gtpsf`, `write_gtpsf` -- whole-file FITS I/O.
* `make_orthogonal_rectangle_sky_regions`, `make_concentric_annulus_sky_regions` --
  flux-profile regions as Gammapy 2.1 defines them.

This layer imports nothing from fluxfit but `fluxfit.errors` and `fluxfit.utils`.

Examples
--------
>>> from fluxfit.maps import Map, MapAxis
>>> axis = MapAxis.from_energy_bounds("10 GeV", "2 TeV", nbin=5)
>>> m = Map.create(width=(2, 1), binsz=0.05, frame="galactic", axes=[axis])
>>> m.geom.data_shape
(5, 20, 40)
"""

from .axes import MapAxes, MapAxis
from .coord import MapCoord
from .core import Map
from .geom import Geom
from .io import read_gtpsf, read_map_hdus, write_gtpsf, write_map_hdus
from .label_axis import LabelMapAxis
from .region import RegionGeom
from .region_map import RegionNDMap
from .regions_helpers import (
    compound_region_center,
    compound_region_to_regions,
    make_concentric_annulus_sky_regions,
    make_orthogonal_rectangle_sky_regions,
    regions_to_compound_region,
)
from .time_axis import TimeMapAxis
from .wcs import WcsGeom
from .wcs_map import WcsNDMap

__all__ = [
    "Geom",
    "LabelMapAxis",
    "Map",
    "MapAxes",
    "MapAxis",
    "MapCoord",
    "RegionGeom",
    "RegionNDMap",
    "TimeMapAxis",
    "WcsGeom",
    "WcsNDMap",
    "compound_region_center",
    "compound_region_to_regions",
    "make_concentric_annulus_sky_regions",
    "make_orthogonal_rectangle_sky_regions",
    "read_gtpsf",
    "read_map_hdus",
    "regions_to_compound_region",
    "write_gtpsf",
    "write_map_hdus",
]
