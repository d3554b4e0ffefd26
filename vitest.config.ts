import { defineConfig } from 'vitest/config';

// One config for the whole workspace. Tests import other packages' TypeScript sources through the
// "source" export condition, so unit tests need no build; tests that start real processes use dist/.
export default defineConfig({
  resolve: { conditions: ['source'] },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'test/**/*.test.ts'],
    // The sustained-overload tests (a minute each) run in .ci/run's second step, or with
    // RUNNEL_OVERLOAD=1 (README, "When producers outrun consumers").
    exclude: ['**/node_modules/**', ...(process.env.RUNNEL_OVERLOAD === '1' ? [] : ['test/overload-*.test.ts'])],
    pool: 'forks',
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: ['default'],
  },
});
