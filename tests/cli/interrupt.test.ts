/**
 * SIGINT / SIGTERM in the middle of every long command, as a user's Ctrl-C or a job scheduler
 * would send it, to the real CLI as a child process: it stops within 2 seconds with one line and
 * exit code 130 / 143, leaves no output, no temporary file or folder and no conversion cache
 * entry, kills its measuring processes, and the same command run again succeeds.
 *
 * The child runs with AMP_PRUNE_TEST_STEP_DELAY_MS, which announces each interruption point on
 * stderr: the signal is sent at a known step (a forward pass, a tensor being written, the final
 * rename), not after a guessed time.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { STEP_DELAY_ENV } from '../../src/interrupt.js';
import { runCli } from '../helpers/cli.js';
import { fixtureDir, REPO_ROOT } from '../helpers/python.js';
import { fixturePath, ggufFixtures } from '../gguf/helpers.js';

const ENTRY = join(REPO_ROOT, 'src', 'cli', 'bin.ts');
const DATA_DIR = join(REPO_ROOT, '..', 'shared', 'data');
const ALPACA = join(DATA_DIR, 'alpaca', 'alpaca_5000.json');
const EXIT = { SIGINT: 130, SIGTERM: 143 } as const;

let scratch: string;
let llama: string;
before(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'amp-prune-interrupt-'));
  llama = await fixtureDir('llama-mha');
  await ggufFixtures();
});
after(() => rm(scratch, { recursive: true, force: true }));

interface Interrupted {
  code: number | null;
  stdout: string;
  /** stderr without the test hook's step lines. */
  stderr: string;
  /** From the signal to the child's exit. */
  stopMs: number;
  /** Marks this run's processes (the child and any process it starts inherit it). */
  token: string;
}

/**
 * Runs the CLI and sends `signal` when the `nth` step line matching `at` appears on stderr.
 * `delayMs` is the pause at every step: short, so that the signal lands during real work.
 */
function interruptAt(args: string[], signal: 'SIGINT' | 'SIGTERM', at: RegExp, options: { nth?: number; delayMs?: number; env?: Record<string, string> } = {}): Promise<Interrupted> {
  const token = randomUUID();
  const env = { ...process.env, ...options.env, [STEP_DELAY_ENV]: String(options.delayMs ?? 20), AMP_PRUNE_INTERRUPT_TEST: token };
  const child = spawn(process.execPath, ['--import', 'tsx', ENTRY, ...args], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let seen = 0;
  let signalledAt: number | undefined;
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    if (signalledAt !== undefined) return;
    const steps = stderr.split('\n').filter((line) => line.startsWith('amp-prune: test: step ') && at.test(line));
    if (steps.length >= (options.nth ?? 1)) {
      seen = steps.length;
      signalledAt = performance.now();
      child.kill(signal);
    }
  });
  const killer = setTimeout(() => child.kill('SIGKILL'), 300_000);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(killer);
      if (signalledAt === undefined || seen === 0) {
        reject(new Error(`finished (code ${code}) before step ${at} was reached:\n${stderr}`));
        return;
      }
      const stopMs = performance.now() - signalledAt;
      resolve({ code, stdout, stderr: stderr.split('\n').filter((l) => l !== '' && !l.startsWith('amp-prune: test: step ')).join('\n'), stopMs, token });
    });
  });
}

function assertStopped(result: Interrupted, signal: 'SIGINT' | 'SIGTERM'): void {
  assert.equal(result.code, EXIT[signal], `exit code (stderr: ${result.stderr})`);
  // notices printed before the signal (e.g. what a conversion will write) may precede the one line
  const lines = result.stderr.split('\n');
  assert.equal(lines.at(-1), `amp-prune: interrupted (${signal}): nothing written`);
  for (const line of lines.slice(0, -1)) assert.doesNotMatch(line, /error|interrupted|^\s+at /i, `unexpected line before the interruption: ${line}`);
  assert.ok(result.stopMs < 2000, `stopped ${Math.round(result.stopMs)} ms after the signal`);
}

