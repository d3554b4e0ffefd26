#!/bin/sh
# Entrypoint of the Runnel image (deploy/Dockerfile), installed as /usr/local/bin/runnel-entrypoint.
# The first argument picks the process; the rest are its flags (docs/configuration.md):
#   runnel-entrypoint coordinator [FLAGS]
#   runnel-entrypoint broker --id N [FLAGS]
#   runnel-entrypoint cli ARGS...            (the `runnel` admin CLI, e.g. `cli topic create demo`)
# Every flag can also come from its RUNNEL_* environment variable; a flag wins over the variable.
# exec: the process is PID 1's direct replacement, so it receives SIGTERM from the runtime itself.
set -eu
role="${1:-}"
case "$role" in
  coordinator | broker)
    shift
    exec node "/app/packages/$role/dist/main.js" "$@"
    ;;
  cli)
    shift
    exec node /app/packages/cli/dist/main.js "$@"
    ;;
  *)
    echo "runnel-entrypoint: first argument must be coordinator, broker or cli (got '$role')" >&2
    exit 2
    ;;
esac
