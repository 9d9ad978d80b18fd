"""MapAxis, MapAxes and TimeMapAxis: binning, coordinates, grouping and table formats."""

import astropy.units as u
import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table
from astropy.time import Time

from fluxfit.errors import DatasetError, FormatError, UnitError
from fluxfit.maps import LabelMapAxis, MapAxes, MapAxis, TimeMapAxis


@pytest.mark.parametrize(
    ("interp", "edges", "centers"),
    [
        ("lin", [0.0, 2.5, 5.0, 7.5, 10.0], [1.25, 3.75, 6.25, 8.75]),
        ("log", [1.0, 10.0, 100.0], [10**0.5, 10**1.5]),
        ("sqrt", [1.0, 4.0, 9.0], [2.25, 6.25]),
    ],
)
def test_edges_and_centers(interp, edges, centers):
    axis = MapAxis.from_bounds(edges[0], edges[-1], len(edges) - 1, interp=interp, unit="TeV")
    assert axis.nbin == len(centers)
    np.testing.assert_allclose(axis.edges.to_value("TeV"), edges, rtol=1e-12)
    np.testing.assert_allclose(axis.center.to_value("TeV"), centers, rtol=1e-12)
    np.testing.assert_allclose(axis.bin_width.to_value("TeV"), np.diff(edges), rtol=1e-12)
    # pixel <-> coordinate round trip, including extrapolation outside the axis
    pix = np.array([-0.7, -0.5, 0.0, 0.3, axis.nbin - 0.5, axis.nbin + 0.2])
    coord = axis.pix_to_coord(pix)
    np.testing.assert_allclose(axis.coord_to_pix(coord), pix, atol=1e-10)


def test_from_nodes_center_axis():
    axis = MapAxis.from_nodes([1, 2, 4], unit="deg", name="rad", interp="lin")
    assert axis.node_type == "center"
    np.testing.assert_allclose(axis.center.value, [1, 2, 4])
    np.testing.assert_allclose(axis.edges.value, [0.5, 1.5, 3.0, 5.0])
    single = MapAxis.from_nodes([3.0], name="x")
    assert single.nbin == 1
    np.testing.assert_allclose(single.coord_to_pix([1.0, 7.0]), [0.0, 0.0])


def test_energy_factories():
    axis = MapAxis.from_energy_bounds("10 GeV", "2 TeV", nbin=5)
    assert axis.name == "energy" and axis.unit == u.TeV and axis.interp == "log"
    np.testing.assert_allclose(axis.edges[[0, -1]].to_value("GeV"), [10, 2000])
    per_decade = MapAxis.from_energy_bounds(1, 100, 5, unit="TeV", per_decade=True)
    assert per_decade.nbin == 10
    axis_true = MapAxis.from_energy_edges([10, 100, 2000] * u.GeV, name="energy_true")
    assert axis_true.name == "energy_true" and axis_true.nbin == 2
    with pytest.raises(UnitError, match="energy"):
        MapAxis.from_energy_bounds("1 deg", "2 deg", 3)
    with pytest.raises(DatasetError, match="energy"):
        MapAxis.from_energy_bounds("1 TeV", "2 TeV", 3, name="rad")


def test_invalid_nodes_raise():
    with pytest.raises(DatasetError, match="sorted"):
        MapAxis([1, 3, 2], name="x")
    with pytest.raises(DatasetError, match="unique"):
        MapAxis([1, 1, 2], name="x")
    with pytest.raises(DatasetError, match="positive"):
        MapAxis([-1, 1, 2], interp="log", name="x")
    with pytest.raises(UnitError, match="x"):
        MapAxis([1, 2], unit="not-a-unit", name="x")


def test_coord_to_idx_half_open_and_clip():
    axis = MapAxis.from_edges([1, 10, 100], unit="TeV", name="energy", interp="log")
    idx = axis.coord_to_idx([0.5, 1, 9.99, 10, 100, 500, np.nan] * u.TeV)
    np.testing.assert_array_equal(idx, [-1, 0, 0, 1, -1, -1, -1])
    np.testing.assert_array_equal(axis.coord_to_idx([0.5, 500] * u.TeV, clip=True), [0, 1])
    # plain floats are in the axis unit; Quantities are converted
    np.testing.assert_array_equal(axis.coord_to_idx([2000 * u.GeV]), [0])
    with pytest.raises(UnitError, match="energy"):
        axis.coord_to_idx(1 * u.deg)


