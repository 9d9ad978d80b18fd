"""Spatial templates: images and energy cubes on a celestial WCS grid.

Examples
--------
>>> import numpy as np, astropy.units as u
>>> from fluxfit.models import SkyPixelGrid, TemplateSpatialModel
>>> grid = SkyPixelGrid.create(center=(0.0, 0.0), width=2.0, binsz=0.1, frame="galactic")
>>> template = TemplateSpatialModel(np.ones(grid.shape), grid.wcs)
>>> round(float(template.integrate_geom(grid).sum()), 6)
1.0
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import astropy.units as u
import numpy as np

from fluxfit._files import check_fits_sizes
from fluxfit.errors import FormatError, MissingFileError, ModelError, UnitError
from fluxfit.models._template_files import resolve_template
from fluxfit.models.core import register_model
from fluxfit.models.parameter import parse_unit
from fluxfit.models.spatial.core import SpatialModel, _check_keys
from fluxfit.models.spatial.geometry import angular_separation, transform_lonlat
from fluxfit.models.spatial.grid import SkyPixelGrid

__all__ = ["TemplateSpatialModel"]

_TINY = float(np.finfo(np.float32).tiny)  # Gammapy's floor for log-scaled values
_DIFFUSE_UNIT = u.Unit("cm-2 s-1 TeV-1 sr-1")
_ENERGY_COLUMNS = ("ENERGY", "ENERGY_TRUE", "ENERGY_CENTER")


def _resolve(filename) -> Path:
    return Path(os.path.expandvars(str(filename))).expanduser()


@register_model
class TemplateSpatialModel(SpatialModel):
    """Spatial template from an image or an energy cube on a WCS grid.

    Values between pixel centres are interpolated bilinearly in pixel
    coordinates (trilinearly with log(energy) for cubes). As in Gammapy the
    interpolation acts on log(values) by default (``values_scale="log"``,
    values below float32's tiny are 0); ``"lin"`` interpolates the values
    themselves. Outside the map footprint the model is 0; points between the
    outermost pixel centres and the map edge take the edge value. Energies
    outside the cube's node range give 0 (Gammapy's ``fill_value=0``).

    Parameters
    ----------
    data : array of shape (ny, nx) or (n_energy, ny, nx)
        Template values.
    wcs : `~astropy.wcs.WCS`
        Celestial WCS of the last two axes (GLON/GLAT or RA/DEC).
    energy : `~astropy.units.Quantity`, optional
        Energies of the cube planes (increasing); required for cubes.
    unit : str or `~astropy.units.Unit`
        Unit of ``data`` (ignored for the values when ``normalize`` is True).
    normalize : bool
        Divide each plane by its integral over the map, so that it is a
        density in sr^-1 integrating to 1 (default, as Gammapy).
    filename : str, optional
        File the template was read from (written to YAML).
    values_scale : {"log", "lin"}
        Interpolation scale of the values.

    Examples
    --------
    >>> from fluxfit.models import TemplateSpatialModel
    >>> model = TemplateSpatialModel.read(
    ...     "$FLUXFIT_DATA/gammapy-data/fermi-3fhl-gc/gll_iem_v06_gc.fits.gz")  # doctest: +SKIP
    >>> model.is_energy_dependent  # doctest: +SKIP
    True
    """

    tag = ("TemplateSpatialModel",)
    _has_position = False
    _parameter_specs = ()
    _extra_keys = frozenset({"filename", "normalize", "unit", "values_scale"})

    def __init__(
        self,
        data,
        wcs,
        energy=None,
        unit="",
        normalize: bool = True,
        filename=None,
        values_scale: str = "log",
    ):
        name = "TemplateSpatialModel" if filename is None else f"TemplateSpatialModel({filename})"
        data = np.array(data, dtype=float)
        if data.ndim not in (2, 3):
            raise ModelError(f"{name}: data must have 2 or 3 axes, got shape {data.shape}")
        grid = SkyPixelGrid(wcs, data.shape[-2:])
        super().__init__(frame="galactic" if grid.frame == "galactic" else "icrs")
        if values_scale not in ("log", "lin"):
            raise ModelError(f"{name}: values_scale={values_scale!r}; use 'log' or 'lin'")
        self.filename = None if filename is None else str(filename)
        self.normalize = bool(normalize)
        self.values_scale = values_scale
        self.grid = grid
        self.data_unit = parse_unit(unit, f"{name}: unit")
        self._log_energy = self._check_energy(energy, data, name)

        bad = ~np.isfinite(data)
        if bad.any():
            warnings.warn(f"{name}: {int(bad.sum())} non-finite values set to 0", stacklevel=2)
            data[bad] = 0.0
        if (data < 0).any():
            warnings.warn(
                f"{name}: the template has negative values (min {data.min():.3g})", stacklevel=2
            )
        if self.normalize:
            total = np.sum(data * grid.solid_angle, axis=(-2, -1), keepdims=True)
            if np.any(total <= 0):
                raise ModelError(f"{name}: cannot normalise a map (plane) whose integral is <= 0")
            data = data / total
            self._unit = u.Unit("sr-1")
        elif self.data_unit.is_equivalent(_DIFFUSE_UNIT):
            data = data * self.data_unit.to(_DIFFUSE_UNIT)
            self._unit = _DIFFUSE_UNIT
        else:
            self._unit = self.data_unit
        self.data = data
        self.data.setflags(write=False)
        self._scaled = np.log(np.clip(data, _TINY, None)) if values_scale == "log" else data

    @staticmethod
    def _check_energy(energy, data, name):
        if data.ndim == 2:
            if energy is not None:
                raise ModelError(f"{name}: energy given for a 2-D image")
            return None
        if energy is None:
            raise ModelError(f"{name}: a cube (3-D data) needs the energies of its planes")
        if not isinstance(energy, u.Quantity):
            raise UnitError(f"{name}: energy must be a Quantity, got {type(energy).__name__}")
        try:
            energy = np.atleast_1d(energy.to_value(u.TeV, equivalencies=u.spectral()))
        except u.UnitConversionError:
            raise UnitError(f"{name}: energy unit {energy.unit} is not an energy") from None
        if energy.shape != (data.shape[0],):
            raise ModelError(f"{name}: {energy.size} energies for a cube of {data.shape[0]} planes")
        if np.any(energy <= 0) or np.any(np.diff(energy) <= 0):
            raise ModelError(f"{name}: cube energies must be positive and increasing")
        return np.log(energy)

    # ------------------------------------------------------------ properties
    @property
    def unit(self) -> u.UnitBase:
        """sr^-1 when normalised; else the data unit (cm-2 s-1 TeV-1 sr-1 for diffuse cubes)."""
        return self._unit

    @property
    def is_energy_dependent(self) -> bool:
        return self._log_energy is not None

    @property
    def energy(self):
        """Energies of the cube planes (TeV Quantity), or None for an image."""
        return None if self._log_energy is None else u.Quantity(np.exp(self._log_energy), u.TeV)

    def _center_lonlat(self):
        ny, nx = self.grid.shape
        lon, lat = self.grid.wcs.pixel_to_world_values((nx - 1) / 2.0, (ny - 1) / 2.0)
        return transform_lonlat(float(lon), float(lat), self.grid.frame, self.frame)

    @property
    def position_lonlat(self):
        lon, lat = self._center_lonlat()
        return float(lon), float(lat)

    @property
    def position(self):
        """Centre of the map (SkyCoord)."""
        from astropy.coordinates import SkyCoord

        lon, lat = self.position_lonlat
        return SkyCoord(lon, lat, unit="deg", frame=self.frame)

    def _corners(self):
        ny, nx = self.grid.shape
        x = np.array([-0.5, nx - 0.5, nx - 0.5, -0.5])
        y = np.array([-0.5, -0.5, ny - 0.5, ny - 0.5])
        lon, lat = self.grid.wcs.pixel_to_world_values(x, y)
        return transform_lonlat(lon, lat, self.grid.frame, self.frame)

    def _radius_deg(self, p):
        lon0, lat0 = self._center_lonlat()
        lon, lat = self._corners()
        return float(np.nanmax(angular_separation(lon0, lat0, lon, lat)))

    # --------------------------------------------------------------- values
    def evaluate(self, lon, lat, energy=None):
        """Template value at ``lon, lat`` (deg, model frame), in `unit`.

        For cubes, ``energy`` (TeV, shape (n_e,)) is required and the result
        has shape ``(n_e, *lon.shape)``.
        """
        return self.evaluate_array(lon, lat, energy=energy)

    def evaluate_array(self, lon, lat, overrides=None, energy=None):
        lon, lat = np.broadcast_arrays(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
        shape = lon.shape
        lon_g, lat_g = transform_lonlat(lon.ravel(), lat.ravel(), self.frame, self.grid.frame)
        x, y = self.grid.wcs.world_to_pixel_values(lon_g, lat_g)
        values = self._interp_spatial(np.asarray(x, float), np.asarray(y, float))
        if self._log_energy is not None:
            if energy is None:
                raise ModelError(
                    f"{self._name()}: an energy cube needs energies (TeV) to be evaluated"
                )
            values = self._interp_energy(values, np.atleast_1d(np.asarray(energy, dtype=float)))
        if self.values_scale == "log":
            values = np.exp(values)
            values = np.where(values <= 2 * _TINY, 0.0, values)
        return values.reshape((*values.shape[:-1], *shape))

    def _name(self):
        return f"TemplateSpatialModel({self.filename})" if self.filename else "TemplateSpatialModel"

    def _interp_spatial(self, x, y):
        ny, nx = self.grid.shape
        inside = (np.isfinite(x) & np.isfinite(y) & (x >= -0.5) & (x <= nx - 0.5) & (y >= -0.5)) & (
            y <= ny - 0.5
        )
        xc = np.clip(np.nan_to_num(x), 0.0, nx - 1.0)
        yc = np.clip(np.nan_to_num(y), 0.0, ny - 1.0)
        i0 = np.clip(np.floor(xc).astype(int), 0, max(nx - 2, 0))
        j0 = np.clip(np.floor(yc).astype(int), 0, max(ny - 2, 0))
        i1 = np.minimum(i0 + 1, nx - 1)
        j1 = np.minimum(j0 + 1, ny - 1)
        fx, fy = xc - i0, yc - j0
        d = self._scaled
        values = (
            (1 - fx) * (1 - fy) * d[..., j0, i0]
            + fx * (1 - fy) * d[..., j0, i1]
            + (1 - fx) * fy * d[..., j1, i0]
            + fx * fy * d[..., j1, i1]
        )
        fill = np.log(_TINY) if self.values_scale == "log" else 0.0
        return np.where(inside, values, fill)

    def _interp_energy(self, planes, energy):
        nodes = self._log_energy
        fill = np.log(_TINY) if self.values_scale == "log" else 0.0
        if nodes.size == 1:
            return np.broadcast_to(planes, (energy.size, planes.shape[-1]))
        with np.errstate(divide="ignore", invalid="ignore"):
            log_e = np.log(energy)
        idx = np.clip(np.searchsorted(nodes, log_e) - 1, 0, nodes.size - 2)
        weight = ((log_e - nodes[idx]) / (nodes[idx + 1] - nodes[idx]))[:, None]
        values = (1 - weight) * planes[idx] + weight * planes[idx + 1]
        # tolerate round-off at the end nodes
        span = 1e-9 * (nodes[-1] - nodes[0])
        inside = (log_e >= nodes[0] - span) & (log_e <= nodes[-1] + span)
        return np.where(inside[:, None], values, fill)

    # ----------------------------------------------------------------- I/O
    @classmethod
    def read(cls, filename, normalize: bool = True, hdu=None, unit=None, values_scale: str = "log"):
        """Read a template from a FITS image or cube.

        Parameters
        ----------
        filename : str or Path
            FITS file (environment variables and ``~`` are expanded).
        normalize : bool
            Normalise each plane to a density integrating to 1 (sr^-1).
        hdu : str or int, optional
            HDU with the data; default the first HDU with a 2- or 3-D image.
        unit : str, optional
            Unit of the data, overriding the header's BUNIT.
        values_scale : {"log", "lin"}
            Interpolation scale of the values.

        Notes
        -----
        Cube energies come from the table HDU named by the BANDSHDU keyword
        (or ENERGIES / EBOUNDS / <HDU>_BANDS), column AXCOLS1 (or ENERGY,
        ENERGY_TRUE), or the geometric mean of its *_MIN/*_MAX columns (Gammapy
        and Fermi-LAT layouts). A column without unit is taken as MeV.
        """
        from astropy.io import fits
        from astropy.wcs import WCS, FITSFixedWarning

        path = _resolve(filename)
        if not path.is_file():
            raise MissingFileError(f"TemplateSpatialModel: file {str(path)!r} does not exist")
        check_fits_sizes(path)  # NAXIS out of range, data declared beyond the file's end
        try:
            hdul = fits.open(path, memmap=False)
        except (OSError, ValueError, TypeError) as exc:
            raise FormatError(f"{path}: cannot be read as a FITS file ({exc})") from None
        with hdul:
            image = _select_image_hdu(hdul, hdu, path)
            header = image.header
            try:
                data = np.array(image.data, dtype=float)
            except (OSError, ValueError, TypeError) as exc:
                raise FormatError(
                    f"{path}: HDU {image.name!r}: cannot read the data ({exc})"
                ) from None
            for key in ("CTYPE1", "CTYPE2"):
                if key not in header:
                    raise FormatError(f"{path}: HDU {image.name!r}: missing WCS keyword {key!r}")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FITSFixedWarning)
                try:
                    wcs = WCS(header, naxis=2)
                except Exception as exc:
                    raise FormatError(f"{path}: HDU {image.name!r}: invalid WCS ({exc})") from None
            if not wcs.has_celestial:
                raise FormatError(
                    f"{path}: HDU {image.name!r}: CTYPE1/2 = {header['CTYPE1']!r}, "
                    f"{header['CTYPE2']!r} is not a celestial projection"
                )
            energy = None
            if data.ndim == 3:
                energy = _read_energy(hdul, image, path, data.shape[0])
            bunit = header.get("BUNIT", "") if unit is None else unit
            try:
                return cls(
                    data,
                    wcs,
                    energy=energy,
                    unit=bunit,
                    normalize=normalize,
                    filename=str(filename),
                    values_scale=values_scale,
                )
            except UnitError as exc:
                raise FormatError(f"{path}: {exc}") from None
            except ModelError as exc:
                raise FormatError(f"{path}: {exc}") from None

    def to_dict(self, full_output: bool = False) -> dict:
        if self.filename is None:
            raise ModelError(
                "TemplateSpatialModel: no filename to write to YAML; build it with "
                "TemplateSpatialModel.read(filename) or set .filename"
            )
        data = {
            "type": self.type,
            "frame": self.frame,
            "parameters": [],
            "filename": self.filename,
            "normalize": self.normalize,
            "unit": self.data_unit.to_string(),
        }
        if self.values_scale != "log":
            data["values_scale"] = self.values_scale
        return data

    @classmethod
    def from_dict(cls, data: dict, where: str = ""):
        where = where or cls.__name__
        _check_keys(data, {"type", "frame", "parameters", *cls._extra_keys}, where)
        if not data.get("filename"):
            raise ModelError(f"{where}: missing key 'filename'")
        normalize = data.get("normalize", True)
        if not isinstance(normalize, bool):
            raise ModelError(f"{where}: normalize={normalize!r} must be true or false")
        if data.get("parameters"):
            raise ModelError(f"{where}: a template has no parameters, got {data['parameters']!r}")
        unit = data.get("unit")
        model = cls.read(
            resolve_template(data["filename"], where),
            normalize=normalize,
            unit=unit if unit else None,
            values_scale=data.get("values_scale", "log"),
        )
        model.filename = str(data["filename"])  # as written: the YAML stays relocatable
        return model

    def to_region(self, **kwargs):
        """`regions.PolygonSkyRegion` of the map footprint."""
        from astropy.coordinates import SkyCoord
        from regions import PolygonSkyRegion

        lon, lat = self._corners()
        return PolygonSkyRegion(vertices=SkyCoord(lon, lat, unit="deg", frame=self.frame), **kwargs)

    def __repr__(self) -> str:
        shape = self.data.shape
        return (
            f"TemplateSpatialModel(filename={self.filename!r}, shape={shape}, "
            f"frame={self.frame!r}, normalize={self.normalize}, unit={self.unit.to_string()!r})"
        )


def _select_image_hdu(hdul, hdu, path):
    if hdu is not None:
        try:
            selected = hdul[hdu]
        except (KeyError, IndexError):
            names = [h.name for h in hdul]
            raise FormatError(f"{path}: no HDU {hdu!r}; HDUs are {names}") from None
        if selected.is_image and selected.header.get("NAXIS", 0) in (2, 3):
            return selected
        raise FormatError(f"{path}: HDU {hdu!r} is not a 2-D or 3-D image")
    for item in hdul:
        if item.is_image and item.header.get("NAXIS", 0) in (2, 3):
            return item
    raise FormatError(f"{path}: no image HDU with 2 or 3 axes (HDUs: {[h.name for h in hdul]})")


def _read_energy(hdul, image, path, n_planes):
    names = [h.name for h in hdul]
    bands = image.header.get("BANDSHDU")
    candidates = [bands] if bands else ["ENERGIES", "EBOUNDS", f"{image.name}_BANDS"]
    table = next((hdul[c] for c in candidates if c in hdul), None)
    if table is None:
        what = f"HDU {bands!r} named by BANDSHDU" if bands else f"an energy HDU {candidates}"
        raise FormatError(
            f"{path}: cube with {n_planes} planes but {what} is missing (HDUs: {names})"
        )
    columns = {c.name.upper(): c for c in table.columns}
    axcol = str(table.header.get("AXCOLS1") or image.header.get("AXCOLS1") or "").upper()
    column = None
    for name in (axcol, *_ENERGY_COLUMNS):
        if name and name in columns:
            column = columns[name]
            values = np.asarray(table.data[column.name], dtype=float)
            break
    if column is None:
        for low, high in ((f"{axcol}_MIN", f"{axcol}_MAX"), ("E_MIN", "E_MAX")):
            if low in columns and high in columns:
                column = columns[low]
                values = np.sqrt(
                    np.asarray(table.data[low], dtype=float)
                    * np.asarray(table.data[columns[high].name], dtype=float)
                )
                break
    if column is None:
        raise FormatError(
            f"{path}: HDU {table.name!r} has no energy column "
            f"({axcol or 'ENERGY'}); columns are {list(columns)}"
        )
    unit = column.unit or "MeV"
    try:
        energy = u.Quantity(values, unit)
    except (ValueError, TypeError):
        raise FormatError(
            f"{path}: HDU {table.name!r} column {column.name!r}: bad unit {unit!r}"
        ) from None
    if energy.shape != (n_planes,):
        raise FormatError(
            f"{path}: HDU {table.name!r} lists {energy.size} energies for {n_planes} cube planes"
        )
    return energy
