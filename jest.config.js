// Three layers (see README "Tests"): pure units, workflows in the Temporal test environment,
// and integration against the real local stack. Type checking is `npm run typecheck`'s job,
// so ts-jest only transpiles.
const transform = { '^.+\\.ts$': ['ts-jest', { diagnostics: false }] };
// The Kubernetes client is an ES module only: Node loads it from CommonJS, Jest's loader cannot,
// so Jest gets it through a bridge that asks Node's own loader.
const moduleNameMapper = { '^@kubernetes/client-node$': '<rootDir>/test/support/kubernetes-client-bridge.js' };
const common = { testEnvironment: 'node', transform, moduleNameMapper, moduleFileExtensions: ['ts', 'js', 'json'] };

module.exports = {
  // Puts the replay test last, after every other deployment of the run.
  testSequencer: '<rootDir>/test/support/sequencer.js',
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.test.ts'] },
    { ...common, displayName: 'workflows', testMatch: ['<rootDir>/test/workflows/**/*.test.ts'] },
    { ...common, displayName: 'integration', testMatch: ['<rootDir>/test/integration/**/*.test.ts'] },
  ],
};
