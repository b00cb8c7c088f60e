/**
 * One exit-code rule through the real CLI (README "Reliability"): 2 for a command line that is
 * wrong in itself (unknown command or flag, a missing required flag, a flag value of the wrong
 * kind, out of range or not one of its choices, flags that conflict), whether commander, a shared
 * parser, the command or the library finds it; 1 for bad input (missing or malformed files and
 * models, a value that does not fit the model at hand). Always one line `amp-prune: error: ...`
 * naming the flag or file, no stack trace, nothing on stdout.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { fixtureDir, REPO_ROOT } from '../helpers/python.js';

const DATA_DIR = join(REPO_ROOT, '..', 'shared', 'data');

let scratch: string;
let model: string;
let train: string;
before(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'amp-exit-codes-'));
  model = await fixtureDir('llama-mha');
  train = join(scratch, 'train.txt');
  await writeFile(train, 'some training text\n');
});
after(() => rm(scratch, { recursive: true, force: true }));

type Case = [args: () => string[], code: 1 | 2, names: string];

const out = () => join(scratch, 'out');
const CASES: Case[] = [
  // commander: unknown command, unknown flag (with its hint on the same line), a required flag missing
  [() => ['frobnicate'], 2, "unknown command 'frobnicate'"],
  [() => ['prune', '--model', model, '--ratoi', '0.2'], 2, "unknown option '--ratoi' (Did you mean --ratio?)"],
  [() => ['eval'], 2, "required option '--model <dir>' not specified"],
  // the shared parsers: kinds, ranges and choices
  [() => ['prune', '--model', model, '--ratio', 'half', '--dry-run'], 2, "--ratio <f>' argument 'half' is invalid"],
  [() => ['finetune', '--model', model, '--out', out(), '--data', train, '--lora-rank', '0'], 2, "--lora-rank <r>' argument '0' is invalid"],
  [() => ['export', model, '--out', out(), '--format', 'safetensors'], 2, "--format <format>' argument 'safetensors' is invalid"],
  [() => ['--device', 'tpu', 'inspect', model], 2, "--device <name>' argument 'tpu' is invalid"],
  [() => ['finetune', '--model', model, '--out', out(), '--data', train, '--schedule', 'step'], 2, "option '--schedule <name>' argument 'step' is invalid. Allowed choices are cosine, linear, constant"],
  // the same kinds of mistake found by a command or the library
  [() => ['bench', '--model', model, '--repeats', '0'], 2, '--repeats must be >= 1 (got 0)'],
  [() => ['eval', '--model', model, '--data-dir', DATA_DIR, '--limit', 'x'], 2, "--limit takes a whole number (got 'x')"],
  [() => ['eval', '--model', model, '--data-dir', DATA_DIR, '--tasks', 'wikitext3'], 2, "unknown task 'wikitext3'"],
  [() => ['run', model, '--prompt', 'hi', '--top-p', '2'], 2, '--top-p must be in (0, 1]'],
  [() => ['prune', '--model', model, '--ratio', '0.2', '--allocation', 'sideways', '--dry-run'], 2, "unknown allocation 'sideways'"],
  // flags that cannot go together
  [() => ['prune', '--model', model, '--ratio', '0.2', '--layers', '1', '--dry-run'], 2, 'give exactly one of --ratio or --layers'],
  [() => ['prune', '--model', model, '--ratio', '0.2'], 2, '--out is required'],
  [() => ['finetune', '--model', model, '--out', out(), '--data', train, '--steps', '1', '--tokens', '5'], 2, 'give --steps or --tokens, not both'],
  [() => ['finetune', '--model', model, '--out', out(), '--data', train, '--ce-mix', '0.5'], 2, '--ce-mix mixes cross-entropy into distillation: it needs --teacher'],
  [() => ['export', model, '--out', out(), '--dtype', 'fp16'], 2, '--dtype fp16 is not a GGUF type'],
  [() => ['eval', '--model', model], 2, '--data-dir is required'],
  // bad input: files and models, and values that do not fit this model
  [() => ['inspect', join(scratch, 'no-such-model')], 1, 'no-such-model'],
  [() => ['report', join(scratch, 'no-run.json'), '--out', join(scratch, 'r.html')], 1, 'no-run.json: not found'],
  [() => ['prune', '--model', model, '--ratio', '0.2', '--skip-layers', '40', '--dry-run'], 1, '--skip-layers: layer 40 does not exist (the model has 3 layers, 0-2)'],
  [() => ['eval', '--model', model, '--data-dir', DATA_DIR, '--limit', '1', '--ctx', '129'], 1, "--ctx 129 exceeds the model's max_position_embeddings (128)"],
  [() => ['bench', '--model', model, '--prompt-lengths', '8,129'], 1, '--prompt-lengths 129 exceeds the max_position_embeddings'],
];

for (const [args, code, names] of CASES) {
  test(`exit ${code}: ${names}`, async () => {
    const r = await runCli(args());
    assert.equal(r.code, code, r.stderr);
    assert.equal(r.stdout, '');
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, `one line: ${r.stderr}`);
    assert.ok(lines[0].startsWith('amp-prune: error: '), lines[0]);
    assert.ok(lines[0].includes(names), `'${lines[0]}' should include '${names}'`);
  });
}
