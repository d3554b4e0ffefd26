#!/usr/bin/env bash
# Install and build: the first half of both `npm start` and `npm test`.
# Needs only Node 20 and npm: pnpm itself comes from the npm registry through npx, pinned.
# Install and proto generation each leave a stamp (a fingerprint of their inputs) when they succeed
# and are skipped while it matches; tsc -b is incremental. So a start with nothing changed takes
# about a second, and a fresh clone (no stamps) runs every step.
set -euo pipefail
cd "$(dirname "$0")/.."
PNPM_VERSION=9.15.9
pnpm() { npx --yes "pnpm@${PNPM_VERSION}" "$@"; }

# sha256 of Node's version and platform, the pnpm version, and the path and bytes of every file
# named (a folder: every file under it, in sorted order; a missing path counts as missing).
fingerprint() {
  PNPM_VERSION="$PNPM_VERSION" node -e '
    const { createHash } = require("node:crypto");
    const fs = require("node:fs");
    const path = require("node:path");
    const h = createHash("sha256").update(`${process.version} ${process.platform} ${process.arch} pnpm ${process.env.PNPM_VERSION}\n`);
    const add = (p) => {
      let st;
      try { st = fs.statSync(p); } catch { h.update(`${p}\0missing\0`); return; }
      if (st.isDirectory()) { for (const e of fs.readdirSync(p).sort()) add(path.join(p, e)); return; }
      h.update(`${p}\0`).update(fs.readFileSync(p)).update("\0");
    };
    for (const p of process.argv.slice(1)) add(p);
    process.stdout.write(h.digest("hex"));
  ' "$@"
}

# Skipped (stamp matches) or run, then stamped only once it has succeeded.
install_stamp=node_modules/.runnel-install-stamp
install_key=$(fingerprint pnpm-lock.yaml pnpm-workspace.yaml .npmrc package.json packages/*/package.json test/package.json)
if [[ -f "$install_stamp" && "$(cat "$install_stamp")" == "$install_key" ]]; then
  echo "runnel: dependencies up to date (lockfile and package.json files unchanged since the last install)" >&2
else
  echo "runnel: installing dependencies (pnpm ${PNPM_VERSION})" >&2
  rm -f "$install_stamp"
  pnpm install --frozen-lockfile --reporter=append-only >&2
  printf '%s' "$install_key" > "$install_stamp"
fi

# The generator replaces the whole folder, stamp included; regenerating identical files would still
# give them new mtimes and make tsc -b rebuild every package.
proto_stamp=packages/protocol/src/generated/.runnel-proto-stamp
proto_key=$(fingerprint proto scripts/gen-proto-types.mjs "$install_stamp")
if [[ -f "$proto_stamp" && "$(cat "$proto_stamp")" == "$proto_key" ]]; then
  echo "runnel: proto types up to date (proto/ unchanged since they were generated)" >&2
else
  echo "runnel: generating proto types" >&2
  node scripts/gen-proto-types.mjs
  printf '%s' "$proto_key" > "$proto_stamp"
fi

echo "runnel: building (tsc -b, incremental)" >&2
node_modules/.bin/tsc -b
