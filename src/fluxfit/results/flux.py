"""Integral fluxes of sources and their components for many parameter sets at once.

`AnalysisResults.get_flux` builds on three pieces here:

- `flux_kind`: which integral a flux unit asks for, as 3ML decides it: photon flux
  ``int dN/dE dE`` (units like ``1/(cm2 s)``), energy flux ``int E dN/dE dE``
  (``erg/(cm2 s)``) or the "nuFnu" flux ``int E^2 dN/dE dE`` (``erg2/(cm2 s)``, 3ML's
  ``nufnu_flux``: the energy-squared-weighted integral, not E^2 dN/dE at one energy);
- `flux_rows`: the rows of the table (per source, per additive component, summed over
  sources) with 3ML's labels (``"src1: total"``, ``"src2: BlackbodySpectralModel"``,
  ``"total"``);
- `band_integrals`: the integral of each row over one band for a batch of parameter
  sets (samples), in one vectorised evaluation per component. Linked parameters follow
  their masters inside the batch, so a temperature linked across sources carries its
  uncertainty into every flux that depends on it (3ML's ``get_flux`` keeps linked
  parameters at their best-fit value instead).

Integration methods (``integration=``):

=========  ==========================================================================
"exact"    default: closed forms where the model has them (power laws), otherwise
           Gauss-Legendre quadrature in ln E (8 nodes per <= 0.05 decade, relative
           accuracy ~1e-10 for smooth spectra); fast (a few ms for 10^4 samples)
"quad"     adaptive Gauss-Kronrod (`scipy.integrate.quad_vec` in ln E, relative
           tolerance 1e-10), vectorised over samples; the accurate reference, slower
"trapz"    3ML's fast default: trapezoid rule on 50 energies (log-spaced when the band
           spans more than two decades, else linear); reproduces 3ML's numbers, with
           its errors (e.g. +7 % for a power law of index -1.5 over 10-500 keV)
=========  ==========================================================================
"""

from __future__ import annotations

import warnings
from collections import Counter

import astropy.units as u
import numpy as np

from fluxfit.errors import ModelError, UnitError

__all__ = [
    "FLUX_KINDS",
    "INTEGRATION_METHODS",
    "FluxRow",
    "flux_kind",
    "additive_terms",
    "flux_rows",
    "band_integrals",
]

#: flux kind -> (power of E in the integrand, internal unit of the integral)
FLUX_KINDS = {
    "photon": (0, u.Unit("cm-2 s-1")),
    "energy": (1, u.Unit("TeV cm-2 s-1")),
    "nufnu": (2, u.Unit("TeV2 cm-2 s-1")),
}
INTEGRATION_METHODS = ("exact", "quad", "trapz")
_CHUNK = 2048  # parameter sets per evaluation (memory: chunk x quadrature nodes)


def flux_kind(flux_unit):
    """(kind, power, unit, factor) for a flux unit.

    ``factor`` converts the internal integral (TeV-based units) to ``unit``.
    """
    try:
        with warnings.catch_warnings():  # "erg/cm2/s" (3ML's spelling) warns about slashes
            warnings.simplefilter("ignore", u.UnitsWarning)
            unit = u.Unit(flux_unit)
    except (ValueError, TypeError) as exc:
        raise UnitError(f"flux_unit: cannot parse {flux_unit!r} ({exc})") from None
    for kind, (power, internal) in FLUX_KINDS.items():
        if unit.is_equivalent(internal):
            return kind, power, unit, internal.to(unit)
    raise UnitError(
        f"flux_unit {unit.to_string()!r} is not a photon flux (e.g. 1/(cm2 s)), an energy "
        "flux (erg/(cm2 s)) nor an energy-squared flux (erg2/(cm2 s))"
    )


def additive_terms(spectral_model) -> list:
    """The terms of a sum of spectral models (a product or a simple model is one term)."""
    if getattr(spectral_model, "operator", None) == "+":
        return additive_terms(spectral_model.model1) + additive_terms(spectral_model.model2)
    return [spectral_model]


