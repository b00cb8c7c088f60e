/** Recovery flags' bad values and conflicting choices: one line, exit 2 (a usage error), nothing written. */
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
  [['--score-on', 'both'], /--score-on/],
  [['--refit-target', 'output'], /--refit-target/],
];

// valid values that do not go together: refused before any compute (exit 2, a usage error too)
const CONFLICTS: [string[], RegExp][] = [
  [['--score-on', 'pruned', '--recover', 'none'], /--score-on pruned needs a recovery method/],
  [['--score-on', 'pruned', '--recover', 'lsq', '--allocation', 'global'], /--score-on pruned cannot use --allocation global/],
  [['--score-on', 'pruned', '--recover', 'bias', '--calib-propagate', 'dense'], /--score-on pruned needs --calib-propagate pruned/],
  [['--refit-target', 'model', '--recover', 'none'], /--refit-target model needs --recover lsq/],
  [['--refit-target', 'model', '--recover', 'bias'], /--refit-target model needs --recover lsq/],
  [['--refit-target', 'model', '--recover', 'lsq', '--calib-propagate', 'dense'], /--refit-target model needs --calib-propagate pruned/],
];

for (const [flags, message, code] of [...BAD.map(([f, m]) => [f, m, 2] as const), ...CONFLICTS.map(([f, m]) => [f, m, 2] as const)]) {
  test(`prune ${flags.join(' ')}: one-line error, nothing written`, async () => {
    const out = join(scratch, flags.join('_'));
    const r = await runCli(['prune', '--model', await fixtureDir('llama-mha'), '--out', out, '--ratio', '0.2', ...flags]);
    assert.equal(r.code, code, `usage errors and conflicting choices exit 2; stdout: ${r.stdout}`);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0], message);
    assert.doesNotMatch(r.stderr, /at .*\.ts:\d+/);
    assert.equal(existsSync(out), false);
  });
}

test('a dry run accepts valid recovery flags', async () => {
  const r = await runCli(['prune', '--model', await fixtureDir('llama-mha'), '--ratio', '0.2', '--dry-run', '--recover', 'lsq', '--recover-damp', '0.05', '--score-on', 'pruned', '--refit-target', 'model']);
  assert.equal(r.code, 0, r.stderr);
});

test('--help explains --score-on and --refit-target with their defaults', async () => {
  const r = await runCli(['prune', '--help']);
  const help = r.stdout.replace(/\s+/g, ' ');
  assert.match(help, /--score-on <acts> .*dense = the dense model's \(the paper's AMP; default\)/);
  assert.match(help, /--refit-target <of> .*\(default\).*one more dense layer run per layer/);
});
