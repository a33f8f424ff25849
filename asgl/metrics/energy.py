"""Energy estimate from synaptic operations (the usual SNN-paper model).

``E = E_AC · ACs + E_MAC · MACs`` per sample, with the operations of :mod:`asgl.metrics.synops`: our
count (pooled spikes folded into the next layer: accumulates) gives ``energy_pj_per_sample``, NeuroBench's
strict count (values outside ``{−1, 0, 1}`` are multiply-accumulates) ``strict_energy_pj_per_sample``.
Constants: the 45 nm CMOS, 32-bit float figures of Horowitz (ISSCC 2014): ``E_AC = 0.9 pJ`` (an addition),
``E_MAC = 4.6 pJ`` (multiplication 3.7 pJ + addition 0.9 pJ). It ignores memory access, neuron updates and
data movement, which dominate on real hardware: a relative figure only.
"""

from __future__ import annotations

from collections.abc import Mapping

E_AC_PJ = 0.9
E_MAC_PJ = 4.6
ENERGY_MODEL = "45 nm CMOS, 32-bit float (Horowitz, ISSCC 2014): 0.9 pJ/AC, 4.6 pJ/MAC; synaptic ops only"


def energy_pj(acs: float, macs: float, e_ac: float = E_AC_PJ, e_mac: float = E_MAC_PJ) -> float:
    """``e_ac · acs + e_mac · macs`` in picojoules."""
    if acs < 0 or macs < 0:
        raise ValueError(f"operation counts must be >= 0, got acs={acs!r}, macs={macs!r}")
    return e_ac * acs + e_mac * macs


def energy_estimate(synops: Mapping[str, float]) -> dict[str, float | str]:
    """Energy per sample from :meth:`asgl.metrics.synops.SynOpsCounter.summary`'s counts.

    Keys: ``energy_pj_per_sample``, ``energy_uj_per_sample`` (ours), ``strict_energy_pj_per_sample``
    (NeuroBench's strict count; present when the summary has ``strict_acs``), ``energy_model``.
    """
    total = energy_pj(synops["effective_acs"], synops["effective_macs"])
    out: dict[str, float | str] = {"energy_pj_per_sample": total, "energy_uj_per_sample": total * 1e-6}
    if "strict_acs" in synops:
        out["strict_energy_pj_per_sample"] = energy_pj(synops["strict_acs"], synops["strict_macs"])
    out["energy_model"] = ENERGY_MODEL
    return out