def _term_name(term) -> str:
    if getattr(term, "operator", None) is not None:
        return f"{_term_name(term.model1)}{term.operator}{_term_name(term.model2)}"
    return term.type


def _term_aliases(term) -> set:
    if getattr(term, "operator", None) is not None:
        return {_term_name(term)}
    return {term.type, type(term).__name__, *getattr(term, "tag", ())}


def _dedupe(names):
    counts = Counter(names)
    seen = Counter()
    out = []
    for name in names:
        if counts[name] > 1:
            seen[name] += 1
            out.append(f"{name}_n{seen[name]}")
        else:
            out.append(name)
    return out


class FluxRow:
    """One row of a flux table: a label and the spectral terms whose fluxes add up to it."""

    def __init__(self, label: str, terms: list):
        self.label = label
        self.terms = list(terms)

    def __repr__(self) -> str:
        return f"FluxRow({self.label!r}, {len(self.terms)} terms)"


def _sources(models, sources):
    available = [
        m
        for m in models
        if getattr(m, "spectral_model", None) is not None
        and not getattr(m.spectral_model, "is_norm_spectral_model", False)
        and hasattr(m, "spatial_model")
    ]
    if sources is None:
        return available
    if isinstance(sources, str):
        sources = [sources]
    names = [m.name for m in available]
    unknown = [s for s in sources if s not in names]
    if unknown:
        raise ModelError(f"get_flux: unknown source(s) {unknown}; sources are {names}")
    return [m for m in available if m.name in sources]


def flux_rows(models, sources=None, components=False, sum_sources=False) -> list[FluxRow]:
    """Rows of a flux table, labelled as 3ML labels them.

    Parameters
    ----------
    models : `~fluxfit.models.Models`
        The models (sources with a photon spectrum are used).
    sources : str or list of str, optional
        Source names (default: all).
    components : bool or list of str
        False: one row per source, ``"<source>: total"``. True: one row per additive
        component of each source with several (``"<source>: <component type>"``, repeated
        types get ``_n1``, ``_n2``), ``"<source>: total"`` for a source with one. A list
        selects components by type name or alias (``"Blackbody"`` finds
        ``BlackbodySpectralModel``), ``"total"`` adding each source's total.
    sum_sources : bool
        One row ``"total"`` summing the selected sources (and ``"total: <component>"``
        per component name when components are asked for), instead of per-source rows.
    """
    selected = _sources(models, sources)
    if not selected:
        raise ModelError("get_flux: no source with a photon spectrum in these models")
    wanted = None
    if components not in (True, False):
        wanted = [components] if isinstance(components, str) else list(components)
    per_source = []  # (name, total terms, [(component label, terms)])
    for model in selected:
        terms = additive_terms(model.spectral_model)
        names = _dedupe([_term_name(t) for t in terms])
        comps = []
        if len(terms) > 1 and components is not False:
            for name, term in zip(names, terms):
                if wanted is None or name in wanted or _term_aliases(term) & set(wanted):
                    comps.append((name, [term]))
        per_source.append((model.name, terms, comps))

    def want_total(terms, comps):
        if components is False or wanted is None:
            return components is False or len(terms) == 1
        if "total" in wanted:
            return True
        return len(terms) == 1 and bool(_term_aliases(terms[0]) & set(wanted))

    rows = []
    if sum_sources:
        all_terms = [t for _, terms, _ in per_source for t in terms]
        if components is False or wanted is None or "total" in wanted:
            rows.append(FluxRow("total", all_terms))
        if components is not False:
            grouped: dict[str, list] = {}
            for _, _, comps in per_source:
                for name, terms in comps:
                    grouped.setdefault(name, []).extend(terms)
            rows += [FluxRow(f"total: {name}", terms) for name, terms in grouped.items()]
        return rows
    for name, terms, comps in per_source:
        rows += [FluxRow(f"{name}: {cname}", cterms) for cname, cterms in comps]
        if want_total(terms, comps):
            rows.append(FluxRow(f"{name}: total", terms))
    if not rows:
        raise ModelError(f"get_flux: no component matches {components!r}")
    return rows


