/**
 * `prune --finetune`: one command gives byte for byte what `prune` then `finetune` give with the
 * same flags and seed (the referee is the two-command run, itself checked against peft in the
 * other finetune tests); only the fine-tuned model reaches --out, and the temporary pruned folder
 * is gone after success, after a failure in either stage, and after Ctrl-C.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { fixtureDir, REPO_ROOT } from '../helpers/python.js';

const ALPACA = join(import.meta.dirname, '..', '..', '..', 'shared', 'data', 'alpaca', 'alpaca_5000.json');
const ENTRY = fileURLToPath(new URL('../../src/cli/bin.ts', import.meta.url));

let scratch: string;
let train: string;
before(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'amp-prune-ft-'));
  train = join(scratch, 'train.json');
  await writeFile(train, JSON.stringify((JSON.parse(await readFile(ALPACA, 'utf8')) as unknown[]).slice(0, 40)));
});
after(() => rm(scratch, { recursive: true, force: true }));

const PRUNE = ['--ratio', '0.3', '--seed', '4'];
const TRAINING = ['steps', '3', 'batch-tokens', '200', 'seq-len', '96', 'lr', '1e-2', 'warmup', '1', 'lora-dropout', '0.1', 'eval-every', '2'];
const flagsWith = (prefix: string) => TRAINING.map((v, i) => (i % 2 === 0 ? `--${prefix}${v}` : v));

/** A fresh parent folder, so that whatever a run leaves next to --out can be listed. */
async function parent(name: string): Promise<string> {
  const dir = join(scratch, name);
  await mkdir(dir);
  return dir;
}

test('prune --finetune equals prune then finetune with the same seed, and leaves only --out', async () => {
  const model = await fixtureDir('llama3-gqa-tied');
  const separate = await parent('separate');
  const pruned = join(separate, 'pruned');
  const p = await runCli(['--threads', '1', 'prune', '--model', model, '--out', pruned, ...PRUNE]);
  assert.equal(p.code, 0, p.stderr);
  const f = await runCli(['--threads', '1', 'finetune', '--model', pruned, '--out', join(separate, 'tuned'), '--data', train, '--seed', '4', ...flagsWith('')]);
  assert.equal(f.code, 0, f.stderr);

  const chained = await parent('chained');
  const out = join(chained, 'tuned');
  const c = await runCli(['--threads', '1', 'prune', '--model', model, '--out', out, ...PRUNE, '--finetune', train, ...flagsWith('finetune-'), '--json']);
  assert.equal(c.code, 0, c.stderr);
  const summary = JSON.parse(c.stdout);
  assert.equal(summary.finetune.steps, 3);
  assert.deepEqual(summary.finetune.evals.map((e: { step: number }) => e.step), [0, 2, 3]);
  assert.deepEqual(await readdir(chained), ['tuned'], 'the temporary pruned folder is gone');

  for (const file of ['model.safetensors', 'config.json']) {
    assert.deepEqual(await readFile(join(out, file)), await readFile(join(separate, 'tuned', file)), file);
  }
  const record = JSON.parse(await readFile(join(out, 'amp_prune.json'), 'utf8'));
  const reference = JSON.parse(await readFile(join(separate, 'tuned', 'amp_prune.json'), 'utf8'));
  assert.match(record.finetune.base, /pruned by the same command/);
  delete record.finetune.base;
  delete reference.finetune.base;
  assert.deepEqual(record, reference, 'the same prune and finetune records');
});

test('a failure after pruning writes nothing and removes the pruned folder; bad training flags fail before pruning', async () => {
  const dir = await parent('failing');
  const out = join(dir, 'tuned');
  // the model prunes, then fine-tuning finds the teacher's vocabulary is not the model's
  const r = await runCli(['--threads', '1', 'prune', '--model', await fixtureDir('llama-mha'), '--out', out, ...PRUNE, '--recover', 'none', '--finetune', train, '--finetune-teacher', await fixtureDir('phi'), '--finetune-steps', '1']);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /--teacher .*vocabulary/);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.deepEqual(await readdir(dir), []);

  const early: [string[], RegExp, string?][] = [
    [['--finetune-ce-mix', '0.5'], /--finetune-ce-mix mixes cross-entropy into distillation: it needs --finetune-teacher/],
    [['--finetune-targets', 'q,zz'], /--targets: unknown projection 'zz'/],
    [['--finetune-targets', 'q,v'], /--targets: Phi3ForCausalLM fuses q,k,v into one tensor, qkv_proj/, 'phi3'],
    [['--dry-run'], /cannot run with --dry-run/],
    [['--export', 'gguf'], /--finetune with --export: export the fine-tuned folder afterwards/],
  ];
  for (const [extra, message, model = 'llama-mha'] of early) {
    const e = await runCli(['prune', '--model', await fixtureDir(model), '--out', out, ...PRUNE, '--finetune', train, ...extra]);
    assert.notEqual(e.code, 0);
    assert.match(e.stderr, message);
    assert.doesNotMatch(e.stdout + e.stderr, /Pruned/);
    assert.deepEqual(await readdir(dir), []);
  }
  const stray = await runCli(['prune', '--model', await fixtureDir('llama-mha'), '--out', out, ...PRUNE, '--finetune-lr', '1e-3']);
  assert.notEqual(stray.code, 0);
  assert.match(stray.stderr, /--finetune-lr: fine-tuning options, used only with --finetune DATA/);
  assert.deepEqual(await readdir(dir), []);
});

/** Runs the chained command slowed down and sends SIGINT once the temporary pruned folder is at `stage`. */
function interruptAt(stage: 'pruning' | 'fine-tuning', dir: string, args: string[]): Promise<{ code: number | null; stderr: string; reached: boolean }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', ENTRY, ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, AMP_PRUNE_TEST_STEP_DELAY_MS: '20' } });
    let stderr = '';
    let reached = false;
    child.stderr.on('data', (b) => (stderr += b));
    // the folder exists from the start; its config.json appears once pruning is done and training runs
    const poll = setInterval(async () => {
      const names = await readdir(dir).catch(() => []);
      const staged = names.find((n) => n.startsWith('.tuned.pruned-'));
      if (!staged || reached) return;
      const pruned = existsSync(join(dir, staged, 'config.json'));
      if (stage === 'fine-tuning' ? pruned : !pruned) {
        reached = true;
        clearInterval(poll);
        setTimeout(() => child.kill('SIGINT'), stage === 'fine-tuning' ? 300 : 0);
      }
    }, 20);
    child.on('exit', (code) => {
      clearInterval(poll);
      resolve({ code, stderr, reached });
    });
  });
}

for (const stage of ['pruning', 'fine-tuning'] as const) {
  test(`Ctrl-C during the ${stage} stage: exit 130, nothing written, no temporary folder`, async () => {
    const dir = await parent(`interrupted-${stage}`);
    const out = join(dir, 'tuned');
    const args = ['--threads', '1', 'prune', '--model', await fixtureDir('llama-mha'), '--out', out, ...PRUNE, '--recover', 'none', '--finetune', train, '--finetune-steps', '50', '--finetune-batch-tokens', '200', '--finetune-seq-len', '96'];
    const result = await interruptAt(stage, dir, args);
    assert.ok(result.reached, `the run reached the ${stage} stage`);
    assert.equal(result.code, 130, result.stderr);
    assert.match(result.stderr, /interrupted \(SIGINT\): nothing written/);
    assert.deepEqual(await readdir(dir), []);
  });
}
