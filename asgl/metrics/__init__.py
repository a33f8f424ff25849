"""Metrics as small functions (NeuroBench's split into static and workload metrics).

Static: :func:`parameter_count`, :func:`footprint_bytes`. Workload: :func:`top1_accuracy`,
:class:`SpikeRecorder` (firing rates, activation sparsity), :class:`SynOpsCounter` (ACs, MACs, dense; spike
inputs known from the graph by :class:`SpikeTrace`), :func:`energy_estimate`, :func:`workload_metrics` (all
in one pass). Cost: :class:`ThroughputMeter`, :func:`inference_throughput`, :class:`PeakMemory`.
Definitions: docs/metrics.md.
"""

from asgl.metrics.accuracy import count_correct, predictions, top1_accuracy
from asgl.metrics.energy import E_AC_PJ, E_MAC_PJ, ENERGY_MODEL, energy_estimate, energy_pj
from asgl.metrics.memory import PeakMemory
from asgl.metrics.params import footprint_bytes, parameter_count
from asgl.metrics.sparsity import SpikeRecorder, spiking_layers
from asgl.metrics.spike_trace import SpikeTrace
from asgl.metrics.synops import LayerOps, SynOpsCounter, is_strict_spike_input, layer_synops
from asgl.metrics.throughput import ThroughputMeter, inference_throughput, measure_throughput
from asgl.metrics.workload import workload_metrics

__all__ = [
    "ENERGY_MODEL",
    "E_AC_PJ",
    "E_MAC_PJ",
    "LayerOps",
    "PeakMemory",
    "SpikeRecorder",
    "SpikeTrace",
    "SynOpsCounter",
    "ThroughputMeter",
    "count_correct",
    "energy_estimate",
    "energy_pj",
    "footprint_bytes",
    "inference_throughput",
    "is_strict_spike_input",
    "layer_synops",
    "measure_throughput",
    "parameter_count",
    "predictions",
    "spiking_layers",
    "top1_accuracy",
    "workload_metrics",
]
