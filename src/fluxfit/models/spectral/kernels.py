"""Scalar kernels of the common spectral models, for compiled likelihood loops.

Each supported model class gets an integer code; `dnde_kernel` evaluates dN/dE of a model at
one energy and `integral_kernel` its closed-form integral over one bin, from the model's
canonical parameter values (the order of its ``_parameter_specs``, the units ``evaluate``
expects: TeV, cm-2 s-1 TeV-1, ...). The formulas are those of the numpy ``evaluate`` /
``evaluate_integral`` functions, operation for operation, so a compiled loop agrees with the
numpy path to rounding (tests check 1e-12 relative).

Only exact classes are covered (a subclass may redefine ``evaluate``); compound models are
decomposed by the caller into their summed components. Everything else is evaluated by numpy.
Compiled with numba where installed (`fluxfit._jit`); without numba these are plain Python
functions, used only by tests.
"""

from __future__ import annotations

import math

from fluxfit._jit import jit

from .constant import ConstantSpectralModel
from .curved import (
    ExpCutoffPowerLawSpectralModel,
    LogParabola10SpectralModel,
    LogParabolaSpectralModel,
)
from .gaussian import GaussianSpectralModel
from .grb import BandSpectralModel
from .powerlaws import (
    BrokenPowerLawSpectralModel,
    PowerLaw2SpectralModel,
    PowerLawFluxSpectralModel,
    PowerLawSpectralModel,
    SmoothBrokenPowerLawSpectralModel,
)
from .thermal import BlackbodySpectralModel

__all__ = [
    "KERNEL_CODES",
    "add_dnde_kernel",
    "add_integral_kernel",
    "dnde_kernel",
    "integral_kernel",
    "kernel_code",
]

_LN10 = math.log(10.0)
_SQRT2PI = math.sqrt(2.0 * math.pi)

#: model class -> (code, has a closed-form integral kernel)
KERNEL_CODES = {
    PowerLawSpectralModel: (0, True),
    PowerLaw2SpectralModel: (1, True),
    PowerLawFluxSpectralModel: (2, True),
    BrokenPowerLawSpectralModel: (3, True),
    SmoothBrokenPowerLawSpectralModel: (4, False),
    LogParabolaSpectralModel: (5, False),
    LogParabola10SpectralModel: (6, False),
    ExpCutoffPowerLawSpectralModel: (7, False),
    BandSpectralModel: (8, False),
    BlackbodySpectralModel: (9, False),
    ConstantSpectralModel: (10, True),
    GaussianSpectralModel: (11, False),
}


def kernel_code(model, closed_form: bool) -> int | None:
    """Kernel code for ``model`` integrated as a dataset would, or None if not covered.

    Parameters
    ----------
    model : `~fluxfit.models.SpectralModel`
        A non-compound spectral model.
    closed_form : bool
        True when the dataset integrates models that have a closed form with it (its "exact"
        integration): the model then needs a closed-form kernel.
    """
    entry = KERNEL_CODES.get(type(model))
    if entry is None:
        return None
    code, has_integral = entry
    if closed_form and model._has_closed_form("integral") and not has_integral:
        return None
    return code


@jit
def _pl_integral(energy_min, energy_max, reference, index):
    # power_law_integral of powerlaws.py, for one bin
    one_minus = 1.0 - index
    log_min = math.log(energy_min / reference)
    log_ratio = math.log1p((energy_max - energy_min) / energy_min)
    if one_minus == 0:
        factor = log_ratio
    else:
        factor = math.expm1(one_minus * log_ratio) / one_minus
    return reference * math.exp(one_minus * log_min) * factor


@jit
def _expm1(x):
    # exp(x) - 1 costs 60 % of expm1 and is as accurate (< 3 ulp) for x >= 0.5
    if x >= 0.5:
        return math.exp(x) - 1.0
    return math.expm1(x)


@jit
def _logaddexp0(x):
    # numpy's logaddexp(0, x)
    if x == 0.0:
        return math.log(2.0)
    if x > 0.0:
        return x + math.log1p(math.exp(-x))
    if x <= 0.0:
        return math.log1p(math.exp(x))
    return x  # NaN


