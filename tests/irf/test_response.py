"""EnergyDispersionMatrix, EffectiveArea and SpectralResponse: axes, units, folding, checks."""

import time

import astropy.units as u
import numpy as np
import pytest
import scipy.sparse as sp

from fluxfit.errors import DatasetError, UnitError
from fluxfit.irf.response import EffectiveArea, EnergyDispersionMatrix, SpectralResponse


def gaussian_edisp(n_true, n_chan, sigma_bins=2.0, storage="auto"):
    """A normalised Gaussian redistribution, true bins spread over ~6 sigma of channels."""
    centres = (np.arange(n_true) + 0.5) * n_chan / n_true
    channels = np.arange(n_chan) + 0.5
    matrix = np.exp(-0.5 * ((channels[None, :] - centres[:, None]) / sigma_bins) ** 2)
    matrix[matrix < 1e-6] = 0.0
    matrix /= matrix.sum(axis=1, keepdims=True)
    energy_true = np.geomspace(0.1, 100, n_true + 1) * u.TeV
    energy = np.geomspace(0.1, 100, n_chan + 1) * u.TeV
    return EnergyDispersionMatrix(energy_true, energy, matrix, storage=storage), matrix


def test_axes_units_and_tev_copies():
    edges_kev = [1e8, 2e8, 4e8] * u.keV
    edisp = EnergyDispersionMatrix(edges_kev, [1e8, 3e8, 4e8] * u.keV, np.eye(2))
    assert edisp.energy_true_edges.unit == u.keV  # kept as given
    np.testing.assert_array_equal(edisp.energy_true_edges.value, [1e8, 2e8, 4e8])
    np.testing.assert_allclose(edisp.energy_true_edges_tev, [0.1, 0.2, 0.4], rtol=1e-15)
    np.testing.assert_allclose(edisp.energy_edges_tev, [0.1, 0.3, 0.4], rtol=1e-15)
    assert edisp.shape == (2, 2) and edisp.n_true == 2 and edisp.n_channels == 2
    plain = EnergyDispersionMatrix([1.0, 2.0], [1.0, 2.0], [[1.0]])
    assert plain.energy_true_edges.unit == u.TeV  # unitless means TeV


def test_construction_errors():
    with pytest.raises(UnitError, match="energy"):
        EnergyDispersionMatrix([1, 2] * u.m, [1, 2] * u.TeV, [[1.0]])
    with pytest.raises(DatasetError, match="increase strictly"):
        EnergyDispersionMatrix([1, 1] * u.TeV, [1, 2] * u.TeV, [[1.0]])
    with pytest.raises(DatasetError, match=r"\(n_true, n_chan\)"):
        EnergyDispersionMatrix([1, 2, 3] * u.TeV, [1, 2] * u.TeV, [[1.0]])
    with pytest.raises(UnitError, match="area"):
        EffectiveArea([1, 2] * u.TeV, [1] * u.s)
    with pytest.raises(DatasetError, match="shape"):
        EffectiveArea([1, 2, 3] * u.TeV, [1] * u.cm**2)


@pytest.mark.parametrize("storage", ["dense", "sparse"])
def test_fold_pdf_and_normalisation(storage):
    edisp, matrix = gaussian_edisp(200, 150, storage=storage)
    assert edisp.storage == storage
    np.testing.assert_array_equal(edisp.pdf_matrix, matrix)
    np.testing.assert_array_equal(edisp.to_dense(), matrix)
    flux = np.random.default_rng(3).random(200)
    np.testing.assert_allclose(edisp.fold(flux), flux @ matrix, rtol=1e-12)
    np.testing.assert_allclose(edisp.row_sums(), 1.0, rtol=1e-12)
    assert edisp.is_normalised()
    edisp.check_normalisation()
    assert edisp.max_value <= 1.0


def test_check_normalisation_names_the_row():
    matrix = np.array([[0.5, 0.4], [0.9, 0.3]])
    edisp = EnergyDispersionMatrix([1, 2, 3] * u.TeV, [1, 2, 3] * u.TeV, matrix)
    assert not edisp.is_normalised()
    with pytest.raises(DatasetError, match=r"row 1 .* sums to 1\.2"):
        edisp.check_normalisation()


def test_slice_channels():
    edisp, matrix = gaussian_edisp(40, 30)
    part = edisp.slice_channels(slice(5, 12))
    assert part.n_channels == 7
    np.testing.assert_array_equal(part.to_dense(), matrix[:, 5:12])
    np.testing.assert_array_equal(part.energy_edges.value, edisp.energy_edges.value[5:13])
    with pytest.raises(DatasetError, match="contiguous"):
        edisp.slice_channels(slice(0, 10, 2))
    with pytest.raises(DatasetError, match="slice"):
        edisp.slice_channels([1, 2])


