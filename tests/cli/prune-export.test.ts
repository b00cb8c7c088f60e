/**
 * `prune ... --export gguf,onnx` through the CLI on the tiny SmolLM-style fixture:
 *  - OUT, OUT.gguf and OUT-onnx/ are byte for byte what `prune` then `export --format gguf` and
 *    `export --format onnx` write separately (same dtypes), and --json names the final paths;
 *  - what a format cannot hold (a family GGUF has no graph for) and an occupied export target are
 *    refused in one line, exit 1, with nothing written; per-layer widths (--skip-layers,
 *    --allocation global) export, as llama.cpp's deci;
 *  - --force replaces all three outputs;
 *  - stopped while writing the GGUF (the pruned folder already complete), nothing is left.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { STEP_DELAY_ENV } from '../../src/interrupt.js';
import { runCli } from '../helpers/cli.js';
import { REPO_ROOT, fixtureDir } from '../helpers/python.js';
import { hashFolder, tempDir } from '../export/helpers.js';

const dir = await tempDir();
const smollm = await fixtureDir('smollm');
const PRUNE = ['--threads', '2', 'prune', '--model', smollm, '--ratio', '0.3'];

async function cli(args: string[]): Promise<string> {
  const run = await runCli(args);
  assert.equal(run.code, 0, run.stderr);
  return run.stdout;
}

/** Exit 1 for what the files make impossible, 2 for flags that are wrong or conflict (README "Reliability"). */
async function assertRefused(name: string, args: string[], message: RegExp, exitCode: 1 | 2 = 1): Promise<void> {
  const before = await readdir(dir);
  const run = await runCli([...PRUNE, '--out', path.join(dir, name), ...args]);
  assert.equal(run.code, exitCode, run.stderr);
  assert.equal(run.stdout, '');
  const lines = run.stderr.trim().split('\n');
  assert.equal(lines.length, 1, run.stderr);
  assert.match(lines[0], message);
  assert.deepEqual(await readdir(dir), before, 'nothing written');
}

test('prune --export gguf,onnx writes what prune then export write, byte for byte', async () => {
  const out = path.join(dir, 'together');
  const summary = JSON.parse(await cli([...PRUNE, '--out', out, '--export', 'gguf,onnx', '--export-dtype', 'q8_0,fp16', '--json'])) as {
    exported: { gguf: { out: string; dtype: string }; onnx: { out: string; dtype: string } };
  };
  assert.deepEqual(
    { gguf: [summary.exported.gguf.out, summary.exported.gguf.dtype], onnx: [summary.exported.onnx.out, summary.exported.onnx.dtype] },
    { gguf: [`${out}.gguf`, 'q8_0'], onnx: [`${out}-onnx`, 'fp16'] },
  );

  const apart = path.join(dir, 'apart');
  await cli([...PRUNE, '--out', apart]);
  await cli(['export', apart, '--format', 'gguf', '--dtype', 'q8_0', '--out', path.join(dir, 'apart.gguf')]);
  await cli(['export', apart, '--format', 'onnx', '--dtype', 'fp16', '--out', path.join(dir, 'apart-onnx')]);

  assert.deepEqual(await hashFolder(out), await hashFolder(apart), 'pruned folder');
  assert.ok((await readFile(`${out}.gguf`)).equals(await readFile(path.join(dir, 'apart.gguf'))), 'GGUF file');
  const onnx = await hashFolder(`${out}-onnx`);
  assert.ok('onnx/model_fp16.onnx' in onnx, Object.keys(onnx).join(', '));
  assert.deepEqual(onnx, await hashFolder(path.join(dir, 'apart-onnx')), 'ONNX folder');
  assert.deepEqual((await readdir(dir)).filter((n) => n.startsWith('.')), [], 'no staging folder left behind');
});

test('the GGUF summary notes an MLP width llama.cpp runs slowly (not a multiple of 64); --align 64 leaves nothing to note', async () => {
  const widthOf = async (folder: string) => (JSON.parse(await readFile(path.join(folder, 'config.json'), 'utf8')) as { intermediate_size: number }).intermediate_size;
  const odd = path.join(dir, 'odd-width');
  const oddOut = await cli([...PRUNE, '--out', odd, '--recover', 'none', '--export', 'gguf']);
  const width = await widthOf(odd);
  assert.notEqual(width % 64, 0, `fixture pruned to ${width}`);
  assert.match(oddOut, new RegExp(`note: MLP width ${width} is not a multiple of 64: .* prune with --align 64`));
  const exported = JSON.parse(await cli(['export', odd, '--format', 'gguf', '--out', path.join(dir, 'odd.gguf'), '--json'])) as { advice: string[] };
  assert.equal(exported.advice.length, 1);

  const aligned = path.join(dir, 'aligned-width');
  const alignedOut = await cli([...PRUNE, '--out', aligned, '--recover', 'none', '--align', '64', '--export', 'gguf']);
  assert.equal((await widthOf(aligned)) % 64, 0);
  assert.doesNotMatch(alignedOut, /note:/);
});

