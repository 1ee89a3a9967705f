// Runs test/integration/replay.test.ts last, so that it replays the histories of every
// deployment the other integration tests made in this run.
const Sequencer = require('@jest/test-sequencer').default;

class ReplayLast extends Sequencer {
  sort(tests) {
    const sorted = super.sort(tests);
    const isReplay = (t) => /[\\/]replay\.test\.ts$/.test(t.path);
    return [...sorted.filter((t) => !isReplay(t)), ...sorted.filter(isReplay)];
  }
}

module.exports = ReplayLast;