def test_slice_squash_down_upsample_pad():
    axis = MapAxis.from_energy_bounds("1 TeV", "100 TeV", 8)
    sliced = axis.slice(slice(2, 5))
    np.testing.assert_allclose(sliced.edges.value, axis.edges.value[2:6])
    assert axis.squash().nbin == 1
    np.testing.assert_allclose(axis.squash().edges.value, [1, 100])
    np.testing.assert_allclose(axis.downsample(2).edges.value, axis.edges.value[::2])
    with pytest.raises(DatasetError, match="divisible"):
        axis.downsample(3)
    assert axis.downsample(3, strict=False).nbin == 3
    up = axis.upsample(2)
    assert up.nbin == 16
    np.testing.assert_allclose(up.edges.value[::2], axis.edges.value, rtol=1e-12)
    padded = axis.pad(1)
    assert padded.nbin == 10
    np.testing.assert_allclose(padded.edges.value[1:-1], axis.edges.value, rtol=1e-12)


def test_group_table_snaps_to_edges():
    axis = MapAxis.from_energy_bounds(10, 500, 11, unit="GeV")
    groups = axis.group_table([10, 2000] * u.GeV)
    assert len(groups) == 1
    assert (groups["idx_min"][0], groups["idx_max"][0]) == (0, 10)
    assert groups["bin_type"][0].strip() == "normal"
    # interior edges are rounded to the nearest axis edge, with under/overflow groups
    groups = axis.group_table([20, 100] * u.GeV)
    assert list(np.char.strip(groups["bin_type"].astype(str))) == [
        "underflow",
        "normal",
        "overflow",
    ]
    normal = groups[1]
    edges = axis.edges.to_value("GeV")
    assert normal["energy_min"] == pytest.approx(edges[normal["idx_min"]])
    assert normal["energy_max"] == pytest.approx(edges[normal["idx_max"] + 1])
    assert groups["idx_min"][0] == 0 and groups["idx_max"][-1] == axis.nbin - 1
    assert list(groups["group_idx"]) == [0, 1, 2]
    with pytest.raises(DatasetError, match="no overlap"):
        axis.group_table([1, 2] * u.TeV)


def test_aligned_and_equality():
    axis = MapAxis.from_energy_bounds("1 TeV", "10 TeV", 4)
    assert axis == axis.copy()
    assert axis != axis.copy(name="energy_true")
    assert axis.is_aligned(axis.slice(slice(1, 3)))
    assert not axis.is_aligned(axis.upsample(2))  # centres fall between bins
    other = MapAxis.from_energy_bounds("1.3 TeV", "10 TeV", 4)
    assert not axis.is_aligned(other)
    in_gev = MapAxis.from_energy_bounds("1000 GeV", "10000 GeV", 4)
    assert axis == in_gev


@pytest.mark.parametrize(
    ("name", "fmt", "columns"),
    [
        ("energy", "ogip", ["CHANNEL", "E_MIN", "E_MAX"]),
        ("energy_true", "ogip-arf", ["ENERG_LO", "ENERG_HI"]),
        ("energy_true", "gadf-dl3", ["ENERG_LO", "ENERG_HI"]),
    ],
)
def test_table_formats_round_trip(name, fmt, columns):
    axis = MapAxis.from_energy_bounds("0.1 TeV", "100 TeV", 6, name=name)
    table = axis.to_table(format=fmt)
    assert table.colnames == columns
    kwargs = {"column_prefix": "ENERG"} if fmt == "gadf-dl3" else {}
    back = MapAxis.from_table(table, format=fmt, **kwargs)
    assert back == axis


def test_ogip_ebounds_hdu_and_sherpa_units():
    axis = MapAxis.from_energy_bounds("0.1 TeV", "10 TeV", 3)
    hdu = axis.to_table_hdu(format="ogip")
    assert hdu.name == "EBOUNDS"
    assert hdu.header["HDUCLAS2"] == "EBOUNDS" and hdu.header["DETCHANS"] == 3
    assert axis.to_table(format="ogip-sherpa")["E_MIN"].unit == u.keV


def test_dl3_other_axes_and_nodes():
    offset = MapAxis.from_bounds(0, 2.5, 5, unit="deg", name="offset")
    migra = MapAxis.from_nodes([0.5, 1.0, 1.5], name="migra")
    table = Table()
    for ax in (offset, migra):
        for col in ax.to_table(format="gadf-dl3").itercols():
            table[col.name] = col
    axes = MapAxes.from_table(table, format="gadf-dl3")
    assert axes.names == ["offset", "migra"]
    assert axes["offset"] == offset
    assert axes["migra"].node_type == "center"


