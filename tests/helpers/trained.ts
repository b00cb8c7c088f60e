/**
 * A tiny LLaMA trained for a couple of minutes (tests/fixtures/train_tiny.py), cached in
 * .cache/fixtures/trained-llama until the script changes: pruning-quality tests need a model whose
 * heads and neurons differ in importance, which random weights do not have.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FIXTURES_DIR, REPO_ROOT, fixtureDir, runPython } from './python.js';

const SCRIPT = join(REPO_ROOT, 'tests', 'fixtures', 'train_tiny.py');
let ready: Promise<string> | undefined;

async function build(): Promise<string> {
  const out = join(FIXTURES_DIR, 'trained-llama');
  const hash = createHash('sha256').update(readFileSync(SCRIPT)).digest('hex');
  const stamp = join(out, '.built');
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === hash) return out;
  await runPython([SCRIPT, await fixtureDir('llama-mha'), out]);
  return out;
}

export function trainedFixture(): Promise<string> {
  ready ??= build();
  return ready;
}