def test_effective_area_units():
    area = EffectiveArea([1, 2, 3] * u.TeV, [1.0, 2.5] * u.m**2)
    assert area.area.unit == u.m**2
    np.testing.assert_allclose(area.area_cm2, [1e4, 2.5e4])
    assert EffectiveArea([1, 2] * u.TeV, [3.0]).area.unit == u.cm**2


@pytest.mark.parametrize("storage", ["dense", "sparse"])
def test_spectral_response_is_exposure_times_area_times_matrix(storage):
    edisp, matrix = gaussian_edisp(120, 90, storage=storage)
    area_cm2 = np.linspace(1e3, 5e4, 120)
    aeff = EffectiveArea(edisp.energy_true_edges, area_cm2 * u.cm**2)
    response = SpectralResponse(edisp, aeff, exposure=3 * u.h)
    assert response.exposure == 10800.0
    assert response.storage == storage
    expected = 10800.0 * area_cm2[:, None] * matrix
    np.testing.assert_allclose(response.to_dense(), expected, rtol=1e-14)
    flux = np.random.default_rng(4).random((5, 120)) * 1e-9
    np.testing.assert_allclose(response.fold(flux), flux @ expected, rtol=1e-12)
    # an RSP: the matrix already holds the area
    rsp = SpectralResponse(edisp, None, exposure=2.0)
    np.testing.assert_allclose(rsp.to_dense(), 2.0 * matrix, rtol=1e-15)


def test_spectral_response_checks_the_true_energy_grid():
    edisp, _ = gaussian_edisp(10, 8)
    shifted = EffectiveArea(edisp.energy_true_edges * 1.001, np.ones(10) * u.cm**2)
    with pytest.raises(DatasetError, match="true-energy edge 0"):
        SpectralResponse(edisp, shifted, exposure=1.0)
    # float32 rounding of the edges (RMF files) is tolerated
    float32 = EffectiveArea(
        edisp.energy_true_edges.value.astype(np.float32) * u.TeV, np.ones(10) * u.cm**2
    )
    SpectralResponse(edisp, float32, exposure=1.0)
    with pytest.raises(DatasetError, match="bins"):
        SpectralResponse(edisp, EffectiveArea([1, 2] * u.TeV, [1.0]), exposure=1.0)
    with pytest.raises(UnitError, match="time"):
        SpectralResponse(edisp, None, exposure=1 * u.m)
    with pytest.raises(DatasetError, match="exposure"):
        SpectralResponse(edisp, None, exposure=-1.0)


def _median_seconds(function, repeats):
    function()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def test_fold_timings_auto_storage_is_never_much_slower():
    """n_true=1000 x n_chan=128: auto storage folds within 1.5x of the best of dense/sparse."""
    rng = np.random.default_rng(5)
    results = {}
    for density_bins in (6, 60):  # ~5 % and ~45 % dense
        dense = np.zeros((1000, 128))
        for row in range(1000):
            centre = row * 128 // 1000
            low, high = max(0, centre - density_bins // 2), min(128, centre + density_bins // 2)
            dense[row, low:high] = rng.random(high - low)
        flux, batch = rng.random(1000), rng.random((1000, 1000))
        timings = {}
        for storage in ("dense", "sparse", "auto"):
            edisp = EnergyDispersionMatrix(
                np.geomspace(1, 10, 1001), np.geomspace(1, 10, 129), dense, storage=storage
            )
            timings[storage] = (
                _median_seconds(lambda e=edisp, x=flux: e.fold(x), 200),
                _median_seconds(lambda e=edisp, x=batch: e.fold(x), 10),
                edisp.storage,
            )
        results[density_bins] = timings
        for index in (0, 1):
            best = min(timings["dense"][index], timings["sparse"][index])
            # generous margin: timings on shared CI machines are noisy
            assert timings["auto"][index] <= 3.0 * best + 20e-6
    # sparse wins at 5 % density, dense at 45 %
    assert results[6]["auto"][2] == "sparse"
    assert results[60]["auto"][2] == "dense"


def test_sparse_csr_handed_over_without_copy():
    csr = sp.random(2000, 2000, density=0.001, format="csr", random_state=0)
    csr.sum_duplicates()
    edisp = EnergyDispersionMatrix(
        np.geomspace(1, 10, 2001), np.geomspace(1, 10, 2001), csr, copy=False
    )
    assert edisp.matrix is not None and edisp.storage == "sparse"
    assert np.shares_memory(edisp.matrix.data, csr.data)
