#!/usr/bin/env bash
# Every GPU measurement of the benchmarks, in one run that fits a 10-minute slot on one GPU (540 s
# of timeouts in all):
#   1. bench_train.py, small configuration: the research code, the plain transcription and hallctl
#      in fp32 and bf16, interleaved, samples/s and peak memory (timeout 90 s);
#   2. the same with the compiled variants added (timeout 270 s: compiling takes minutes; part 1's
#      figures survive if this part runs out of time);
#   3. bench_train.py, the medium project's network (25.3 M parameters, 128 points), batch 256,
#      eager (timeout 90 s);
#   4. bench_sample.py, tiny network, 256 posterior samples (timeout 90 s).
# Each part's output goes to OUT_DIR/<part>.txt; a part that runs out of time is reported and the
# next one runs. Exit status: 0 when every part finished, 1 when one did not, 2 when none could start.
#
# usage: bash benchmarks/gpu_check.sh [OUT_DIR]      (default: gpu-check)
# The project need not be installed (the checkout is put on PYTHONPATH). The research code's rows
# need ../shared/peer/upstream_edm2.py beside the checkout, or HALLCTL_PEER naming that file.
set -uo pipefail
if [ $# -gt 1 ]; then
    echo "error: one argument at most (the output folder); usage: bash benchmarks/gpu_check.sh [OUT_DIR]" >&2
    exit 2
fi
out=$(realpath -m "${1:-gpu-check}")
cd "$(dirname "$0")/.." || exit 2
python=${PYTHON:-python3}
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
if ! command -v "$python" >/dev/null; then
    echo "error: no python command '$python'; set PYTHON to the interpreter that has torch" >&2
    exit 2
fi
"$python" - <<'EOF' || exit 2
import sys
try:
    import torch
except ImportError:
    sys.exit("error: this python cannot import torch; set PYTHON to the interpreter that has it")
if not torch.cuda.is_available():
    sys.exit("error: torch sees no CUDA device; run benchmarks/gpu_check.sh on a machine with a GPU")
EOF
mkdir -p "$out" || exit 2
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv >"$out/gpu.txt" 2>&1 || true

failed=0
part() {  # part NAME SECONDS COMMAND...
    local name=$1 seconds=$2 status
    shift 2
    echo "== $name (at most ${seconds} s): $*"
    timeout "$seconds" "$@" 2>&1 | tee "$out/$name.txt"
    status=${PIPESTATUS[0]}
    if [ "$status" -ne 0 ]; then
        echo "== $name: $([ "$status" -eq 124 ] && echo "out of time after ${seconds} s" || echo "exit status $status")"
        failed=1
    fi
}
part train-small 90 "$python" benchmarks/bench_train.py --device cuda --rounds 5 --steps 10
part train-small-compile 270 "$python" benchmarks/bench_train.py --device cuda --compile --rounds 5 --steps 10
part train-medium 90 "$python" benchmarks/bench_train.py --device cuda --config configs/medium.toml --batch 256 \
    --rounds 3 --steps 5
part sample-tiny 90 "$python" benchmarks/bench_sample.py --device cuda --config tiny --samples 256
exit "$failed"
