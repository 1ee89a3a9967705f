// Lint rules. The one that matters most: workflow code (and the pure modules it imports)
// must stay deterministic, so it may not import Node built-ins or I/O clients.
import { builtinModules } from 'node:module';
import tseslint from 'typescript-eslint';

const nodeOnly = [
  ...builtinModules,
  ...builtinModules.map((m) => `node:${m}`),
  'dockerode',
  'kafkajs',
  'yaml',
  '@temporalio/client',
  '@temporalio/worker',
  '@temporalio/activity',
  '@temporalio/testing',
];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'test-results/**', '**/*.js', '**/*.mjs'] },
  ...tseslint.configs.recommended,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
    },
  },
  {
    // Deterministic code: workflows and the pure modules they import.
    files: ['workflows/**/*.ts', 'src/schemas/**/*.ts', 'src/plan.ts', 'src/operation-plan.ts', 'src/node-policy.ts', 'src/container-spec.ts', 'src/errors.ts', 'src/search-attributes.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: nodeOnly.map((name) => ({
            name,
            message: 'workflow code must be deterministic: no Node built-ins or I/O clients (use an activity)',
            allowTypeImports: true,
          })),
          patterns: [
            { group: ['**/activities', '**/activities/*'], allowTypeImports: true, message: 'workflows call activities through proxyActivities; import their types only' },
            { group: ['**/src/config', '**/src/inventory', '**/src/log', '**/src/kafka/*', '**/src/bridge/*', '**/src/worker/*', '**/src/cli/*'], message: 'workflow code must not import I/O modules' },
          ],
        },
      ],
    },
  },
);
