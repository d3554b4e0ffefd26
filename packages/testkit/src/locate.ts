import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

export type Role = 'coordinator' | 'broker';

/**
 * The built entry point (`dist/main.js`) of @runnel/coordinator or @runnel/broker, found through
 * the package's own package.json. Throws, saying how to build it, when it is missing.
 */
export function locateMain(role: Role): string {
  const require = createRequire(import.meta.url);
  const pkg = role === 'broker' ? '@runnel/broker/package.json' : '@runnel/coordinator/package.json';
  const main = join(dirname(require.resolve(pkg)), 'dist', 'main.js');
  if (!existsSync(main)) {
    throw new Error(`${role} entry point ${main} does not exist; build the workspace first (npx tsc -b)`);
  }
  return main;
}
