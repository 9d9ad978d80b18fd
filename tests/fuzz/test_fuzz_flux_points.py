"""Fuzz the flux points readers (`FluxPoints.read`): FITS and ECSV, SED, light curve, profile.

Valid files are written with `FluxPoints.write`; FITS files are damaged with
`_fuzzlib.mutate_fits` / `mutate_bytes`, ECSV files with table-level mutations (the same
engine on the table, written back as ECSV) and line-level damage (`mutate_text`).
"""

from __future__ import annotations

import functools
import io
import tempfile
import warnings
from pathlib import Path

import astropy.units as u
import numpy as np
from _fuzzlib import attempt, hdul_bytes, mutate_bytes, mutate_fits, mutate_text, write_case
from astropy.io import fits
from astropy.table import Table
from astropy.time import Time
from hypothesis import given
from hypothesis import strategies as st

from fluxfit.datasets.flux_points import FluxPoints
from fluxfit.maps import MapAxis, TimeMapAxis
from fluxfit.models import PowerLawSpectralModel

FP_KEYWORDS = (
    "SED_TYPE",
    "UL_CONF",
    "SQRT_TS_THRESHOLD_UL",
    "MJDREFI",
    "MJDREFF",
    "TIMESYS",
    "TIMEUNIT",
    "EXTNAME",
    "TUNIT1",
    "TUNIT2",
    "TUNIT4",
)
DNDE = u.Unit("cm-2 s-1 TeV-1")


