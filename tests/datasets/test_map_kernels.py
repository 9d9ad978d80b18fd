"""PSF kernels and dispersion matrices of map datasets against Gammapy 2.1.

Reference numbers were computed with Gammapy 2.1 in the bench venv on the Fermi-LAT
3FHL Crab dataset (``PSFMap.containment_radius`` at the PSF's 17 energy nodes and at
the 5 exposure bin centres, ``PSFMap.get_psf_kernel`` at the Crab position as
``MapEvaluator`` calls it); they are copied here (float32 kernel values).
"""

import astropy.units as u
import numpy as np
import pytest

from fluxfit.irf.kernels import (
    EDispKernelMap,
    PSFKernel,
    PSFMap,
    diagonal_edisp_matrix,
    round_up_to_odd,
)
from fluxfit.maps import MapAxis, read_map_hdus

CRAB = (83.63310241699219, 22.019899368286133, "icrs")
GAMMAPY_R999_DEG = [
    2.31042217851, 2.065727802025, 1.961027704172, 1.843288977964, 1.722277769387,
    1.60401666711, 1.487411117311, 1.393777686821, 1.305644447588, 1.243755591254,
    1.183377828897, 1.125627827076, 1.075866659969, 1.023999996337, 0.9817777946,
    0.941472256002, 0.942500034054,
]  # fmt: skip
GAMMAPY_R68_DEG = [0.123605556549, 0.10067777744, 0.099672221515, 0.093444445025, 0.080705555921]
GAMMAPY_KERNEL_CENTRE = [0.37021133, 0.4859028, 0.4924556, 0.5084533, 0.55554324]
GAMMAPY_KERNEL_23_26 = [0.0025950724, 0.00246368, 0.0025305583, 0.0022937183, 0.0017718149]


@pytest.fixture(scope="module")
def crab_maps(data_dir):
    return read_map_hdus(
        data_dir / "gammapy-data/fermi-3fhl-crab/Fermi-LAT-3FHL_data_Fermi-LAT.fits"
    )


@pytest.fixture(scope="module")
def psf(crab_maps):
    return PSFMap(crab_maps["PSF"], crab_maps["PSF_EXPOSURE"])


def test_round_up_to_odd():
    assert round_up_to_odd(46.2) == 47
    assert round_up_to_odd(46.0) == 47
    assert round_up_to_odd(47.0) == 47


def test_containment_radii_match_gammapy(psf, crab_maps):
    r999 = psf.containment_radius(0.999, psf.energy_true, CRAB)
    assert np.allclose(r999.to_value("deg"), GAMMAPY_R999_DEG, rtol=1e-9)
    centres = crab_maps["EXPOSURE"].geom.axes["energy_true"].center
    r68 = psf.containment_radius(0.68, centres, CRAB)
    assert np.allclose(r68.to_value("deg"), GAMMAPY_R68_DEG, rtol=1e-9)


def test_containment_is_monotonic_and_normalised(psf):
    rad = np.linspace(0, 9, 50) * u.deg
    values = psf.containment(rad, [0.02, 0.5] * u.TeV, CRAB)
    assert values.shape == (50, 2)
    assert np.all(np.diff(values, axis=0) >= -1e-12)
    assert np.allclose(values[-1], 1.0, atol=2e-3)


def test_psf_kernel_matches_gammapy(psf, crab_maps):
    kernel = psf.get_psf_kernel(crab_maps["EXPOSURE"].geom, position=CRAB)
    assert isinstance(kernel, PSFKernel)
    assert kernel.shape == (5, 47, 47)
    assert np.allclose(kernel.data.sum(axis=(1, 2)), 1.0, rtol=1e-12)
    # float32 values in Gammapy: agreement to its precision
    assert np.allclose(kernel.data[:, 23, 23], GAMMAPY_KERNEL_CENTRE, rtol=2e-7)
    assert np.allclose(kernel.data[:, 23, 26], GAMMAPY_KERNEL_23_26, rtol=1e-6)
    assert kernel.width_deg == pytest.approx(4.7)
    # symmetric up to the projection: the kernel is evaluated at the map centre
    assert np.allclose(kernel.data, kernel.data[:, ::-1, ::-1], atol=1e-6)


