#!/usr/bin/env bash
# The sustained-overload tests (test/overload-*.test.ts), after `npm test` has built everything:
# `.ci/run`'s second step. Each runs RUNNEL_OVERLOAD_SECONDS (default 60) and prints its figures.
# Prints a closing line "N passed, N failed" and fails when no test ran.
set -uo pipefail
cd "$(dirname "$0")/.."
report=$(mktemp -t runnel-overload-XXXXXX.json)
trap 'rm -f "$report"' EXIT
export RUNNEL_OVERLOAD=1
if ! compgen -G 'test/overload-*.test.ts' >/dev/null; then echo "overload: no test/overload-*.test.ts here; nothing to run" >&2; exit 0; fi
npx --yes pnpm@9.15.9 exec vitest run --reporter=default --reporter=json --outputFile.json="$report" test/overload- "$@"
status=$?
node -e '
const fs = require("fs");
let r = {};
try { r = JSON.parse(fs.readFileSync(process.argv[1], "utf8")); } catch { console.log("overload: 0 passed, 0 failed"); process.exit(1); }
const passed = r.numPassedTests ?? 0, failed = r.numFailedTests ?? 0;
console.log(`overload: ${passed} passed, ${failed} failed`);
if (passed === 0) { console.error("no overload test ran"); process.exit(1); }
' "$report" || status=1
exit $status
