"""Temporal models: values, integrals against scipy quad, scales, batches, I/O, templates."""

from __future__ import annotations

import pickle

import astropy.units as u
import numpy as np
import pytest
from astropy.table import Table
from astropy.time import Time
from scipy.integrate import quad

from fluxfit.errors import FormatError, MissingFileError, ModelError, OverwriteError, UnitError
from fluxfit.models.io import model_from_dict
from fluxfit.models.temporal import (
    T_REF_DEFAULT,
    ConstantTemporalModel,
    ExpDecayTemporalModel,
    GaussianTemporalModel,
    LightCurveTemplateTemporalModel,
    LinearTemporalModel,
    PowerLawTemporalModel,
    SineTemporalModel,
    TemporalModel,
)

T0 = 58000.0


def mjd(values, scale="tt"):
    return Time(np.atleast_1d(values), format="mjd", scale=scale)


ANALYTIC = [
    ConstantTemporalModel(scale="tt"),
    LinearTemporalModel(alpha=2.0, beta="-0.1 d-1", t_ref=T0, scale="tt"),
    ExpDecayTemporalModel(t0="3 d", t_ref=T0, scale="tt"),
    GaussianTemporalModel(t_ref=T0 + 1, sigma="0.5 d", scale="tt"),
    PowerLawTemporalModel(alpha=-1.5, t_ref=T0 - 1, t0="2 d", scale="tt"),
    PowerLawTemporalModel(alpha=-1.0, t_ref=T0 - 1, scale="tt"),
    SineTemporalModel(amp=0.7, omega="2 rad d-1", t_ref=T0, scale="tt"),
]


def test_values_by_hand():
    t = mjd([T0, T0 + 1.0, T0 + 4.0])
    lin, exp, gauss, pl, _, sine = (ANALYTIC[i] for i in (1, 2, 3, 4, 5, 6))
    np.testing.assert_allclose(lin(t), [2.0, 1.9, 1.6])
    np.testing.assert_allclose(exp(t), np.exp(-np.array([0.0, 1.0, 4.0]) / 3.0))
    np.testing.assert_allclose(gauss(t), np.exp(-0.5 * (np.array([-1.0, 0.0, 3.0]) / 0.5) ** 2))
    np.testing.assert_allclose(pl(t), (np.array([1.0, 2.0, 5.0]) / 2.0) ** -1.5)
    np.testing.assert_allclose(sine(t), 1 + 0.7 * np.sin(2 * np.array([0.0, 1.0, 4.0])))
    np.testing.assert_allclose(ANALYTIC[0](t), 1.0)
    assert pl(mjd(T0 - 2.0))[0] == 0.0  # before t_ref
    assert float(gauss(Time(T0 + 1, format="mjd", scale="tt"))) == 1.0


@pytest.mark.parametrize("model", ANALYTIC, ids=lambda m: f"{m.type}")
def test_integral_against_quad(model):
    t_min = np.array([T0 - 3.0, T0 - 0.2, T0 + 0.5, T0 + 2.0, T0 + 7.0])
    t_max = np.array([T0 - 1.5, T0 + 0.3, T0 + 2.0, T0 + 2.0, T0 + 30.0])
    expected = np.array(
        [
            quad(
                lambda t: float(model.value_array(t)), a, b, points=[T0 - 1, T0, T0 + 1], limit=200
            )[0]
            if b > a
            else 0.0
            for a, b in zip(t_min, t_max, strict=True)
        ]
    )
    np.testing.assert_allclose(model.integral_array(t_min, t_max), expected, rtol=1e-8, atol=1e-12)
    # Gammapy's integral: each interval over the total duration; sums to the weighted mean
    total = np.sum(t_max - t_min)
    np.testing.assert_allclose(
        model.integral(mjd(t_min), mjd(t_max)), expected / total, rtol=1e-8, atol=1e-12
    )
    means = model.mean(mjd(t_min), mjd(t_max))
    full = [0, 1, 2, 4]
    np.testing.assert_allclose(
        means[full], expected[full] / (t_max - t_min)[full], rtol=1e-8, atol=1e-12
    )
    assert np.isnan(means[3])


