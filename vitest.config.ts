import { defineConfig } from 'vitest/config';

// One config for the whole workspace. Tests import other packages' TypeScript sources through the
// "source" export condition, so unit tests need no build; tests that start real processes use dist/.
export default defineConfig({
  resolve: { conditions: ['source'] },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'test/**/*.test.ts'],
    pool: 'forks',
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: ['default'],
  },
});
