/**
 * Child process for the interruption tests: fetches the fake model given as JSON in argv[2] into
 * the cache folder argv[3], and sends itself signal argv[4] as soon as the first part is joined.
 */
import { ensureBuiltinGguf } from '../../src/models/fetch.js';

const [model, cacheDir, signal] = [JSON.parse(process.argv[2]), process.argv[3], process.argv[4] as NodeJS.Signals];
let phase = '';
await ensureBuiltinGguf(model, {
  cacheDir,
  progress: {
    phase: (name) => (phase = name),
    tick: () => {
      if (phase === 'join') process.kill(process.pid, signal);
    },
    done: () => {},
  },
});
