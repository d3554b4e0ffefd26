#!/usr/bin/env bash
# Install and build: the first half of both `npm start` and `npm test`.
# Needs only Node 20 and npm: pnpm itself comes from the npm registry through npx, pinned.
set -euo pipefail
cd "$(dirname "$0")/.."
PNPM_VERSION=9.15.9
pnpm() { npx --yes "pnpm@${PNPM_VERSION}" "$@"; }

echo "runnel: installing dependencies (pnpm ${PNPM_VERSION})" >&2
pnpm install --frozen-lockfile --reporter=append-only >&2
echo "runnel: generating proto types and building" >&2
node scripts/gen-proto-types.mjs
pnpm exec tsc -b
