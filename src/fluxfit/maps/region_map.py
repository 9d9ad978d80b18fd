"""`RegionNDMap`: values of one sky region along non-spatial axes (spectra, IRF kernels).

Examples
--------
>>> import astropy.units as u
>>> from astropy.coordinates import SkyCoord
>>> from regions import CircleSkyRegion
>>> from fluxfit.maps import MapAxis, RegionNDMap
>>> axis = MapAxis.from_energy_bounds("1 TeV", "10 TeV", 3)
>>> region = CircleSkyRegion(SkyCoord(83.63, 22.01, unit="deg"), 0.1 * u.deg)
>>> spectrum = RegionNDMap.create(region, axes=[axis], unit="cm-2 s-1 TeV-1")
>>> spectrum.data.shape
(3, 1, 1)
"""

from __future__ import annotations

import numpy as np
from astropy import units as u
from astropy.table import Table

from fluxfit.errors import DatasetError, FormatError, UnitError

from .core import Map
from .region import RegionGeom

__all__ = ["RegionNDMap"]


class RegionNDMap(Map):
    """Map on a `RegionGeom`: data shape ``(*reversed axes, 1, 1)``.

    Parameters
    ----------
    geom : `RegionGeom`
    data : `~numpy.ndarray`, optional
    dtype : str
    meta : dict, optional
    unit : str or `~astropy.units.Unit`
    """

    def __init__(self, geom, data=None, dtype="float32", meta=None, unit=""):
        if not isinstance(geom, RegionGeom):
            raise TypeError(f"RegionNDMap needs a RegionGeom, got {type(geom).__name__}")
        super().__init__(geom, data=data, dtype=dtype, meta=meta, unit=unit)

    @classmethod
    def create(
        cls,
        region,
        axes=None,
        dtype="float32",
        meta=None,
        unit="",
        wcs=None,
        binsz_wcs="0.1 deg",
        data=None,
    ):
        """Empty region map (``region`` may be a region, list, ds9 string, SkyCoord or None)."""
        geom = RegionGeom.create(region=region, axes=axes, wcs=wcs, binsz_wcs=binsz_wcs)
        return cls(geom=geom, data=data, dtype=dtype, meta=meta, unit=unit)

    # ------------------------------------------------------------------ interpolation
    def interp_by_pix(self, pix, method="linear", fill_value=None, values_scale="lin"):
        """Interpolate along the non-spatial axes (spatial pixels are ignored)."""
        pix = list(pix)
        pix[0] = np.zeros(np.shape(pix[0]))
        pix[1] = np.zeros(np.shape(pix[1]))
        return super().interp_by_pix(
            tuple(pix), method=method, fill_value=fill_value, values_scale=values_scale
        )

    def interp_by_coord(self, coords, method="linear", fill_value=None, values_scale="lin"):
        """Interpolate at axis coordinates (tuple in axis order, dict or `MapCoord`)."""
        pix = self.geom.coord_to_pix(coords)
        return self.interp_by_pix(
            pix, method=method, fill_value=fill_value, values_scale=values_scale
        )

    # ------------------------------------------------------------------ trivial reductions
    def to_region_nd_map(self, *args, **kwargs):
        """Returns self."""
        return self

    def get_spectrum(self, *args, **kwargs):
        """Returns self."""
        return self

    def cutout(self, *args, **kwargs):
        """Returns self."""
        return self

    def stack(self, other, weights=None, nan_to_num=True):
        """Add another region map (same axes) in place."""
        try:
            data = other.unit.get_converter(self.unit)(other.data).astype(self.data.dtype)
        except u.UnitConversionError as exc:
            raise UnitError(f"Cannot stack unit {other.unit!s} into {self.unit!s}") from exc
        if nan_to_num and data.dtype.kind == "f":
            data = np.where(np.isfinite(data), data, 0)
        if weights is not None:
            data = data * weights.data
        self.data += data

    def downsample(self, factor, preserve_counts=True, axis_name=None, weights=None):
        """Merge ``factor`` bins of ``axis_name`` (sum, mean if not counts, all for masks)."""
        if axis_name is None:
            raise DatasetError("RegionNDMap.downsample needs an axis_name")
        geom = self.geom.downsample(factor, axis_name=axis_name)
        idx = self.geom.axes.index_data(axis_name)
        data = self.data if weights is None else self.data * weights.data
        shape = list(data.shape)
        shape[idx : idx + 1] = [shape[idx] // factor, factor]
        data = data.reshape(shape)
        if self.is_mask:
            data = np.all(data, axis=idx + 1)
        elif preserve_counts:
            data = np.nansum(data, axis=idx + 1)
        else:
            data = np.nanmean(data, axis=idx + 1)
        return self._init_copy(geom=geom, data=data.astype(self.data.dtype))

    def upsample(self, factor, order=0, preserve_counts=True, axis_name=None):
        """Split every bin of ``axis_name`` in ``factor`` bins (interpolated values)."""
        geom = self.geom.upsample(factor, axis_name=axis_name)
        data = self.interp_by_coord(geom.get_coord())
        if preserve_counts:
            data = data / factor
        return self._init_copy(geom=geom, data=data)

    # ------------------------------------------------------------------ tables
    def to_table(self, format="gadf"):
        """Table of the data.

        Parameters
        ----------
        format : {"gadf", "ogip", "ogip-arf", "ogip-arf-sherpa"}
            ``gadf``: ``CHANNEL`` and ``DATA`` with one value per row (flattened data,
            first axis fastest); ``ogip``: PHA ``SPECTRUM`` (``CHANNEL``, ``COUNTS``);
            ``ogip-arf``: ``SPECRESP`` with ``ENERG_LO``/``ENERG_HI``.
        """
        if format == "gadf":
            table = Table()
            data = self.data.ravel()
            if self.is_mask:
                data = data.astype(np.int16)
            dtype = np.int16 if data.size < 2**15 else np.int64
            table["CHANNEL"] = np.arange(data.size, dtype=dtype)
            table["DATA"] = u.Quantity(data, self.unit, copy=None) if not self.is_mask else data
            return table
        if format in ("ogip", "ogip-arf", "ogip-arf-sherpa"):
            if len(self.geom.axes) > 1:
                raise FormatError(
                    f"Format {format!r} needs a single energy axis, got {self.geom.axes.names}"
                )
            axis = self.geom.axes[0]
            data = np.nan_to_num(self.quantity[:, 0, 0])
            if format == "ogip":
                axis.assert_name("energy")
                table = Table()
                table["CHANNEL"] = np.arange(axis.nbin, dtype=np.int16)
                table["COUNTS"] = np.array(data.value, dtype=np.int32)
                table.meta = {
                    "EXTNAME": "SPECTRUM",
                    "HDUCLASS": "OGIP",
                    "HDUCLAS1": "SPECTRUM",
                    "HDUVERS": "1.2.1",
                    "POISSERR": True,
                    "CHANTYPE": "PHA",
                    "DETCHANS": axis.nbin,
                    "QUALITY": 0,
                    "BACKSCAL": 0,
                    "GROUPING": 0,
                    "AREASCAL": 1,
                }
            else:
                table = axis.to_table(format=format)
                table.meta = {
                    "EXTNAME": "SPECRESP",
                    "HDUCLASS": "OGIP",
                    "HDUCLAS1": "RESPONSE",
                    "HDUCLAS2": "SPECRESP",
                    "HDUVERS": "1.1.0",
                }
                if format == "ogip-arf-sherpa":
                    data = data.to("cm2")
                table["SPECRESP"] = data
            for key in list(table.meta):
                if key in self.meta:
                    table.meta[key] = self.meta[key]
            return table
        raise FormatError(f"Unknown region map table format {format!r}")

    # ------------------------------------------------------------------ plotting
    def plot(self, ax=None, axis_name=None, **kwargs):
        """Plot the values along one axis as error bars spanning the bins.

        Parameters
        ----------
        ax : `~matplotlib.axes.Axes`, optional
        axis_name : str, optional
            Axis along x; default the only non-flat axis.
        **kwargs
            Passed to ``ax.errorbar``.
        """
        import matplotlib.pyplot as plt

        ax = plt.gca() if ax is None else ax
        if axis_name is None:
            candidates = [a for a in self.geom.axes if a.nbin > 1] or list(self.geom.axes)
            axis = candidates[0]
        else:
            axis = self.geom.axes[axis_name]
        others = {a.name: 0 for a in self.geom.axes if a.name != axis.name}
        values = self.slice_by_idx(others).data.ravel() if others else self.data.ravel()
        kwargs.setdefault("fmt", "o")
        x = axis.center.value
        xerr = [x - axis.edges_min.value, axis.edges_max.value - x]
        ax.errorbar(x, values, xerr=xerr, **kwargs)
        axis.format_plot_xaxis(ax)
        if str(self.unit):
            ax.set_ylabel(f"Data [{self.unit.to_string()}]")
        return ax

    def plot_hist(self, ax=None, **kwargs):
        """Step histogram along the first axis."""
        import matplotlib.pyplot as plt

        ax = plt.gca() if ax is None else ax
        axis = self.geom.axes[0]
        kwargs.setdefault("histtype", "step")
        ax.hist(
            axis.center.value, bins=axis.edges.value, weights=self.data[..., 0, 0].ravel(), **kwargs
        )
        axis.format_plot_xaxis(ax)
        return ax

    def plot_region(self, ax=None, **kwargs):
        """Draw the region (see `RegionGeom.plot_region`)."""
        return self.geom.plot_region(ax=ax, **kwargs)