def test_generic_quadrature_fallback():
    class Quadratic(TemporalModel):
        tag = ()
        _parameter_specs = ()

        @staticmethod
        def evaluate(time):
            return (time - T0) ** 2

    model = Quadratic(scale="tt")
    np.testing.assert_allclose(
        model.integral_array([T0, T0 - 1.0], [T0 + 3.0, T0 + 1.0]), [9.0, 2 / 3]
    )


def test_utc_reference_time_is_converted_to_tt():
    model = GaussianTemporalModel(sigma="1 s")  # t_ref 2000-01-01 UTC, Gammapy's default
    assert model.t_ref.value == T_REF_DEFAULT
    assert model.reference_time.iso == "2000-01-01 00:00:00.000"
    assert float(model(Time("2000-01-01T00:00:00", scale="utc"))) == pytest.approx(1.0, abs=1e-6)
    # the same instant as an MJD in TT is 64.184 s later on the TT clock
    assert float(model.value_array(T_REF_DEFAULT + 64.184 / 86400)) == pytest.approx(1.0, abs=1e-6)
    assert float(model.value_array(T_REF_DEFAULT)) < 1e-100
    model.reference_time = Time("2010-01-01", scale="tt")
    assert model.t_ref.value == pytest.approx(Time("2010-01-01", scale="tt").utc.mjd, abs=1e-9)


def test_batch_evaluation():
    model = ExpDecayTemporalModel(t0="3 d", t_ref=T0, scale="tt")
    overrides = model.batch_overrides(model.parameters, {"t0": [1.0, 2.0, 3.0]})
    times = np.array([T0, T0 + 1.0, T0 + 2.0, T0 + 3.0])
    values = model.value_array(times, overrides)
    assert values.shape == (3, 4)
    integrals = model.integral_array(times[:-1], times[1:], overrides)
    assert integrals.shape == (3, 3)
    for i, t0 in enumerate([1.0, 2.0, 3.0]):
        single = model.copy(t0=t0)
        np.testing.assert_allclose(values[i], single.value_array(times))
        np.testing.assert_allclose(integrals[i], single.integral_array(times[:-1], times[1:]))


@pytest.mark.parametrize("model", ANALYTIC, ids=lambda m: f"{m.type}")
def test_dict_round_trip(model):
    data = model.to_dict()
    assert data["scale"] == "tt"
    again = model_from_dict(data, "temporal", "test")
    assert type(again) is type(model) and again.scale == "tt"
    np.testing.assert_allclose(again.parameters.value, model.parameters.value)
    assert again.to_dict(full_output=True) == model.to_dict(full_output=True)
    clone = pickle.loads(pickle.dumps(model))
    t = np.array([T0, T0 + 0.7])
    np.testing.assert_array_equal(clone.value_array(t), model.value_array(t))


def test_gammapy_like_dict():
    data = {
        "type": "LinearTemporalModel",
        "parameters": [
            {"name": "alpha", "value": 1.0},
            {"name": "beta", "value": 0.5, "unit": "d-1"},
            {"name": "t_ref", "value": 55555.0, "unit": "d", "frozen": True},
        ],
        "scale": "utc",
    }
    model = model_from_dict(data, "temporal", "src.temporal")
    assert model.scale == "utc" and model.t_ref.frozen
    assert model.type == "LinearTemporalModel"
    with pytest.raises(ModelError, match="unknown key"):
        model_from_dict({**data, "frame": "icrs"}, "temporal", "test")
    with pytest.raises(ModelError, match="time scale"):
        model_from_dict({**data, "scale": "martian"}, "temporal", "test")


def test_errors():
    with pytest.raises(UnitError, match="t0"):
        ExpDecayTemporalModel(t0="3 m")
    with pytest.raises(UnitError, match="astropy Time"):
        GaussianTemporalModel()(58000.0)
    with pytest.raises(ModelError, match="t_max"):
        GaussianTemporalModel().integral(mjd(T0 + 1), mjd(T0))
    with pytest.raises(ModelError, match="no reference time"):
        _ = ConstantTemporalModel().reference_time