/** Processes still running that this run started (they inherit its token). */
async function survivors(token: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const environ = await readFile(join('/proc', entry, 'environ'), 'latin1').catch(() => '');
    if (environ.includes(`AMP_PRUNE_INTERRUPT_TEST=${token}`)) pids.push(Number(entry));
  }
  return pids;
}

async function freshFolder(name: string): Promise<string> {
  const dir = join(scratch, name);
  await mkdir(dir);
  return dir;
}

test('prune: SIGINT during a scoring forward pass, SIGTERM while writing tensors; nothing left, rerun succeeds', async () => {
  const dir = await freshFolder('prune');
  const out = join(dir, 'pruned');
  const args = ['prune', '--model', llama, '--out', out, '--ratio', '0.3', '--calib', ALPACA, '--calib-samples', '4', '--threads', '1'];
  assertStopped(await interruptAt(args, 'SIGINT', /step forward/, { nth: 3 }), 'SIGINT');
  assert.deepEqual(await readdir(dir), []);
  assertStopped(await interruptAt(args, 'SIGTERM', /step write model\.layers\.1\./), 'SIGTERM');
  assert.deepEqual(await readdir(dir), []);
  const rerun = await runCli(args);
  assert.equal(rerun.code, 0, rerun.stderr);
  assert.deepEqual(await readdir(dir), ['pruned']);
  assert.ok((await readdir(out)).includes('model.safetensors'));
});

test('prune with lsq recovery: SIGTERM during the recovery pass leaves nothing', async () => {
  const dir = await freshFolder('recover');
  const args = ['prune', '--model', llama, '--out', join(dir, 'pruned'), '--ratio', '0.3', '--recover', 'lsq', '--calib', ALPACA, '--calib-samples', '8', '--threads', '1'];
  // after the scoring pass (one forward per layer and batch) comes the recovery pass's
  assertStopped(await interruptAt(args, 'SIGTERM', /step forward/, { nth: 12 }), 'SIGTERM');
  assert.deepEqual(await readdir(dir), []);
});

test('convert: SIGINT while writing leaves no folder; rerun succeeds', async () => {
  const dir = await freshFolder('convert');
  const args = ['convert', fixturePath('q8_0', 'model.gguf'), '--out', join(dir, 'hf')];
  assertStopped(await interruptAt(args, 'SIGINT', /step write model\.layers\.0\./), 'SIGINT');
  assert.deepEqual(await readdir(dir), []);
  const rerun = await runCli(args);
  assert.equal(rerun.code, 0, rerun.stderr);
  assert.deepEqual(await readdir(dir), ['hf']);
});

test('prune of a .gguf: SIGTERM during the cached conversion leaves no cache entry; rerun converts and prunes', async () => {
  const dir = await freshFolder('gguf-prune');
  const cache = await freshFolder('xdg-cache');
  const env = { XDG_CACHE_HOME: cache };
  const args = ['prune', '--model', fixturePath('f16', 'model.gguf'), '--out', join(dir, 'pruned'), '--ratio', '0.3', '--method', 'magnitude', '--threads', '1'];
  assertStopped(await interruptAt(args, 'SIGTERM', /step write model\.layers\.0\./, { env }), 'SIGTERM');
  assert.deepEqual(await readdir(dir), []);
  assert.deepEqual(await readdir(join(cache, 'amp-prune', 'gguf')), [], 'conversion cache');
  const rerun = await runCli(args, { env });
  assert.equal(rerun.code, 0, rerun.stderr);
  const entries = await readdir(join(cache, 'amp-prune', 'gguf'));
  assert.equal(entries.length, 1);
  assert.ok((await readdir(join(cache, 'amp-prune', 'gguf', entries[0]))).includes('config.json'));
});

