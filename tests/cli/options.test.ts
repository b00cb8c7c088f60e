/**
 * The shared option parsers (src/cli/options.ts) through the real CLI: every bad value is one
 * usage line naming the flag, exit 2, nothing written; choices shown by --help come from the
 * registries themselves.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { TASKS } from '../../src/eval/registry.js';
import { RECOVERY_METHODS } from '../../src/recover/registry.js';
import { METHODS } from '../../src/score/registry.js';
import { runCli } from '../helpers/cli.js';
import { fixtureDir } from '../helpers/python.js';

let scratch: string;
let model: string;
before(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'amp-options-'));
  model = await fixtureDir('llama-mha');
  await writeFile(join(scratch, 'calib.txt'), 'some calibration text\n');
});
after(() => rm(scratch, { recursive: true, force: true }));

async function expectUsageError(args: string[], flag: string, pattern: RegExp): Promise<void> {
  const before = await readdir(scratch);
  const r = await runCli(args);
  assert.equal(r.code, 2, `usage errors exit 2 (stderr: ${r.stderr})`);
  assert.equal(r.stdout, '');
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `one line: ${r.stderr}`);
  assert.ok(lines[0].includes(flag), `${lines[0]} should name ${flag}`);
  assert.match(lines[0], pattern);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
  assert.deepEqual(await readdir(scratch), before, 'nothing written');
}

const prune = (...flags: string[]) => ['prune', '--model', model, '--out', join(scratch, 'out'), ...flags];

test('integers: not a number, fractional, zero', async () => {
  await expectUsageError(prune('--ratio', '0.2', '--calib-samples', 'x'), '--calib-samples', /expected a whole number, got 'x'/);
  await expectUsageError(prune('--ratio', '0.2', '--calib-samples', '2.5'), '--calib-samples', /expected a whole number, got '2\.5'/);
  await expectUsageError(prune('--ratio', '0.2', '--calib-seq-len', '0'), '--calib-seq-len', /expected a positive integer, got '0'/);
  await expectUsageError(['--threads', '0', 'prune', '--model', model, '--ratio', '0.2', '--out', join(scratch, 'out')], '--threads', /positive integer/);
  await expectUsageError(prune('--ratio', '0.2', '--seed', ''), '--seed', /whole number/);
});

test('fractions and numbers: the ratio rule of src/plan/validate.ts, at parse time', async () => {
  await expectUsageError(prune('--ratio', '1.5'), '--ratio', /--ratio must be between 0 and 1 \(exclusive\), got 1\.5/);
  await expectUsageError(prune('--ratio', '0'), '--ratio', /--ratio must be between 0 and 1/);
  await expectUsageError(prune('--ratio', 'half'), '--ratio', /expected a number, got 'half'/);
  await expectUsageError(['demo', '--work', join(scratch, 'demo'), '--ratio', '1'], '--ratio', /--ratio must be between 0 and 1/);
  await expectUsageError(prune('--ratio', '0.2', '--recover-damp', '0'), '--recover-damp', /expected a positive number/);
  await expectUsageError(prune('--ratio', '0.2', '--align', '0'), '--align', /--align must be a positive integer, got 0/);
});

test('layer lists', async () => {
  await expectUsageError(prune('--ratio', '0.2', '--skip-layers', '0,x'), '--skip-layers', /expected layer indices like 0,31, got '0,x'/);
  await expectUsageError(prune('--ratio', '0.2', '--skip-layers', '1.5'), '--skip-layers', /layer indices/);
});

test('paths that must exist', async () => {
  const missing = join(scratch, 'missing.txt');
  await expectUsageError(prune('--ratio', '0.2', '--calib', missing), '--calib', /missing\.txt: no such file/);
  await expectUsageError(prune('--ratio', '0.2', '--calib', scratch), '--calib', /: not a file/);
  await expectUsageError(['finetune', '--model', model, '--out', join(scratch, 'ft'), '--data', missing], '--data', /missing\.txt: no such file/);
});

test('fine-tuning flags: the same parsers under finetune and prune --finetune', async () => {
  const data = join(scratch, 'calib.txt');
  const finetune = (...flags: string[]) => ['finetune', '--model', model, '--out', join(scratch, 'ft'), '--data', data, ...flags];
  await expectUsageError(finetune('--lora-dropout', '1'), '--lora-dropout', /expected a probability in \[0, 1\), got '1'/);
  await expectUsageError(prune('--ratio', '0.2', '--finetune', data, '--finetune-lora-dropout', '-0.1'), '--finetune-lora-dropout', /probability in \[0, 1\)/);
  await expectUsageError(finetune('--eval-every', '0'), '--eval-every', /expected a positive integer, got '0'/);
  await expectUsageError(prune('--ratio', '0.2', '--finetune', data, '--finetune-eval-data', join(scratch, 'missing.json')), '--finetune-eval-data', /missing\.json: no such file/);
  await expectUsageError(prune('--ratio', '0.2', '--finetune', join(scratch, 'missing.json')), '--finetune', /missing\.json: no such file/);
  await expectUsageError(prune('--ratio', '0.2', '--finetune', data, '--finetune-schedule', 'step'), '--finetune-schedule', /cosine.*linear.*constant/);
});

test('choices come from the registries', async () => {
  await expectUsageError(prune('--ratio', '0.2', '--method', 'magic'), '--method', new RegExp(METHODS.map((m) => m.name).join('.*')));
  await expectUsageError(prune('--ratio', '0.2', '--recover', 'refit'), '--recover', new RegExp(RECOVERY_METHODS.map((m) => m.name).join('.*')));
});

test('--help lists what the registries hold', async () => {
  const help = (await runCli(['prune', '--help'])).stdout.replace(/\s+/g, ' ');
  assert.match(help, new RegExp(`--method <name> .*choices: ${METHODS.map((m) => `"${m.name}"`).join(', ')}`));
  assert.match(help, new RegExp(`--recover <how> .*choices: ${RECOVERY_METHODS.map((m) => `"${m.name}"`).join(', ')}`));
  const evalHelp = (await runCli(['eval', '--help'])).stdout.replace(/\s+/g, ' ');
  assert.ok(evalHelp.includes(`available: ${TASKS.map((t) => t.name).join(', ')}`), evalHelp);
});

test('a good value still runs (the parsers pass it through)', async () => {
  const r = await runCli(prune('--ratio', '0.2', '--align', '2', '--skip-layers', '0', '--calib', join(scratch, 'calib.txt'), '--dry-run', '--json'));
  assert.equal(r.code, 0, r.stderr);
  const layers = JSON.parse(r.stdout).layers as { intermediate: number }[];
  assert.ok(layers.slice(1).every((l) => l.intermediate % 2 === 0));
});