# ------------------------------------------------------------------ templates
def test_light_curve_template_from_table():
    times = Time([T0, T0 + 1.0, T0 + 3.0, T0 + 4.0], format="mjd", scale="tt")
    norm = [0.0, 2.0, 2.0, 1.0]
    model = LightCurveTemplateTemporalModel(Table({"TIME": times, "NORM": norm}))
    np.testing.assert_allclose(model(mjd([T0 + 0.5, T0 + 2.0, T0 + 3.5])), [1.0, 2.0, 1.5])
    np.testing.assert_allclose(model(mjd([T0 - 1.0, T0 + 5.0])), 0.0)  # 0 outside
    t_min = np.array([T0 - 1.0, T0 + 0.5, T0 + 2.0, T0 + 3.9])
    t_max = np.array([T0 + 0.5, T0 + 2.0, T0 + 3.5, T0 + 9.0])
    expected = [
        quad(lambda t: float(model.value_array(t)), a, b, points=[T0, T0 + 1, T0 + 3, T0 + 4])[0]
        for a, b in zip(t_min, t_max, strict=True)
    ]
    np.testing.assert_allclose(model.integral_array(t_min, t_max), expected, rtol=1e-10)
    assert model.mean(mjd(T0), mjd(T0 + 4.0))[0] == pytest.approx((1 + 4 + 1.5) / 4)
    # MJD floats in UTC (the default scale) and offsets from MJDREF in seconds
    utc = LightCurveTemplateTemporalModel(Table({"TIME": times.utc.mjd, "NORM": norm}))
    np.testing.assert_allclose(utc.time_mjd, times.tt.mjd, atol=1e-9)
    seconds = Table({"TIME": (times.tt.mjd - 57000.0) * 86400.0, "NORM": norm})
    seconds.meta.update({"MJDREFI": 57000, "MJDREFF": 0.0, "TIMESYS": "TT", "TIMEUNIT": "s"})
    np.testing.assert_allclose(
        LightCurveTemplateTemporalModel(seconds).time_mjd, times.tt.mjd, atol=1e-9
    )


def test_light_curve_template_file_round_trip(tmp_path):
    table = Table({"TIME": [T0, T0 + 1.0, T0 + 2.0], "NORM": [1.0, 3.0, 2.0]})
    model = LightCurveTemplateTemporalModel(table, scale="tt")
    with pytest.raises(ModelError, match="filename"):
        model.to_dict()
    path = tmp_path / "lc.fits"
    model.write(path)
    with pytest.raises(OverwriteError):
        model.write(path)
    data = model.to_dict()
    assert data == {
        "type": "LightCurveTemplateTemporalModel",
        "parameters": [],
        "filename": str(path),
        "scale": "tt",
    }
    again = model_from_dict(data, "temporal", "test")
    np.testing.assert_allclose(again.time_mjd, model.time_mjd, atol=1e-9)
    np.testing.assert_allclose(again.norm, model.norm)
    assert pickle.loads(pickle.dumps(again)).to_dict() == data


def test_light_curve_template_errors(tmp_path):
    with pytest.raises(FormatError, match="NORM"):
        LightCurveTemplateTemporalModel(Table({"TIME": [1.0, 2.0], "FLUX": [1.0, 2.0]}))
    with pytest.raises(ModelError, match="increasing"):
        LightCurveTemplateTemporalModel(Table({"TIME": [T0 + 1, T0], "NORM": [1.0, 2.0]}))
    with pytest.raises(FormatError, match="MJDREFI"):
        LightCurveTemplateTemporalModel(Table({"TIME": [1.0, 2.0] * u.s, "NORM": [1.0, 2.0]}))
    with pytest.raises(MissingFileError, match=r"missing_lc\.fits"):
        LightCurveTemplateTemporalModel.read(tmp_path / "missing_lc.fits")
    bad = tmp_path / "bad_lc.fits"
    Table({"TIME": [T0, T0 + 1.0], "RATE": [1.0, 2.0]}).write(bad)
    with pytest.raises(FormatError, match=r"bad_lc\.fits.*NORM"):
        LightCurveTemplateTemporalModel.read(bad)
    garbage = tmp_path / "garbage.fits"
    garbage.write_bytes(b"\x00garbage" * 50)
    with pytest.raises(FormatError, match=r"garbage\.fits"):
        LightCurveTemplateTemporalModel.read(garbage)
