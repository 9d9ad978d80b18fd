"""Parameters: values with units, bounds, scaling, links and collections."""

import pickle

import astropy.units as u
import numpy as np
import pytest

from fluxfit.errors import ParameterError, UnitError
from fluxfit.models import GaussianPrior, Parameter, Parameters


def test_value_unit_and_quantity():
    par = Parameter("amplitude", "1e-12 cm-2 s-1 TeV-1")
    assert par.value == 1e-12
    assert par.unit == u.Unit("cm-2 s-1 TeV-1")
    par.value = 2e-12 * u.Unit("cm-2 s-1 TeV-1")
    assert par.value == pytest.approx(2e-12)
    par.quantity = 2e-9 * u.Unit("cm-2 s-1 GeV-1")  # converted into the parameter unit
    assert par.value == pytest.approx(2e-6)
    assert par.quantity.unit == u.Unit("cm-2 s-1 TeV-1")


def test_change_unit_converts_value_bounds_error():
    par = Parameter("kT", 500.0, unit="keV", min=1.0, max=1e4, error=10.0)
    par.unit = "MeV"
    assert par.value == pytest.approx(0.5)
    assert par.min == pytest.approx(1e-3)
    assert par.max == pytest.approx(10.0)
    assert par.error == pytest.approx(0.01)
    with pytest.raises(UnitError, match="kT"):
        par.unit = "cm"


@pytest.mark.parametrize("bad", [np.nan, np.inf, "abc", [1, 2]])
def test_invalid_values_name_parameter(bad):
    par = Parameter("index", 2.0)
    with pytest.raises(ParameterError, match="index"):
        par.value = bad


def test_out_of_bounds_and_bounds_setters():
    par = Parameter("index", 2.0, min=0, max=5)
    with pytest.raises(ParameterError, match=r"index.*6.0.*\[0.0, 5.0\]"):
        par.value = 6.0
    with pytest.raises(ParameterError, match="index"):
        Parameter("index", -1.0, min=0)
    with pytest.raises(ParameterError):
        par.min = 3.0
    par.bounds = (None, None)
    assert np.isnan(par.min) and np.isnan(par.max)
    par.value = 100.0
    with pytest.raises(ParameterError, match="exclude"):
        par.bounds = (0, 10)


def test_incompatible_unit_value():
    par = Parameter("reference", 1.0, unit="TeV")
    with pytest.raises(UnitError, match="reference"):
        par.value = 3 * u.cm


def test_scale_and_factor():
    par = Parameter("amplitude", 3.2e-12, unit="cm-2 s-1 TeV-1")
    par.autoscale()
    assert par.scale == pytest.approx(1e-12)
    assert par.factor == pytest.approx(3.2)
    par.factor = 5.0
    assert par.value == pytest.approx(5e-12)
    zero = Parameter("tilt", 0.0)
    zero.autoscale()
    assert zero.scale == 1.0


def test_functional_link_follows_master_and_units():
    master = Parameter("kT", 500.0, unit="keV")
    slave = Parameter("kT2", 1.0, unit="MeV")
    slave.link(master, scale=2.0, offset=0.1)
    assert slave.value == pytest.approx(2 * 0.5 + 0.1)
    master.value = 250.0
    assert slave.value == pytest.approx(0.6)
    assert not slave.is_free
    with pytest.raises(ParameterError, match="linked"):
        slave.value = 3.0
    slave.unlink()
    assert slave.value == pytest.approx(0.6) and slave.is_free


def test_link_cycle_and_units_rejected():
    a, b = Parameter("a", 1.0), Parameter("b", 1.0)
    b.link(a)
    with pytest.raises(ParameterError, match="cycle"):
        a.link(b)
    c = Parameter("c", 1.0, unit="cm")
    with pytest.raises(UnitError):
        c.link(Parameter("d", 1.0, unit="s"))


def test_link_overrides_batch():
    master = Parameter("kT", 500.0, unit="keV")
    slave = Parameter("kT2", 1.0, unit="keV")
    slave.link(master, scale=0.5)
    batch = np.array([[100.0], [200.0]])
    assert np.allclose(slave.value_from({master: batch}), [[50.0], [100.0]])


def test_parameters_unique_objects_and_lookup():
    a = Parameter("a", 1.0)
    b = Parameter("b", 2.0, frozen=True)
    c = Parameter("c", 3.0)
    c.link(a)
    pars = Parameters([a, b, a, c], names=["m1.a", "m1.b", "m2.a", "m2.c"])
    assert len(pars) == 3
    assert pars.names == ["m1.a", "m1.b", "m2.c"]
    assert pars["m1.a"] is a
    assert pars["b"] is b  # unique tail
    assert pars[0] is a
    assert pars.free_parameters.names == ["m1.a"]
    with pytest.raises(ParameterError, match="no parameter"):
        pars["zzz"]


def test_parameters_vectors_set_atomically():
    a = Parameter("a", 1.0, min=0)
    b = Parameter("b", 2.0)
    pars = Parameters([a, b])
    pars.free_values = [3.0, 4.0]
    assert list(pars.value) == [3.0, 4.0]
    with pytest.raises(ParameterError):
        pars.free_values = [5.0, np.nan]
    assert list(pars.value) == [3.0, 4.0]  # nothing changed
    with pytest.raises(ParameterError, match="expected 2"):
        pars.free_values = [1.0]


def test_covariance_sets_errors_and_correlation():
    a, b = Parameter("a", 1.0), Parameter("b", 2.0)
    pars = Parameters([a, b])
    cov = np.array([[4.0, 1.0], [1.0, 9.0]])
    pars.covariance = cov
    assert a.error == pytest.approx(2.0) and b.error == pytest.approx(3.0)
    assert pars.correlation[0, 1] == pytest.approx(1 / 6)
    assert np.allclose(pars.get_subcovariance(["b"]), [[9.0]])
    with pytest.raises(ParameterError, match="symmetric"):
        pars.covariance = [[1.0, 2.0], [0.0, 1.0]]


def test_table_and_pickle():
    a = Parameter("a", 1.0, prior=GaussianPrior(0, 1))
    b = Parameter("b", 2.0)
    b.link(a, scale=2)
    pars = Parameters([a, b])
    table = pars.to_table()
    assert list(table["name"]) == ["a", "b"]
    assert table["link"][1] == "a"
    assert "GaussianPrior" in table["prior"][0]
    assert "a" in str(pars)
    a2, b2 = pickle.loads(pickle.dumps([a, b]))
    assert b2.link_info.master is a2
    a2.value = 3.0
    assert b2.value == 6.0
