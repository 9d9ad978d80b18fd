"""Fuzz the map FITS readers: `fluxfit.maps.Map.read` and `fluxfit.maps.read_map_hdus`.

Valid files (WCS images with and without a BANDS table, a Fermi ``fgst-ccube``, a region map
with its REGION table, a MapDataset-like file with several maps) are written with fluxfit's
writers, damaged by `_fuzzlib.mutate_fits` / `mutate_bytes` and read back.
"""

from __future__ import annotations

import functools
import tempfile
import warnings
from pathlib import Path

import numpy as np
from _fuzzlib import attempt, mutate_bytes, mutate_fits, write_case
from hypothesis import given
from hypothesis import strategies as st

from fluxfit.maps import Map, MapAxis, RegionNDMap, read_map_hdus, write_map_hdus

MAP_KEYWORDS = (
    "BUNIT",
    "CTYPE1",
    "CTYPE2",
    "CTYPE3",
    "CRPIX1",
    "CRVAL1",
    "CDELT1",
    "CDELT2",
    "CUNIT1",
    "BANDSHDU",
    "META",
    "WCSSHAPE",
    "AXCOLS1",
    "AXCOLS2",
    "INTERP1",
    "INTERP2",
    "PIXTYPE",
    "NAXIS",
    "TUNIT1",
    "TUNIT2",
    "EXTNAME",
    "EQUINOX",
    "RADESYS",
)


def _quietly(function, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return function(*args, **kwargs)


def _write(writer) -> bytes:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "map.fits"
        _quietly(writer, path)
        return path.read_bytes()


@functools.cache
def base_files() -> dict[str, bytes]:
    energy = MapAxis.from_energy_bounds("1 TeV", "10 TeV", 3)
    energy_true = MapAxis.from_energy_bounds("0.5 TeV", "20 TeV", 4, name="energy_true")
    rng = np.random.default_rng(2)
    image = Map.create(npix=(6, 5), binsz=0.1, frame="galactic", unit="cm-2 s-1")
    image.data = rng.uniform(0, 1, image.data.shape).astype(np.float32)
    cube = Map.create(npix=(5, 4), binsz=0.2, axes=[energy], dtype="int32", unit="")
    cube.data = rng.poisson(3, cube.data.shape).astype(np.int32)
    exposure = Map.create(npix=(5, 4), binsz=0.2, axes=[energy_true], unit="m2 s")
    exposure.data += 1e9
    mask = Map.create(npix=(5, 4), binsz=0.2, axes=[energy], dtype=bool)
    mask.data[:, 1:3, 1:3] = True
    region = RegionNDMap.create("icrs;circle(83.63, 22.01, 0.5)", axes=[energy], unit="")
    region.data = np.arange(3, dtype=np.float32).reshape(region.data.shape)
    return {
        "image": _write(lambda path: image.write(path)),
        "cube": _write(lambda path: cube.write(path)),
        "ccube": _write(lambda path: cube.write(path, format="fgst-ccube")),
        "region": _write(lambda path: region.write(path)),
        "dataset": _write(
            lambda path: write_map_hdus(
                path, {"COUNTS": cube, "EXPOSURE": exposure, "MASK_SAFE": mask, "REGION": region}
            )
        ),
    }


def _case_folder():
    return tempfile.TemporaryDirectory(prefix="fluxfit-fuzz-")


def _check_map(m):
    assert m.data.shape == m.geom.data_shape
    assert m.unit is not None


@given(data=st.data())
def test_fuzz_map_read(data):
    name = data.draw(st.sampled_from(["image", "cube", "ccube", "region", "dataset"]), label="base")
    raw = mutate_bytes(data, mutate_fits(data, base_files()[name], MAP_KEYWORDS))
    with _case_folder() as folder:
        path = write_case(folder, "case.fits", raw)
        hdu = None
        if name == "dataset":
            hdu = data.draw(st.sampled_from(["COUNTS", "EXPOSURE", "MASK_SAFE", "REGION", "NOPE"]))
        m, _ = attempt(
            "Map FITS (Map.read)", lambda: _quietly(Map.read, path, hdu=hdu), [path.name]
        )
        if m is not None:
            _check_map(m)


@given(data=st.data())
def test_fuzz_read_map_hdus(data):
    name = data.draw(st.sampled_from(["dataset", "dataset", "cube", "region"]), label="base")
    raw = mutate_bytes(data, mutate_fits(data, base_files()[name], MAP_KEYWORDS))
    include_tables = data.draw(st.booleans(), label="include_tables")
    with _case_folder() as folder:
        path = write_case(folder, "case.fits", raw)
        maps, _ = attempt(
            "Map FITS (read_map_hdus)",
            lambda: _quietly(read_map_hdus, path, include_tables=include_tables),
            [path.name],
        )
        if maps is not None:
            for item in maps.values():
                if isinstance(item, Map):
                    _check_map(item)
