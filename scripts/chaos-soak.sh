#!/usr/bin/env bash
# A longer chaos soak than the CI matrix: every fault kind, several seeds, 5 minutes each by default.
# Usage: scripts/chaos-soak.sh [seconds-per-run] [first-seed] [runs]
# Reports go to ./chaos-soak/seed-N.html; exits non-zero if any run found an anomaly.
set -uo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-300}
first=${2:-1}
runs=${3:-3}
mkdir -p chaos-soak
status=0
for ((seed = first; seed < first + runs; seed++)); do
  echo "== soak run seed ${seed}, ${seconds}s" >&2
  node packages/cli/dist/main.js chaos --duration "${seconds}s" --seed "${seed}" \
    --faults kill,pause,partition,restart,coordinator,powerloss,delay --report "chaos-soak/seed-${seed}.html" \
    || status=1
done
exit $status
