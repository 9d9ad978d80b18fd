"""Spherical geometry on plain float arrays: separations, position angles, frame rotations.

All functions take and return angles in degrees (except where stated), broadcast
their inputs with numpy rules and never use astropy objects in the hot path.
Frame changes between the fixed celestial frames (ICRS, Galactic, FK5 J2000)
are rotations; their matrices are computed once with astropy and cached.

Examples
--------
>>> from fluxfit.models.spatial.geometry import angular_separation, transform_lonlat
>>> float(angular_separation(0.0, 0.0, 3.0, 4.0))  # doctest: +ELLIPSIS
4.99...
>>> lon, lat = transform_lonlat(266.41683, -29.00781, "icrs", "galactic")  # Sgr A*
>>> round(float(lat), 3)
-0.046
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from fluxfit.errors import ModelError

__all__ = [
    "FRAMES",
    "angular_separation",
    "haversine",
    "position_angle",
    "rotation_matrix",
    "transform_lonlat",
    "lonlat_to_xyz",
    "xyz_to_lonlat",
    "check_frame",
]

#: Frames a spatial model can be defined in.
FRAMES = ("icrs", "galactic")

#: Frames pixel grids may use (converted by a fixed rotation).
_GRID_FRAMES = ("icrs", "galactic", "fk5")


def check_frame(frame, where: str = "frame", allowed=FRAMES) -> str:
    """Validate a frame name and return it lower-cased."""
    if not isinstance(frame, str) or frame.lower() not in allowed:
        raise ModelError(f"{where}: frame {frame!r} is not supported; use one of {list(allowed)}")
    return frame.lower()


def angular_separation(lon1, lat1, lon2, lat2):
    """Great-circle distance in degrees (Vincenty formula, exact at all distances)."""
    lon1, lat1, lon2, lat2 = (np.radians(x) for x in (lon1, lat1, lon2, lat2))
    dlon = lon2 - lon1
    sdlon, cdlon = np.sin(dlon), np.cos(dlon)
    slat1, clat1 = np.sin(lat1), np.cos(lat1)
    slat2, clat2 = np.sin(lat2), np.cos(lat2)
    num1 = clat2 * sdlon
    num2 = clat1 * slat2 - slat1 * clat2 * cdlon
    denominator = slat1 * slat2 + clat1 * clat2 * cdlon
    return np.degrees(np.arctan2(np.hypot(num1, num2), denominator))


def haversine(lon1, lat1, lon2, lat2):
    """``(1 - cos(separation)) / 2`` without cancellation at small separations."""
    lon1, lat1, lon2, lat2 = (np.radians(x) for x in (lon1, lat1, lon2, lat2))
    return (
        np.sin(0.5 * (lat2 - lat1)) ** 2
        + np.cos(lat1) * np.cos(lat2) * np.sin(0.5 * (lon2 - lon1)) ** 2
    )


def position_angle(lon1, lat1, lon2, lat2):
    """Position angle (radians, east of north) of point 2 as seen from point 1.

    Same convention as `astropy.coordinates.position_angle`.
    """
    lon1, lat1, lon2, lat2 = (np.radians(x) for x in (lon1, lat1, lon2, lat2))
    dlon = lon2 - lon1
    x = np.sin(lat2) * np.cos(lat1) - np.cos(lat2) * np.sin(lat1) * np.cos(dlon)
    y = np.sin(dlon) * np.cos(lat2)
    return np.arctan2(y, x)


def lonlat_to_xyz(lon, lat):
    """Unit vectors, stacked on a last axis of length 3, from lon/lat in degrees."""
    lon, lat = np.radians(lon), np.radians(lat)
    clat = np.cos(lat)
    return np.stack(np.broadcast_arrays(clat * np.cos(lon), clat * np.sin(lon), np.sin(lat)), -1)


def xyz_to_lonlat(xyz):
    """Inverse of `lonlat_to_xyz`: lon in [0, 360), lat in [-90, 90] degrees."""
    x, y, z = xyz[..., 0], xyz[..., 1], xyz[..., 2]
    lon = np.degrees(np.arctan2(y, x)) % 360.0
    lat = np.degrees(np.arctan2(z, np.hypot(x, y)))
    return lon, lat


@lru_cache(maxsize=16)
def rotation_matrix(frame_from: str, frame_to: str) -> np.ndarray:
    """3x3 matrix turning unit vectors of ``frame_from`` into ``frame_to`` (computed by astropy)."""
    frame_from = check_frame(frame_from, "rotation_matrix", _GRID_FRAMES)
    frame_to = check_frame(frame_to, "rotation_matrix", _GRID_FRAMES)
    if frame_from == frame_to:
        matrix = np.eye(3)
    else:
        from astropy.coordinates import CartesianRepresentation, SkyCoord

        basis = CartesianRepresentation(np.eye(3))
        coords = SkyCoord(basis, frame=frame_from).transform_to(frame_to)
        unit = coords.cartesian.xyz.value  # columns: images of the basis vectors
        matrix = unit / np.linalg.norm(unit, axis=0)
    matrix.setflags(write=False)
    return matrix


def transform_lonlat(lon, lat, frame_from: str, frame_to: str):
    """Convert lon/lat (deg) between fixed celestial frames; shapes are kept."""
    if frame_from == frame_to:
        return np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    matrix = rotation_matrix(frame_from, frame_to)
    xyz = lonlat_to_xyz(lon, lat)
    return xyz_to_lonlat(xyz @ matrix.T)
