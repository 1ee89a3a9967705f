// Lint rules. The ones that matter most keep the layers apart:
// - deterministic code (workflows/, the pure core, src/core/, and the failure converter the
//   workflow bundle carries) imports no Node built-in and no I/O client, and calls activities
//   only through proxies (type imports);
// - apps (bridge, CLI, operations, codec) never import activity implementations; the
//   worker, the one composition root, imports only their factory (activities/index);
// - nothing outside test/ imports test/.
import { builtinModules } from 'node:module';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import importX from 'eslint-plugin-import-x';
import tseslint from 'typescript-eslint';

const nodeOnly = [
  ...builtinModules,
  ...builtinModules.map((m) => `node:${m}`),
  'dockerode',
  'kafkajs',
  'yaml',
  'tar-stream',
  'prom-client',
  '@temporalio/client',
  '@temporalio/worker',
  '@temporalio/activity',
  '@temporalio/testing',
];

const testCode = { group: ['**/test/**', '**/test'], message: 'only tests import test code' };

/** Layers by resolved path: who may import whom (eslint-plugin-import-x's no-restricted-paths). */
const zones = [
  { target: './src/core', from: '.', except: ['./src/core', './node_modules'], message: 'the core (src/core/) is pure: it imports only itself' },
  { target: './src/codec/failure-converter.ts', from: '.', except: ['./node_modules'], message: 'the failure converter goes into the workflow bundle: it imports only the SDK' },
  // Workflows may also import activity *types* (checked below, with no-restricted-imports, which tells type imports apart).
  { target: './workflows', from: ['./src', './test'], except: ['./core'], message: 'workflows import only the core' },
  { target: './workflows', from: './src/core/tosca', message: 'the TOSCA importer reads YAML, which workflow code cannot: only entry points import it' },
  { target: './activities', from: ['./src/bridge', './src/cli', './src/worker', './test'], message: 'activities are adapters: they never import the apps or tests' },
  { target: ['./src', './activities', './workflows'], from: './test', message: 'only tests import test code' },
];

/** What deterministic code may not import: the modules in `forbidden`, activities but for their types, and src/ but for the core. */
function deterministicImports(forbidden, more = []) {
  return {
    paths: [
      ...forbidden.map((name) => ({
        name,
        message: 'workflow code and the core must be deterministic: no Node built-ins or I/O clients (use an activity)',
        allowTypeImports: true,
      })),
      ...more,
    ],
    patterns: [
      testCode,
      { group: ['**/activities', '**/activities/**'], allowTypeImports: true, message: 'workflows call activities through proxies; import their types only' },
      { group: ['**/src/*', '!**/src/core', '**/src/*/**', '!**/src/core/**'], allowTypeImports: true, message: 'workflow code and the core import only the core (src/core/)' },
    ],
  };
}

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'test-results/**', '**/*.js', '**/*.mjs'] },
  ...tseslint.configs.recommended,
  {
    plugins: { 'import-x': importX },
    settings: { 'import-x/resolver-next': [createTypeScriptImportResolver({ project: './tsconfig.json' })] },
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      'import-x/no-restricted-paths': ['error', { zones }],
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-restricted-imports': ['error', { patterns: [testCode] }],
    },
  },
  { files: ['workflows/**/*.ts', 'src/core/**/*.ts'], rules: { '@typescript-eslint/no-restricted-imports': ['error', deterministicImports(nodeOnly)] } },
  // Local activities go through the run's one lane (workflows/local-lane.ts says why); the
  // first workflow shape (workflows/v1/) keeps its own calls, which its histories recorded.
  {
    files: ['workflows/**/*.ts'],
    ignores: ['workflows/local-lane.ts', 'workflows/v1/**'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        deterministicImports(nodeOnly, [{ name: '@temporalio/workflow', importNames: ['proxyLocalActivities'], message: 'call local activities through localActivities (workflows/local-lane.ts): one at a time, or a replay can resolve them in another order' }]),
      ],
    },
  },
  // The yaml package only reads text, but it calls Node's process for its warnings, so workflow code cannot load it:
  // the TOSCA importer may, and workflows may not import the importer (zones above).
  { files: ['src/core/tosca/**/*.ts'], rules: { '@typescript-eslint/no-restricted-imports': ['error', deterministicImports(nodeOnly.filter((m) => m !== 'yaml'))] } },
  {
    files: ['src/bridge/**/*.ts', 'src/cli/**/*.ts', 'src/operations/**/*.ts', 'src/codec/**/*.ts', 'src/kafka/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        { patterns: [testCode, { group: ['**/activities', '**/activities/**'], message: 'apps reach activities through Temporal, never by import' }] },
      ],
    },
  },
  // The workflow bundle carries the failure converter and the tracing interceptors into the sandbox: they are deterministic code too.
  { files: ['src/codec/failure-converter.ts', 'src/tracing/workflow-interceptors.ts'], rules: { '@typescript-eslint/no-restricted-imports': ['error', deterministicImports(nodeOnly)] } },
  {
    files: ['src/worker/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        { patterns: [testCode, { group: ['**/activities/**'], message: 'the worker wires activities through their factory, activities/index' }] },
      ],
    },
  },
);
