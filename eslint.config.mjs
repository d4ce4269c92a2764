import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';
import { builtinModules } from 'node:module';

// Workflow code runs in Temporal's deterministic sandbox: no Node builtins, no I/O libraries,
// no worker/client/activity SDK, and only *types* from core (compute happens in activities).
const nodeBuiltins = builtinModules.flatMap((name) => [name, `node:${name}`]);

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.tempest/**', 'coverage/**', 'test-output/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      globals: { ...globals.node },
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/restrict-template-expressions': [
        'error',
        { allowNumber: true, allowBoolean: true },
      ],
    },
  },
  {
    files: ['workflows/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: nodeBuiltins.map((name) => ({
            name,
            message: 'Node builtins are not allowed in workflow code.',
          })),
          patterns: [
            {
              group: ['@temporalio/activity', '@temporalio/client', '@temporalio/worker', 'onnxruntime-node'],
              message: 'Workflow code may only use @temporalio/workflow and activity proxies.',
            },
            {
              group: ['../core/*', '../core/**', '../activities/*', '../activities/**'],
              allowTypeImports: true,
              message: 'Workflows import only types from core and activities; compute runs in activities.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['**/*.mjs', '**/*.mts', '**/*.js'],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    // The bin shim loads the compiled CLI; test fixtures are user modules as people write them.
    files: ['bin/*.js', 'test/fixtures/**/*.js'],
    languageOptions: { sourceType: 'commonjs' },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