@jit
def dnde_kernel(code, energy, p, o):
    """dN/dE (cm-2 s-1 TeV-1) of model ``code`` at ``energy`` (TeV), parameters ``p[o:]``."""
    if code == 0:  # PowerLaw: index, amplitude, reference
        return math.exp(-p[o] * math.log(energy / p[o + 2])) * p[o + 1]
    if code == 1:  # PowerLaw2: amplitude, index, emin, emax
        norm = _pl_integral(p[o + 2], p[o + 3], p[o + 3], p[o + 1])
        return math.exp(-p[o + 1] * math.log(energy / p[o + 3])) * (p[o] / norm)
    if code == 2:  # PowerLawFlux: F, index, a, b
        norm = _pl_integral(p[o + 2], p[o + 3], p[o + 3], -p[o + 1])
        return math.exp(p[o + 1] * math.log(energy / p[o + 3])) * (p[o] / norm)
    if code == 3:  # BrokenPowerLaw: index1, index2, amplitude, ebreak
        index = p[o] if energy < p[o + 3] else p[o + 1]
        return p[o + 2] * math.exp(-index * math.log(energy / p[o + 3]))
    if code == 4:  # SmoothBrokenPowerLaw: index1, index2, amplitude, ebreak, reference, beta
        smooth = p[o + 5] * (1.0 if p[o + 1] >= p[o] else -1.0)
        slope = (p[o + 1] - p[o]) / smooth
        log_break = _logaddexp0(slope * math.log(energy / p[o + 3]))
        return p[o + 2] * math.exp(-p[o] * math.log(energy / p[o + 4]) - smooth * log_break)
    if code == 5:  # LogParabola: amplitude, reference, alpha, beta
        log_x = math.log(energy / p[o + 1])
        return p[o] * math.exp(-(p[o + 2] + p[o + 3] * log_x) * log_x)
    if code == 6:  # LogParabola10
        log_x = math.log(energy / p[o + 1])
        return p[o] * math.exp(-(p[o + 2] + p[o + 3] * (log_x / _LN10)) * log_x)
    if code == 7:  # ExpCutoffPowerLaw: index, amplitude, reference, lambda_, alpha
        log_pl = -p[o] * math.log(energy / p[o + 2])
        return p[o + 1] * math.exp(log_pl - (p[o + 3] * energy) ** p[o + 4])
    if code == 8:  # Band: K, alpha, xp, beta, piv
        e0 = p[o + 2] / (2.0 + p[o + 1])
        alpha = max(p[o + 1], p[o + 3])
        diff = alpha - p[o + 3]
        ebreak = diff * e0
        log_x = math.log(energy / p[o + 4])
        if energy < ebreak:
            return p[o] * math.exp(alpha * log_x - energy / e0)
        shift = diff * (math.log(ebreak / p[o + 4]) - 1.0) if diff > 0 else 0.0
        return p[o] * math.exp(p[o + 3] * log_x + shift)
    if code == 9:  # Blackbody: K, kT
        return p[o] / _expm1(energy / p[o + 1]) * energy * energy
    if code == 10:  # Constant: const
        return p[o]
    if code == 11:  # Gaussian: amplitude, mean, sigma
        scaled = (energy - p[o + 1]) / p[o + 2]
        return p[o] / (_SQRT2PI * p[o + 2]) * math.exp(-0.5 * scaled * scaled)
    return math.nan


