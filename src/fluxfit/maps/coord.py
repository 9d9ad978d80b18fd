"""`MapCoord`: map coordinates (sky position plus non-spatial axis values).

Longitudes and latitudes are plain float arrays in degrees in a given frame
(``icrs`` or ``galactic``); non-spatial coordinates are kept as given (Quantity,
`~astropy.time.Time` or plain floats in the axis unit).

Examples
--------
>>> import astropy.units as u
>>> from fluxfit.maps import MapCoord
>>> coord = MapCoord.create({"lon": [0, 1], "lat": 0, "energy": 1 * u.TeV}, frame="galactic")
>>> coord.shape, coord["energy"].unit.to_string()
((2,), 'TeV')
"""

from __future__ import annotations

import numpy as np
from astropy import units as u
from astropy.coordinates import SkyCoord

from fluxfit.errors import DatasetError

__all__ = ["MapCoord", "skycoord_to_lonlat"]


def skycoord_to_lonlat(skycoord, frame=None):
    """Longitude and latitude (float arrays, deg) of a SkyCoord in ``frame``.

    Returns
    -------
    lon, lat, frame : `~numpy.ndarray`, `~numpy.ndarray`, str
    """
    if frame:
        skycoord = skycoord.transform_to(frame)
    spherical = skycoord.represent_as("unitspherical")
    return spherical.lon.deg, spherical.lat.deg, skycoord.frame.name


def _as_deg(value):
    if isinstance(value, u.Quantity):
        return value.to_value("deg")
    return np.asarray(value, dtype=float)