def test_kernel_convolution_preserves_flux():
    kernel = PSFKernel(np.random.default_rng(0).random((3, 5, 5)), binsz=0.1)
    image = np.zeros((21, 21))
    image[10, 10] = 1.0
    out = kernel.convolve(image[None])
    assert out.shape == (3, 21, 21)
    assert np.allclose(out.sum(axis=(1, 2)), 1.0)
    assert np.allclose(out[:, 8:13, 8:13], kernel.data)
    batch = kernel.convolve(np.stack([image, 2 * image])[:, None])
    assert batch.shape == (2, 3, 21, 21)
    assert np.allclose(batch[1], 2 * out)


def test_edisp_kernel_map_nearest_pixel(crab_maps):
    edisp = EDispKernelMap(crab_maps["EDISP"], crab_maps["EDISP_EXPOSURE"])
    matrix = edisp.get_edisp_kernel(CRAB)
    assert matrix.shape == (5, 5)
    assert np.allclose(matrix, np.eye(5))


def test_diagonal_edisp_overlap():
    true = [1, 2, 4, 8] * u.TeV
    reco = [1, 4, 8] * u.TeV
    matrix = diagonal_edisp_matrix(true, reco)
    assert np.allclose(matrix, [[1, 0], [1, 0], [0, 1]])
    axis = MapAxis.from_energy_edges(reco)
    axis_true = MapAxis.from_energy_edges(true, name="energy_true")
    edisp = EDispKernelMap.from_diagonal_response(axis, axis_true)
    assert np.allclose(edisp.get_edisp_kernel(), matrix)


def test_edisp_migration_map_matches_gammapy():
    """Gaussian migration (mean 1, sigma 0.1 -> 0.3 over 15 true bins), 10 reco bins.

    Reference: Gammapy 2.1 ``EDispMap.get_edisp_kernel`` on the same map (bench venv).
    """
    from fluxfit.irf.kernels import EDispMap
    from fluxfit.maps import Map, WcsGeom

    e_true = MapAxis.from_energy_bounds("0.1 TeV", "100 TeV", nbin=15, name="energy_true")
    migra = MapAxis.from_bounds(0.2, 5, nbin=60, node_type="edges", name="migra", interp="lin")
    geom = WcsGeom.create(npix=(3, 2), binsz=1.0, frame="icrs", axes=[migra, e_true])
    m = migra.center.value
    sigma = np.linspace(0.1, 0.3, 15)[:, None]
    density = np.exp(-0.5 * ((m[None, :] - 1.0) / sigma) ** 2) / np.sqrt(2 * np.pi) / sigma
    data = np.broadcast_to(density[:, :, None, None], geom.data_shape).copy()
    edisp = EDispMap(Map.from_geom(geom, data=data, unit="", dtype=float))
    e_reco = MapAxis.from_energy_bounds("0.1 TeV", "100 TeV", nbin=10, name="energy")
    matrix = edisp.get_edisp_kernel(e_reco)
    gammapy_row_sums = [
        0.974623580347819, 0.999992880430335, 0.999999898671429, 0.999999992834344,
        0.999999865387071, 0.999998750033593, 0.999992894339793, 0.999971688763663,
        0.999913302112923, 0.999782453516124, 0.999531858089103, 0.999106928741295,
        0.998452039202803, 0.997249651734822, 0.801374319011749,
    ]  # fmt: skip
    gammapy_row_7 = [
        0, 0, 7.472183501679118e-05, 6.463205526732062e-03, 4.934337614019136e-01,
        4.999995844574515e-01, 4.155425491481068e-07, 0, 0, 0,
    ]  # fmt: skip
    assert np.allclose(matrix.sum(axis=1), gammapy_row_sums, rtol=1e-12)
    assert np.allclose(matrix[7], gammapy_row_7, rtol=1e-9, atol=1e-15)
