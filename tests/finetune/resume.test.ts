/**
 * A run stopped by SIGINT saves a resumable checkpoint, writes no output, and says how to resume;
 * resuming gives byte-for-byte the output of one uninterrupted run (LoRA dropout's masks and the
 * held-out points included). Resuming with other settings is refused.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { fixtureDir, REPO_ROOT } from '../helpers/python.js';

const ALPACA = join(import.meta.dirname, '..', '..', '..', 'shared', 'data', 'alpaca', 'alpaca_5000.json');
const ENTRY = fileURLToPath(new URL('../../src/cli/bin.ts', import.meta.url));

let scratch: string;
let data: string;
before(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'amp-ft-resume-'));
  data = join(scratch, 'train.json');
  await writeFile(data, JSON.stringify((JSON.parse(await readFile(ALPACA, 'utf8')) as unknown[]).slice(0, 30)));
});
after(() => rm(scratch, { recursive: true, force: true }));

const STEPS = 40;
const args = (model: string, out: string) => ['--threads', '1', 'finetune', '--model', model, '--data', data, '--out', out, '--steps', String(STEPS), '--batch-tokens', '160', '--seq-len', '96', '--lr', '1e-2', '--warmup', '3', '--weight-decay', '0.01', '--seed', '9', '--checkpoint-every', '1', '--lora-dropout', '0.1', '--eval-every', '7'];

/** Runs the CLI and sends SIGINT as soon as the first checkpoint exists. */
function runAndInterrupt(cliArgs: string[], checkpoint: string): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', ENTRY, ...cliArgs], { cwd: REPO_ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (b) => (stderr += b));
    const poll = setInterval(() => {
      if (existsSync(join(checkpoint, 'train_state.json'))) {
        clearInterval(poll);
        child.kill('SIGINT');
      }
    }, 20);
    child.on('exit', (code) => {
      clearInterval(poll);
      resolve({ code, stderr });
    });
  });
}

test('SIGINT saves a checkpoint; --resume finishes with the uninterrupted run\'s exact output', async () => {
  const model = await fixtureDir('llama-mha');
  const whole = join(scratch, 'whole');
  const r = await runCli(args(model, whole));
  assert.equal(r.code, 0, r.stderr);
  assert.ok(!existsSync(`${whole}.train-state`), 'the checkpoint is deleted once the output is written');

  const resumed = join(scratch, 'resumed');
  const stopped = await runAndInterrupt(args(model, resumed), `${resumed}.train-state`);
  assert.notEqual(stopped.code, 0);
  assert.match(stopped.stderr, /interrupted after step (\d+) of 40; training state saved in .*resumed\.train-state; run the same command with --resume/);
  const at = Number(/after step (\d+)/.exec(stopped.stderr)![1]);
  assert.ok(at < STEPS, 'stopped before the end');
  assert.ok(!existsSync(resumed), 'no output written by the interrupted run');

  const refused = await runCli([...args(model, resumed), '--resume', '--lr', '2e-2']);
  assert.notEqual(refused.code, 0);
  assert.match(refused.stderr, /was saved with optimizer = .*resume with the same settings/);

  const done = await runCli([...args(model, resumed), '--resume']);
  assert.equal(done.code, 0, done.stderr);
  for (const f of ['model.safetensors', 'amp_prune.json']) {
    assert.deepEqual(await readFile(join(resumed, f)), await readFile(join(whole, f)), `${f} (interrupted after step ${at})`);
  }
});
