/** Recovery flags' bad values: one line, exit 1, nothing written. */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { fixtureDir } from '../helpers/python.js';

let scratch: string;
before(async () => (scratch = await mkdtemp(join(tmpdir(), 'amp-recover-cli-'))));
after(() => rm(scratch, { recursive: true, force: true }));

const BAD: [string[], RegExp][] = [
  [['--recover', 'refit'], /--recover.*refit|refit.*--recover|Allowed choices/i],
  [['--recover-damp', '0'], /--recover-damp/],
  [['--recover-damp', '-1'], /--recover-damp/],
  [['--recover-damp', 'abc'], /--recover-damp/],
  [['--calib-propagate', 'both'], /--calib-propagate/],
  [['--recover-weighting', 'heavy'], /--recover-weighting/],
];

for (const [flags, message] of BAD) {
  test(`prune ${flags.join(' ')}: one-line error, nothing written`, async () => {
    const out = join(scratch, flags.join('_'));
    const r = await runCli(['prune', '--model', await fixtureDir('llama-mha'), '--out', out, '--ratio', '0.2', ...flags]);
    assert.equal(r.code, 2, `usage errors exit 2; stdout: ${r.stdout}`);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0], message);
    assert.doesNotMatch(r.stderr, /at .*\.ts:\d+/);
    assert.equal(existsSync(out), false);
  });
}

test('a dry run accepts valid recovery flags', async () => {
  const r = await runCli(['prune', '--model', await fixtureDir('llama-mha'), '--ratio', '0.2', '--dry-run', '--recover', 'lsq', '--recover-damp', '0.05']);
  assert.equal(r.code, 0, r.stderr);
});