def _quietly(function, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return function(*args, **kwargs)


def flux_points_examples() -> dict[str, FluxPoints]:
    """Small flux points of each layout (SED types dnde and likelihood, light curve)."""
    energy = MapAxis.from_energy_edges([1, 3, 10, 30] * u.TeV)
    rng = np.random.default_rng(4)
    dnde = np.array([2e-12, 3e-13, 4e-14])
    sed = FluxPoints(
        {
            "dnde": dnde * DNDE,
            "dnde_err": 0.1 * dnde * DNDE,
            "dnde_ul": 3 * dnde * DNDE,
            "is_ul": np.array([False, False, True]),
            "ts": np.array([30.0, 9.0, 1.0]),
            "sqrt_ts": np.sqrt([30.0, 9.0, 1.0]),
        },
        energy,
        sed_type="dnde",
        meta={"n_sigma_ul": 2.0},
    )
    norm = rng.uniform(0.5, 1.5, 3)
    likelihood = FluxPoints(
        {
            "norm": norm,
            "norm_err": 0.1 * norm,
            "norm_ul": 2 * norm,
            "ts": rng.uniform(0, 30, 3),
            "stat_scan": rng.uniform(0, 10, (3, 5)),
            "norm_scan": np.linspace(0.2, 5, 5),
            "counts": rng.poisson(10, (3, 1)).astype(float),
            "success": np.array([True, True, False]),
        },
        energy,
        reference_model=PowerLawSpectralModel(),
        sed_type="likelihood",
    )
    t0 = Time([55000.0, 55001.0], format="mjd", scale="utc")
    t1 = Time([55000.5, 55002.0], format="mjd", scale="utc")
    time = TimeMapAxis.from_time_edges(t0, t1)
    norm2 = rng.uniform(0.5, 1.5, (2, 3))
    lightcurve = FluxPoints(
        {"norm": norm2, "norm_err": 0.1 * norm2, "ts": rng.uniform(0, 30, (2, 3))},
        [energy, time],
        reference_model=PowerLawSpectralModel(),
        sed_type="likelihood",
    )
    return {"sed": sed, "likelihood": likelihood, "lightcurve": lightcurve}


def _written(fp: FluxPoints, suffix: str, sed_type=None) -> bytes:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"fp{suffix}"
        _quietly(fp.write, path, sed_type=sed_type)
        return path.read_bytes()


@functools.cache
def base_files() -> dict[str, bytes]:
    out = {}
    for name, fp in flux_points_examples().items():
        out[f"{name}.fits"] = _written(fp, ".fits")
        out[f"{name}.ecsv"] = _written(fp, ".ecsv")
    out["sed_e2dnde.fits"] = _written(flux_points_examples()["sed"], ".fits", sed_type="e2dnde")
    return out


def _case_folder():
    return tempfile.TemporaryDirectory(prefix="fluxfit-fuzz-")


def _check(fp: FluxPoints):
    shape = fp.data_shape if hasattr(fp, "data_shape") else None
    assert fp.energy_axis.nbin >= 1
    if shape is not None:
        for name in fp.available_quantities:
            value = fp.get_quantity(name) if hasattr(fp, "get_quantity") else None
            if value is not None and name not in ("norm_scan",):
                assert np.shape(value)[: len(shape)] == tuple(shape), name


SED_TYPES = (None, None, None, "dnde", "likelihood", "flux", "e2dnde", "eflux", "nope")


@given(data=st.data())
def test_fuzz_flux_points_fits(data):
    name = data.draw(
        st.sampled_from(["sed.fits", "likelihood.fits", "lightcurve.fits", "sed_e2dnde.fits"]),
        label="base",
    )
    raw = mutate_bytes(data, mutate_fits(data, base_files()[name], FP_KEYWORDS))
    sed_type = data.draw(st.sampled_from(SED_TYPES), label="sed_type")
    with _case_folder() as folder:
        path = write_case(folder, "case.fits", raw)
        fp, _ = attempt(
            "flux points FITS",
            lambda: _quietly(FluxPoints.read, path, sed_type=sed_type),
            [path.name],
        )
        if fp is not None:
            _check(fp)


ECSV_LINES = (
    "# %ECSV 0.9\n",
    "# ---\n",
    "# datatype:\n",
    "# - {name: e_ref, unit: TeV, datatype: string}\n",
    "# - {name: dnde, unit: notaunit, datatype: float64}\n",
    "# meta: !!omap\n",
    "# - {SED_TYPE: flux}\n",
    "# - {UL_CONF: abc}\n",
    "# - !!python/object/apply:os.system ['echo hi']\n",
    "# schema: astropy-2.0\n",
    "nan nan nan nan\n",
    "1 2 3\n",
    "e_ref e_min e_max dnde\n",
    "\n",
)


def _mutate_ecsv_table(data, raw: bytes) -> bytes:
    """Table-level mutations: the ECSV table put in a FITS table, mutated, written back."""
    table = Table.read(io.BytesIO(raw), format="ascii.ecsv")
    hdu = fits.table_to_hdu(table)
    mutated = mutate_fits(data, hdul_bytes(fits.HDUList([fits.PrimaryHDU(), hdu])), FP_KEYWORDS)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with fits.open(io.BytesIO(mutated)) as hdul:
                back = Table.read(hdul[1], mask_invalid=False) if len(hdul) > 1 else table
            out = io.StringIO()
            back.write(out, format="ascii.ecsv")
        return out.getvalue().encode()
    except Exception:  # a mutation astropy cannot turn into ECSV: keep the original table
        return raw


@given(data=st.data())
def test_fuzz_flux_points_ecsv(data):
    name = data.draw(
        st.sampled_from(["sed.ecsv", "likelihood.ecsv", "lightcurve.ecsv"]), label="base"
    )
    raw = base_files()[name]
    if data.draw(st.booleans(), label="table mutations"):
        raw = _mutate_ecsv_table(data, raw)
    text = mutate_text(data, raw.decode(), ECSV_LINES)
    sed_type = data.draw(st.sampled_from(SED_TYPES), label="sed_type")
    with _case_folder() as folder:
        path = write_case(folder, "case.ecsv", text)
        fp, _ = attempt(
            "flux points ECSV",
            lambda: _quietly(FluxPoints.read, path, sed_type=sed_type),
            [path.name],
        )
        if fp is not None:
            _check(fp)
