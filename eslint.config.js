// Lint rules that the type checker cannot enforce on its own. Run by scripts/test.sh.
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/dist/**', '**/generated/**', '**/node_modules/**'] },
  {
    files: ['packages/*/src/**/*.ts'],
    languageOptions: {
      parser: tseslint.parser,
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { '@typescript-eslint': tseslint.plugin },
    rules: {
      // Every promise has an owner: awaited, returned, or explicitly voided with its errors handled.
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
      // Output goes through pino loggers (or the CLI's one output module).
      'no-console': 'error',
    },
  },
  {
    files: ['packages/cli/src/output.ts', 'packages/cli/src/format.ts'],
    rules: { 'no-console': 'off' },
  },
);