test('eval --json: SIGINT during a forward pass writes no record; rerun writes it', async () => {
  const dir = await freshFolder('eval');
  const args = ['eval', '--model', llama, '--data-dir', DATA_DIR, '--tasks', 'piqa', '--limit', '4', '--threads', '1', '--json', join(dir, 'run.json')];
  assertStopped(await interruptAt(args, 'SIGINT', /step forward/, { nth: 2 }), 'SIGINT');
  assert.deepEqual(await readdir(dir), []);
  const rerun = await runCli(args);
  assert.equal(rerun.code, 0, rerun.stderr);
  assert.deepEqual(await readdir(dir), ['run.json']);
});

test('eval --json: SIGTERM at the final rename leaves neither the record nor its temporary file', async () => {
  const dir = await freshFolder('eval-rename');
  const args = ['eval', '--model', llama, '--data-dir', DATA_DIR, '--tasks', 'piqa', '--limit', '2', '--threads', '1', '--json', join(dir, 'run.json')];
  assertStopped(await interruptAt(args, 'SIGTERM', /step rename run\.json/, { delayMs: 5000 }), 'SIGTERM');
  assert.deepEqual(await readdir(dir), []);
});

test('bench --json: SIGTERM between measurements stops the measuring processes and writes nothing', async () => {
  const dir = await freshFolder('bench');
  const args = ['bench', '--model', llama, '--baseline', llama, '--prompt-lengths', '8', '--decode-tokens', '2', '--repeats', '3', '--threads', '1', '--json', join(dir, 'speed.json')];
  const result = await interruptAt(args, 'SIGTERM', /step measure/, { nth: 4 });
  assertStopped(result, 'SIGTERM');
  assert.deepEqual(await readdir(dir), []);
  assert.deepEqual(await survivors(result.token), [], 'measuring processes still running');
});

test('report: SIGINT at the final rename leaves no page and no temporary file; rerun writes it', async () => {
  const dir = await freshFolder('report');
  const record = join(scratch, 'report-run.json');
  const evalRun = await runCli(['eval', '--model', llama, '--data-dir', DATA_DIR, '--tasks', 'piqa', '--limit', '1', '--threads', '1', '--json', record]);
  assert.equal(evalRun.code, 0, evalRun.stderr);
  const args = ['report', record, '--out', join(dir, 'report.html')];
  assertStopped(await interruptAt(args, 'SIGINT', /step rename report\.html/, { delayMs: 5000 }), 'SIGINT');
  assert.deepEqual(await readdir(dir), []);
  const rerun = await runCli(args);
  assert.equal(rerun.code, 0, rerun.stderr);
  assert.deepEqual(await readdir(dir), ['report.html']);
});

test('export: SIGTERM while writing tensors leaves no .gguf and no temporary file; rerun succeeds', async () => {
  const dir = await freshFolder('export');
  const args = ['export', await fixtureDir('smollm'), '--out', join(dir, 'model.gguf')];
  assertStopped(await interruptAt(args, 'SIGTERM', /step write blk\.0\./), 'SIGTERM');
  assert.deepEqual(await readdir(dir), []);
  const rerun = await runCli(args);
  assert.equal(rerun.code, 0, rerun.stderr);
  assert.deepEqual(await readdir(dir), ['model.gguf']);
});

test('a second signal exits at once, even while a step is still waiting', async () => {
  const dir = await freshFolder('second-signal');
  const args = ['convert', fixturePath('q8_0', 'model.gguf'), '--out', join(dir, 'hf')];
  const token = randomUUID();
  const child = spawn(process.execPath, ['--import', 'tsx', ENTRY, ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, [STEP_DELAY_ENV]: '20', AMP_PRUNE_INTERRUPT_TEST: token },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  let sentAt = 0;
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    if (sentAt === 0 && stderr.includes('step write')) {
      sentAt = performance.now();
      child.kill('SIGINT');
      child.kill('SIGINT');
    }
  });
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  assert.equal(code, 130, stderr);
  assert.ok(performance.now() - sentAt < 2000);
  assert.deepEqual(await readdir(dir), []);
});
