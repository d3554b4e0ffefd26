#!/usr/bin/env bash
# Runs the same `runnel bench` workloads against NATS JetStream and against Runnel, one system at a
# time on this machine's loopback, and prints one table with both and the ratio Runnel/JetStream.
#
#   bash scripts/bench-peers.sh [--out DIR] [runnel bench options, e.g. --records 5000 --workload FILE]
#
# 1. JetStream: Debian's nats-server (installed with apt if missing), a 3-node cluster on
#    127.0.0.1 with file storage in a temp dir and default sync settings; each partition is a
#    stream with 3 replicas. Stopped (by PID) before Runnel starts.
# 2. Runnel: a fresh coordinator + 3 brokers (started and stopped by `runnel bench` itself), twice:
#    --fsync always (Runnel's default) and --fsync interval:60000, the nearest Runnel gets to
#    JetStream's default of syncing every 2 minutes (brokers accept intervals up to 60 s).
# The reports (JSON) and the table are kept in --out (default: a new temp dir).
# See docs/performance.md.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
CLI="$ROOT/packages/cli/dist/main.js"

OUT=""
BENCH_ARGS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --out) OUT="$2"; shift 2 ;;
    --out=*) OUT="${1#--out=}"; shift ;;
    *) BENCH_ARGS+=("$1"); shift ;;
  esac
done
[ -n "$OUT" ] || OUT=$(mktemp -d -t runnel-bench-peers-XXXXXX)
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

log() { echo "bench-peers: $*" >&2; }

# ---- prerequisites
if ! command -v nats-server >/dev/null 2>&1; then
  log "installing nats-server with apt"
  if [ "$(id -u)" = 0 ]; then SUDO=(); else SUDO=(sudo); fi
  "${SUDO[@]}" apt-get install -y nats-server || { "${SUDO[@]}" apt-get update && "${SUDO[@]}" apt-get install -y nats-server; }
fi
NATS_VERSION=$(nats-server --version)
if [ ! -f "$CLI" ]; then
  log "building (scripts/setup.sh)"
  bash scripts/setup.sh
fi

# ---- JetStream cluster: 3 servers, client + route ports picked free by the OS
NATS_DIR=$(mktemp -d -t runnel-bench-nats-XXXXXX)
NATS_PIDS=()
stop_nats() {
  local pid
  for pid in "${NATS_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${NATS_PIDS[@]}"; do
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  NATS_PIDS=()
}
cleanup() {
  stop_nats
  rm -rf "$NATS_DIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

read -r -a PORTS <<<"$(node -e '
const net = require("net");
const servers = Array.from({ length: 6 }, () => net.createServer());
Promise.all(servers.map((s) => new Promise((r) => s.listen(0, "127.0.0.1", () => r(s.address().port)))))
  .then((ports) => { console.log(ports.join(" ")); servers.forEach((s) => s.close()); });
')"
CLIENT_PORTS=("${PORTS[0]}" "${PORTS[1]}" "${PORTS[2]}")
ROUTE_PORTS=("${PORTS[3]}" "${PORTS[4]}" "${PORTS[5]}")
ROUTES="nats-route://127.0.0.1:${ROUTE_PORTS[0]}, nats-route://127.0.0.1:${ROUTE_PORTS[1]}, nats-route://127.0.0.1:${ROUTE_PORTS[2]}"
for i in 0 1 2; do
  mkdir -p "$NATS_DIR/n$i"
  # Defaults everywhere else: the file store fsyncs on its own timer every 2 minutes (fixed in
  # 2.9, which refuses a sync_interval key; that option, default 2m, came with 2.10).
  cat >"$NATS_DIR/n$i.conf" <<EOF
server_name: n$i
listen: 127.0.0.1:${CLIENT_PORTS[$i]}
jetstream {
  store_dir: "$NATS_DIR/n$i"
}
cluster {
  name: runnel-bench
  listen: 127.0.0.1:${ROUTE_PORTS[$i]}
  routes: [ $ROUTES ]
}
EOF
  nats-server -c "$NATS_DIR/n$i.conf" -l "$NATS_DIR/n$i.log" &
  NATS_PIDS+=($!)
done
NATS_URLS="nats://127.0.0.1:${CLIENT_PORTS[0]},nats://127.0.0.1:${CLIENT_PORTS[1]},nats://127.0.0.1:${CLIENT_PORTS[2]}"
log "JetStream: $NATS_VERSION, 3 servers (pids ${NATS_PIDS[*]}) at $NATS_URLS, data in $NATS_DIR"

# `runnel bench` waits (bounded) for the meta leader before it creates anything.
if ! node "$CLI" bench --system jetstream --nats "$NATS_URLS" --json ${BENCH_ARGS[@]+"${BENCH_ARGS[@]}"} >"$OUT/jetstream.json"; then
  log "JetStream run failed; server logs:"; tail -n 20 "$NATS_DIR"/n*.log >&2 || true
  exit 1
fi
stop_nats
log "JetStream stopped"

# ---- Runnel, one policy at a time (each run starts and stops its own cluster)
node "$CLI" bench --fsync always --json ${BENCH_ARGS[@]+"${BENCH_ARGS[@]}"} >"$OUT/runnel-fsync-always.json"
node "$CLI" bench --fsync interval:60000 --json ${BENCH_ARGS[@]+"${BENCH_ARGS[@]}"} >"$OUT/runnel-fsync-interval-60000.json"

# ---- one table: JetStream is the baseline of the ratios
node "$CLI" bench --compare "$OUT/jetstream.json" "$OUT/runnel-fsync-always.json" "$OUT/runnel-fsync-interval-60000.json" | tee "$OUT/comparison.txt"
log "reports and table in $OUT"