# ------------------------------------------------------------------ integrals
def _integrate_term(term, emin, emax, power, overrides, method, k):
    """E^power-weighted integral of one term over [emin, emax] (TeV), shape (k,)."""
    if method == "exact":
        if power == 0:
            values = term.integral_array(emin, emax, overrides)
        elif power == 1:
            values = term.energy_flux_array(emin, emax, overrides)
        else:
            from fluxfit.models.spectral.integrate import LogQuadrature

            quad = LogQuadrature(np.array([emin]), np.array([emax]))
            nodes = quad.nodes
            values = quad.integrate(term.dnde_array(nodes, overrides) * nodes**power)[..., 0]
        return np.broadcast_to(np.asarray(values, dtype=float), (k,))
    if method == "trapz":
        grid = np.geomspace(emin, emax, 50) if emax / emin > 100 else np.linspace(emin, emax, 50)
        y = term.dnde_array(grid, overrides) * grid**power
        return np.broadcast_to(np.trapezoid(y, grid, axis=-1), (k,))
    from scipy.integrate import quad_vec

    def integrand(log_energy):
        energy = np.exp(np.atleast_1d(log_energy))
        dnde = np.broadcast_to(term.dnde_array(energy, overrides), (k, 1))[:, 0]
        return dnde * energy[0] ** (power + 1)

    values, _ = quad_vec(integrand, np.log(emin), np.log(emax), epsrel=1e-10, epsabs=0.0)
    return np.broadcast_to(values, (k,))


def band_integrals(
    rows, parameters, values, energy_min, energy_max, power: int = 0, method: str = "exact"
) -> np.ndarray:
    """Integral of each row over one band for each parameter set.

    Parameters
    ----------
    rows : list of `FluxRow`
        What to integrate (terms are summed per row; each term is integrated once).
    parameters : list of `~fluxfit.models.Parameter`
        The parameters the columns of ``values`` set (linked ones follow).
    values : array of shape (k, n)
        Parameter sets, in the parameters' units.
    energy_min, energy_max : float
        Band in TeV.
    power : int
        0 photon, 1 energy, 2 energy-squared flux.
    method : {"exact", "quad", "trapz"}

    Returns
    -------
    array of shape (k, n_rows) in cm-2 s-1 TeV^power.
    """
    if method not in INTEGRATION_METHODS:
        raise ModelError(f"integration={method!r}; use one of {INTEGRATION_METHODS}")
    if not (np.isfinite(energy_min) and np.isfinite(energy_max)) or not 0 < energy_min:
        raise UnitError(f"energy band must be positive and finite, got {energy_min}-{energy_max}")
    if not energy_max > energy_min:
        raise UnitError(f"energy_max must exceed energy_min, got {energy_min}-{energy_max} TeV")
    values = np.atleast_2d(np.asarray(values, dtype=float))
    k = values.shape[0]
    out = np.empty((k, len(rows)))
    terms = {id(t): t for row in rows for t in row.terms}
    for start in range(0, k, _CHUNK):
        block = values[start : start + _CHUNK]
        overrides = {par: block[:, i : i + 1] for i, par in enumerate(parameters)}
        with np.errstate(over="ignore", under="ignore", invalid="ignore", divide="ignore"):
            term_values = {
                key: _integrate_term(
                    t, energy_min, energy_max, power, overrides, method, len(block)
                )
                for key, t in terms.items()
            }
        for j, row in enumerate(rows):
            out[start : start + len(block), j] = sum(term_values[id(t)] for t in row.terms)
    return out