class MapCoord:
    """Coordinates of points in a map: ``lon``, ``lat`` plus named non-spatial axes.

    Parameters
    ----------
    data : dict
        ``{"lon": ..., "lat": ..., "<axis name>": ...}``; arrays are broadcast lazily.
    frame : str, optional
        Sky frame of ``lon``/``lat`` (``icrs`` or ``galactic``).
    match_by_name : bool
        Whether non-spatial coordinates are matched to axes by name (True) or by
        position (tuple input).
    """

    def __init__(self, data, frame=None, match_by_name=True):
        if "lon" not in data or "lat" not in data:
            raise DatasetError(f"MapCoord needs 'lon' and 'lat', got keys {list(data)}")
        self._data = {k: v for k, v in data.items()}
        self._data["lon"] = _as_deg(self._data["lon"])
        self._data["lat"] = _as_deg(self._data["lat"])
        self._frame = frame
        self._match_by_name = match_by_name

    # ------------------------------------------------------------------ creation
    @classmethod
    def create(cls, data, frame=None, axis_names=None):
        """Coordinates from a MapCoord, SkyCoord, tuple or dict.

        Parameters
        ----------
        data : `MapCoord`, `~astropy.coordinates.SkyCoord`, tuple or dict
            Tuples are ``(lon, lat, x0, x1, ...)`` or ``(skycoord, x0, ...)``; dicts have
            ``lon``/``lat`` or ``skycoord`` keys plus axis names.
        frame : str, optional
            Target frame; SkyCoord input is transformed to it.
        axis_names : list of str, optional
            Names for the non-spatial entries of a tuple.
        """
        axis_names = list(axis_names or [])
        if isinstance(data, MapCoord):
            return data.to_frame(frame) if frame else data
        if isinstance(data, SkyCoord):
            lon, lat, frame_out = skycoord_to_lonlat(data, frame=frame)
            return cls({"lon": lon, "lat": lat}, frame=frame_out)
        if isinstance(data, dict):
            data = dict(data)
            if "skycoord" in data:
                lon, lat, frame = skycoord_to_lonlat(data.pop("skycoord"), frame=frame)
                data["lon"], data["lat"] = lon, lat
            return cls(data, frame=frame)
        if isinstance(data, tuple | list):
            data = list(data)
            if isinstance(data[0], SkyCoord):
                lon, lat, frame = skycoord_to_lonlat(data[0], frame=frame)
                rest = data[1:]
            else:
                lon, lat = data[0], data[1]
                rest = data[2:]
            values = {"lon": lon, "lat": lat}
            match_by_name = len(axis_names) >= len(rest)
            for idx, value in enumerate(rest):
                key = axis_names[idx] if match_by_name else f"axis{idx}"
                values[key] = value
            return cls(values, frame=frame, match_by_name=match_by_name)
        raise TypeError(f"Unsupported MapCoord input type {type(data).__name__}")

    # ------------------------------------------------------------------ access
    def __getitem__(self, key):
        if isinstance(key, str):
            return self._data[key]
        return list(self._data.values())[key]

    def __setitem__(self, key, value):
        self._data[key] = value

    def __iter__(self):
        return iter(self._data.values())

    def __contains__(self, key):
        return key in self._data

    @property
    def lon(self):
        """Longitudes (float array, deg)."""
        return self._data["lon"]

    @property
    def lat(self):
        """Latitudes (float array, deg)."""
        return self._data["lat"]

    @property
    def frame(self):
        """Sky frame name (str or None)."""
        return self._frame

    @property
    def match_by_name(self):
        """Whether axes are matched by name."""
        return self._match_by_name

    @property
    def axis_names(self):
        """Names of all coordinates (``lon``, ``lat`` and the axes)."""
        return list(self._data.keys())

    @property
    def ndim(self):
        """Number of coordinates."""
        return len(self._data)

    @property
    def shape(self):
        """Broadcast shape of all coordinate arrays."""
        return np.broadcast_shapes(*[np.shape(v) for v in self._data.values()])

    @property
    def size(self):
        """Number of broadcast points."""
        return int(np.prod(self.shape))

    @property
    def skycoord(self):
        """Positions as a `~astropy.coordinates.SkyCoord` (needs a frame)."""
        return SkyCoord(self.lon, self.lat, unit="deg", frame=self.frame or "icrs")

    @property
    def theta(self):
        """Colatitude in radians."""
        return np.pi / 2.0 - np.radians(self.lat)

    @property
    def phi(self):
        """Longitude in radians."""
        return np.radians(self.lon)

    # ------------------------------------------------------------------ transforms
    def to_frame(self, frame):
        """Coordinates in another frame (copy; same object if already in it)."""
        if frame is None or frame == self.frame:
            return self
        if self.frame is None:
            raise DatasetError("MapCoord without a frame cannot be transformed")
        lon, lat, frame = skycoord_to_lonlat(self.skycoord, frame=frame)
        data = dict(self._data)
        data["lon"], data["lat"] = lon, lat
        return self.__class__(data, frame=frame, match_by_name=self._match_by_name)

    def apply_mask(self, mask):
        """Coordinates at the points where ``mask`` is True (arrays are broadcast first)."""
        data = {}
        for key, value in self.broadcasted._data.items():
            data[key] = value[mask]
        return self.__class__(data, frame=self.frame, match_by_name=self._match_by_name)

    @property
    def flat(self):
        """Flattened, broadcast coordinates with NaN longitudes removed."""
        data = {k: np.ravel(v) for k, v in self.broadcasted._data.items()}
        valid = np.isfinite(data["lon"])
        return self.__class__(
            {k: v[valid] for k, v in data.items()}, frame=self.frame, match_by_name=True
        )

    @property
    def broadcasted(self):
        """Coordinates broadcast to a common shape (read-only views)."""
        shape = self.shape
        data = {}
        for key, value in self._data.items():
            if isinstance(value, u.Quantity):
                data[key] = np.broadcast_to(value, shape, subok=True)
            elif hasattr(value, "shape") and not isinstance(value, np.ndarray):
                data[key] = value.reshape(np.shape(value)) if np.shape(value) == shape else value
            else:
                data[key] = np.broadcast_to(np.asarray(value), shape)
        return self.__class__(data, frame=self.frame, match_by_name=self._match_by_name)

    def copy(self):
        """Shallow copy."""
        return self.__class__(dict(self._data), frame=self.frame, match_by_name=self._match_by_name)

    def __repr__(self):
        return f"MapCoord(names={self.axis_names}, shape={self.shape}, frame={self.frame!r})"