def test_bands_table_layout_two_axes():
    energy = MapAxis.from_energy_bounds("10 GeV", "500 GeV", 3)
    energy_true = MapAxis.from_energy_bounds("8 GeV", "600 GeV", 4, name="energy_true")
    axes = MapAxes([energy, energy_true])
    hdu = axes.to_table_hdu(format="gadf", hdu_bands="EDISP_BANDS")
    assert hdu.name == "EDISP_BANDS"
    assert hdu.header["AXCOLS1"] == "E_MIN,E_MAX"
    assert hdu.header["AXCOLS2"] == "ENERGY_TRUE_MIN,ENERGY_TRUE_MAX"
    assert hdu.header["INTERP1"] == "log"
    table = Table.read(hdu)
    assert table.colnames == [
        "CHANNEL",
        "ENERGY",
        "E_MIN",
        "E_MAX",
        "ENERGY_TRUE",
        "ENERGY_TRUE_MIN",
        "ENERGY_TRUE_MAX",
    ]
    # first axis fastest (the order of the flattened data array)
    np.testing.assert_allclose(table["E_MIN"][:3], energy.edges_min.value)
    assert np.all(table["ENERGY_TRUE_MIN"][:3] == table["ENERGY_TRUE_MIN"][0])
    back = MapAxes.from_table(table, format="gadf")
    assert back == axes


def test_bands_center_axis_and_fermi_formats():
    nodes = MapAxis.from_nodes([10, 20, 40] * u.GeV, name="energy_true", interp="log")
    hdu = MapAxes([nodes]).to_table_hdu(format="gadf", hdu_bands="EXPOSURE_BANDS")
    assert hdu.header["AXCOLS1"] == "ENERGY_TRUE"
    assert MapAxes.from_table_hdu(hdu)[0] == nodes
    template = MapAxes([nodes]).to_table_hdu(format="fgst-template")
    assert template.name == "ENERGIES" and template.columns.names == ["Energy"]
    back = MapAxes.from_table_hdu(template, format="fgst-template")[0]
    np.testing.assert_allclose(back.center.to_value("GeV"), [10, 20, 40])
    energy = MapAxis.from_energy_bounds("10 GeV", "1 TeV", 2)
    ccube = MapAxes([energy]).to_table_hdu(format="fgst-ccube")
    assert ccube.name == "EBOUNDS" and list(ccube.data["CHANNEL"]) == [1, 2]
    assert MapAxes.from_table_hdu(ccube, format="fgst-ccube")[0] == energy


def test_axis_table_errors_name_table_and_column():
    table = Table({"E_MIN": [1.0, 2.0]}, meta={"EXTNAME": "EBOUNDS"})
    with pytest.raises(FormatError, match=r"EBOUNDS.*E_MAX"):
        MapAxis.from_table(table, format="ogip")
    with pytest.raises(FormatError, match="AXCOLS1"):
        MapAxis.from_table(Table({"X": [1.0]}, meta={"EXTNAME": "X_BANDS"}), format="gadf")
    with pytest.raises(FormatError, match="format"):
        MapAxis.from_energy_bounds("1 TeV", "2 TeV", 1).to_table(format="nope")


def test_map_axes_container():
    energy = MapAxis.from_energy_bounds("1 TeV", "10 TeV", 3)
    rad = MapAxis.from_bounds(0, 1, 5, name="rad", unit="deg")
    axes = MapAxes([rad, energy])
    assert axes.names == ["rad", "energy"] and axes.shape == (5, 3)
    assert axes["energy"] is energy and axes[0] is rad
    assert axes.index_data("energy") == 0 and axes.index_data("rad") == 1
    assert axes.squash("rad").shape == (1, 3)
    assert axes.drop("rad").names == ["energy"]
    assert axes[["energy", "rad"]].names == ["energy", "rad"]
    assert axes.slice_by_idx({"energy": 1}).names == ["rad"]
    assert axes.rename_axes("rad", "theta").names == ["theta", "energy"]
    with pytest.raises(KeyError, match="migra"):
        axes["migra"]
    with pytest.raises(DatasetError, match="unique"):
        MapAxes([rad, rad])
    resampled = MapAxes([MapAxis.from_energy_bounds("1 TeV", "100 TeV", 8)]).resample(
        MapAxis.from_energy_edges([1, 10, 100] * u.TeV)
    )
    np.testing.assert_allclose(resampled["energy"].edges.value, [1, 10, 100])


# ---------------------------------------------------------------------------- time axis
@pytest.fixture
def time_axis():
    ref = Time("2020-01-01T00:00:00", scale="tt")
    return TimeMapAxis([0, 1, 3] * u.d, [0.8, 1.9, 5.4] * u.d, ref)


