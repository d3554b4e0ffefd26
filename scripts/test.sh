#!/usr/bin/env bash
# The whole suite: what `npm test` runs after scripts/setup.sh (install, typecheck, build).
# Prints a closing line "N passed, N failed" and fails when no test ran.
set -uo pipefail
cd "$(dirname "$0")/.."
report=$(mktemp -t runnel-vitest-XXXXXX.json)
trap 'rm -f "$report"' EXIT
pnpm() { npx --yes pnpm@9.15.9 "$@"; }
echo "runnel: typechecking tests" >&2
pnpm exec tsc -p tsconfig.test.json || exit 1
echo "runnel: lint" >&2
pnpm exec eslint --max-warnings 0 packages/*/src || exit 1
pnpm exec vitest run --reporter=default --reporter=json --outputFile.json="$report" "$@"
status=$?
node -e '
const fs = require("fs");
let r = {};
try { r = JSON.parse(fs.readFileSync(process.argv[1], "utf8")); } catch { console.log("0 passed, 0 failed"); process.exit(1); }
const passed = r.numPassedTests ?? 0, failed = (r.numFailedTests ?? 0), skipped = r.numPendingTests ?? 0;
console.log(`${passed} passed, ${failed} failed` + (skipped ? `, ${skipped} skipped` : ""));
if (passed === 0) { console.error("no test ran"); process.exit(1); }
' "$report" || status=1
exit $status