@jit
def add_dnde_kernel(code, p, o, nodes, log_nodes, node_bin, node_w, flux):
    """Add ``node_w * dN/dE(nodes)`` of model ``code`` to ``flux[node_bin]`` (cm-2 s-1).

    Same values as `dnde_kernel` node by node; what depends only on the parameters is
    computed once, and ``log_nodes`` (ln of the nodes in TeV) replaces ``ln(E / reference)``
    by ``ln E - ln reference`` (equal to rounding).
    """
    n = nodes.size
    if code == 0 or code == 1 or code == 2:
        if code == 0:
            slope, scale, log_ref = -p[o], p[o + 1], math.log(p[o + 2])
        elif code == 1:
            norm = _pl_integral(p[o + 2], p[o + 3], p[o + 3], p[o + 1])
            slope, scale, log_ref = -p[o + 1], p[o] / norm, math.log(p[o + 3])
        else:
            norm = _pl_integral(p[o + 2], p[o + 3], p[o + 3], -p[o + 1])
            slope, scale, log_ref = p[o + 1], p[o] / norm, math.log(p[o + 3])
        for i in range(n):
            flux[node_bin[i]] += node_w[i] * (math.exp(slope * (log_nodes[i] - log_ref)) * scale)
    elif code == 5 or code == 6:
        amplitude, log_ref, alpha, beta = p[o], math.log(p[o + 1]), p[o + 2], p[o + 3]
        if code == 6:
            beta = beta / _LN10
        for i in range(n):
            log_x = log_nodes[i] - log_ref
            flux[node_bin[i]] += node_w[i] * (amplitude * math.exp(-(alpha + beta * log_x) * log_x))
    elif code == 7:
        index, amplitude, log_ref, lambda_, alpha = (
            p[o],
            p[o + 1],
            math.log(p[o + 2]),
            p[o + 3],
            p[o + 4],
        )
        for i in range(n):
            log_pl = -index * (log_nodes[i] - log_ref)
            value = amplitude * math.exp(log_pl - (lambda_ * nodes[i]) ** alpha)
            flux[node_bin[i]] += node_w[i] * value
    elif code == 9:
        amplitude, kt = p[o], p[o + 1]
        for i in range(n):
            energy = nodes[i]
            flux[node_bin[i]] += node_w[i] * (amplitude / _expm1(energy / kt) * energy * energy)
    elif code == 10:
        for i in range(n):
            flux[node_bin[i]] += node_w[i] * p[o]
    else:
        for i in range(n):
            flux[node_bin[i]] += node_w[i] * dnde_kernel(code, nodes[i], p, o)


@jit
def integral_kernel(code, energy_min, energy_max, p, o):
    """Closed-form integral (cm-2 s-1) of model ``code`` over one bin (TeV)."""
    if code == 0:  # PowerLaw
        return p[o + 1] * _pl_integral(energy_min, energy_max, p[o + 2], p[o])
    if code == 1:  # PowerLaw2
        band = _pl_integral(energy_min, energy_max, p[o + 3], p[o + 1])
        return p[o] * band / _pl_integral(p[o + 2], p[o + 3], p[o + 3], p[o + 1])
    if code == 2:  # PowerLawFlux
        band = _pl_integral(energy_min, energy_max, p[o + 3], -p[o + 1])
        return p[o] * band / _pl_integral(p[o + 2], p[o + 3], p[o + 3], -p[o + 1])
    if code == 3:  # BrokenPowerLaw
        ebreak = p[o + 3]
        below = _pl_integral(min(energy_min, ebreak), min(energy_max, ebreak), ebreak, p[o])
        above = _pl_integral(max(energy_min, ebreak), max(energy_max, ebreak), ebreak, p[o + 1])
        return p[o + 2] * (below + above)
    if code == 10:  # Constant
        return p[o] * (energy_max - energy_min)
    return math.nan


@jit
def add_integral_kernel(code, p, o, e_lo, e_hi, log_lo, log_ratio, flux):
    """Add the closed-form integral of model ``code`` over each bin to ``flux`` (cm-2 s-1).

    ``log_lo`` = ln(e_lo) and ``log_ratio`` = ln1p((e_hi - e_lo) / e_lo) are the data-only
    terms of `_pl_integral`; equal to `integral_kernel` bin by bin to rounding.
    """
    n = e_lo.size
    if code == 0 or code == 1 or code == 2:
        if code == 0:
            one_minus, scale, reference = 1.0 - p[o], p[o + 1], p[o + 2]
        elif code == 1:
            one_minus, reference = 1.0 - p[o + 1], p[o + 3]
            scale = p[o] / _pl_integral(p[o + 2], p[o + 3], p[o + 3], p[o + 1])
        else:
            one_minus, reference = 1.0 + p[o + 1], p[o + 3]
            scale = p[o] / _pl_integral(p[o + 2], p[o + 3], p[o + 3], -p[o + 1])
        log_ref = math.log(reference)
        for j in range(n):
            if one_minus == 0:
                factor = log_ratio[j]
            else:
                factor = math.expm1(one_minus * log_ratio[j]) / one_minus
            flux[j] += scale * (reference * math.exp(one_minus * (log_lo[j] - log_ref)) * factor)
    else:
        for j in range(n):
            flux[j] += integral_kernel(code, e_lo[j], e_hi[j], p, o)