def test_time_axis_non_contiguous(time_axis):
    assert time_axis.nbin == 3
    assert not time_axis.is_contiguous
    with pytest.raises(DatasetError, match="contiguous"):
        _ = time_axis.edges
    np.testing.assert_allclose(time_axis.time_min.mjd - time_axis.reference_time.mjd, [0, 1, 3])
    np.testing.assert_allclose(
        time_axis.time_mid.mjd - time_axis.reference_time.mjd, [0.4, 1.45, 4.2]
    )
    np.testing.assert_allclose(time_axis.bin_width.to_value("d"), [0.8, 0.9, 2.4])
    times = time_axis.reference_time + [0.5, 0.9, 1.5, 6.0] * u.d
    np.testing.assert_array_equal(time_axis.coord_to_idx(times), [0, -1, 1, -1])
    np.testing.assert_allclose(time_axis.coord_to_pix(times)[[0, 2]], [0.125, 1 + 0.5 / 0.9 - 0.5])
    mid = time_axis.pix_to_coord([0.0, 1.0, 2.0])
    np.testing.assert_allclose(mid.mjd, time_axis.time_mid.mjd)
    contiguous = time_axis.to_contiguous()
    assert contiguous.is_contiguous and contiguous.nbin == 5


def test_time_axis_factories_and_tables(time_axis):
    t0 = Time(["2021-01-01T00:00", "2021-01-03T00:00"], scale="utc")
    t1 = Time(["2021-01-02T00:00", "2021-01-04T00:00"], scale="utc")
    axis = TimeMapAxis.from_time_edges(t0, t1)
    np.testing.assert_allclose(axis.edges_min.to_value("d"), [0, 2])
    bounds = TimeMapAxis.from_time_bounds(t0[0], t1[1], nbin=3)
    assert bounds.is_contiguous and bounds.nbin == 3
    table = time_axis.to_table()
    assert table.colnames == ["START", "STOP"] and table.meta["MJDREFI"] == 58849
    back = TimeMapAxis.from_table(table, format="gti")
    assert back == time_axis
    # in a BANDS table together with an energy axis
    energy = MapAxis.from_energy_bounds("1 TeV", "10 TeV", 2)
    hdu = MapAxes([energy, time_axis]).to_table_hdu(format="gadf")
    axes = MapAxes.from_table(Table.read(hdu), format="gadf")
    assert isinstance(axes["time"], TimeMapAxis)
    assert axes["time"] == time_axis
    assert time_axis.slice(slice(1, 3)).nbin == 2
    assert time_axis.squash().nbin == 1


def test_time_axis_validation():
    ref = Time("2020-01-01", scale="tt")
    with pytest.raises(DatasetError, match="overlap"):
        TimeMapAxis([0, 1] * u.d, [2, 3] * u.d, ref)
    with pytest.raises(UnitError, match="time unit"):
        TimeMapAxis([0, 1] * u.m, [0.5, 2] * u.m, ref)
    with pytest.raises(FormatError, match="MJDREFI"):
        TimeMapAxis.from_table(Table({"START": [0.0], "STOP": [1.0]}), format="gti")


def test_gadf_bands_header_of_time_axis(time_axis):
    header = MapAxes([time_axis]).to_header()
    assert header["AXCOLS1"] == "TIME_MIN,TIME_MAX"
    assert isinstance(header, fits.Header) and header["MJDREFI"] == 58849


def test_label_axis_in_bands_table():
    labels = LabelMapAxis(["fermi", "hess", "hawc"], name="dataset")
    assert labels.nbin == 3 and labels.coord_to_idx(["hawc", "fermi"]).tolist() == [2, 0]
    with pytest.raises(DatasetError, match="unknown label"):
        labels.coord_to_idx(["magic"])
    with pytest.raises(DatasetError, match="unique"):
        LabelMapAxis(["a", "a"], name="dataset")
    energy = MapAxis.from_energy_bounds("1 TeV", "10 TeV", 2)
    hdu = MapAxes([energy, labels]).to_table_hdu(format="gadf")
    table = Table.read(hdu)
    assert "DATASET_MIN" not in table.colnames and hdu.header["AXCOLS2"] == "DATASET"
    back = MapAxes.from_table(table, format="gadf")
    assert back["dataset"] == labels  # label order is kept
    assert labels.squash().center.tolist() == ["fermi...hawc"]
    assert labels.slice(slice(1, 3)).center.tolist() == ["hess", "hawc"]
