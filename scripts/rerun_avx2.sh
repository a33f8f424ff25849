#!/usr/bin/env bash
# Retrain the benchmark's runs with another floating-point summation order, as another processor would give:
# torch's and oneDNN's CPU kernels limited to AVX2. The runs, settings, data and code are the table's; only the
# order of the sums inside the kernels changes. `asgl-bench reproduce --fresh OUT` then measures what that
# alone does to the table (docs/pipeline.md, "Reproducing the committed table").
#
#   scripts/rerun_avx2.sh OUT [DATASET ...]     e.g. scripts/rerun_avx2.sh results-avx2 digits nmnist-small
#
# Needs the prepared data of `make benchmark` (data/prepared). Writes OUT/ and OUT.params.yaml.
set -euo pipefail
out=${1:?usage: scripts/rerun_avx2.sh OUT [DATASET ...]}
shift
py=${PYTHON:-.venv/bin/python}
"$py" - "$out" "$@" <<'PY'
import sys
import yaml
out, datasets = sys.argv[1], sys.argv[2:]
params = yaml.safe_load(open("params.yaml", encoding="utf-8"))
params["results_dir"] = out
if datasets:
    params["run"]["datasets"] = datasets
yaml.safe_dump(params, open(f"{out}.params.yaml", "w", encoding="utf-8"), sort_keys=False)
PY
export ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2
for method in $("$py" -c "import yaml; print(' '.join(yaml.safe_load(open('$out.params.yaml'))['run']['methods']))"); do
    "$py" -m pipelines.stages.train --method "$method" --params "$out.params.yaml" | tail -n 1
done
"$py" -m pipelines.stages.linear --params "$out.params.yaml"
"$py" -m pipelines.stages.evaluate --params "$out.params.yaml"