test('--force replaces the folder and both exports', async () => {
  const out = path.join(dir, 'forced');
  await cli([...PRUNE, '--out', out, '--export', 'gguf,onnx', '--recover', 'none']);
  const first = { gguf: await readFile(`${out}.gguf`), onnx: await hashFolder(`${out}-onnx`) };
  await cli([...PRUNE, '--out', out, '--export', 'gguf,onnx', '--export-dtype', 'f16', '--force']);
  assert.ok(!(await readFile(`${out}.gguf`)).equals(first.gguf), 'the GGUF is the new f16 one');
  assert.notDeepEqual(await hashFolder(`${out}-onnx`), first.onnx, 'the ONNX folder is the new (lsq-recovered) one');
  assert.deepEqual((await readdir(dir)).filter((n) => n.startsWith('.')), [], 'nothing set aside left behind');
});

test('per-layer widths export as deci; a GGUF refusal is one line before anything is written: other families', async () => {
  for (const [name, flags] of [['skip', ['--ratio', '0.2', '--skip-layers', '0']], ['global', ['--allocation', 'global']]] as const) {
    const out = path.join(dir, `per-layer-${name}`);
    const summary = JSON.parse(await cli([...PRUNE, '--out', out, '--recover', 'none', ...flags, '--export', 'gguf', '--json'])) as { exported: { gguf: { architecture: string; uniform: boolean } } };
    assert.equal(summary.exported.gguf.architecture, 'deci', name);
    assert.equal(summary.exported.gguf.uniform, false, name);
  }
  const phi = await runCli(['prune', '--model', await fixtureDir('phi'), '--out', path.join(dir, 'phi'), '--ratio', '0.2', '--export', 'gguf']);
  assert.equal(phi.code, 1);
  assert.match(phi.stderr.trim(), /^amp-prune: error: --export gguf \(the pruned model's config\.json\): PhiForCausalLM \(model_type phi\) cannot be exported to GGUF[^\n]*$/);
  assert.ok(!(await readdir(dir)).includes('phi'));
});

test('an occupied export target or a bad --export list is refused before pruning', async () => {
  const occupied = path.join(dir, 'occupied-onnx');
  await mkdir(occupied);
  await writeFile(path.join(occupied, 'keep.txt'), 'mine');
  await assertRefused('occupied', ['--export', 'onnx'], /occupied-onnx: exists and is not empty \(use --force to replace it\)$/);
  assert.equal(await readFile(path.join(occupied, 'keep.txt'), 'utf8'), 'mine');
  await writeFile(path.join(dir, 'taken.gguf'), 'mine');
  await assertRefused('taken', ['--export', 'gguf'], /taken\.gguf: already exists \(use --force to replace it\)$/);
  await assertRefused('bad', ['--export', 'gguf,safetensors'], /'safetensors' is not an export format/, 2);
  await assertRefused('bad', ['--export', 'gguf', '--export-dtype', 'fp16'], /fp16 is a dtype for onnx, but --export gguf writes no onnx/, 2);
  await assertRefused('bad', ['--export-dtype', 'f16'], /--export-dtype needs --export/, 2);
});

/** Runs the CLI with the interruption test hook and sends SIGINT at the first step matching `at`; resolves to the exit code and stderr. */
function interruptAt(args: string[], at: RegExp): Promise<{ code: number | null; stderr: string }> {
  const env = { ...process.env, [STEP_DELAY_ENV]: '20' };
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'src', 'cli', 'bin.ts'), ...args], { cwd: REPO_ROOT, env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  let signalled = false;
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    if (!signalled && stderr.split('\n').some((line) => line.startsWith('amp-prune: test: step ') && at.test(line))) {
      signalled = true;
      child.kill('SIGINT');
    }
  });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => (signalled ? resolve({ code, stderr }) : reject(new Error(`finished before step ${at}:\n${stderr}`))));
  });
}

test('stopped while writing the GGUF, after the pruned folder is complete: no output at all', async () => {
  const before = await readdir(dir);
  const run = await interruptAt([...PRUNE, '--recover', 'none', '--out', path.join(dir, 'stopped'), '--export', 'onnx,gguf'], /step write blk\.1\./);
  assert.equal(run.code, 130, run.stderr);
  assert.match(run.stderr, /step write model\.layers\.1\./, 'the pruned folder was written first');
  assert.deepEqual(await readdir(dir), before, 'no folder, file or staging folder left');
});
