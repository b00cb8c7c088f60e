/**
 * Property-based test of the remaining user-supplied files: per-layer allocation files
 * (src/plan/allocation-file.ts), run records given to `report` (src/report/), and tokenizer.json
 * (src/io/tokenizer.ts, then used to encode and decode). Valid seeds are mutated byte by byte or
 * have one field set to arbitrary JSON; each is used or refused with a one-line UserError.
 */
import assert from 'node:assert/strict';
import { cp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { loadTokenizer } from '../../src/io/tokenizer.js';
import { parseAllocation } from '../../src/plan/allocation-file.js';
import { loadReport, renderReport } from '../../src/report/index.js';
import { runCli } from '../helpers/cli.js';
import { fixtureDir, REPO_ROOT } from '../helpers/python.js';
import { RUNS, fuzzParameters, mutatedBytes, readsOrRefusesCleanly, withScratch } from './helpers.js';

const runs = Math.max(1, Math.ceil(RUNS / 4));

/** `json` with the value at a random path (existing keys preferred) replaced by arbitrary JSON. */
function withFieldReplaced(json: unknown): fc.Arbitrary<unknown> {
  return fc.record({ depth: fc.nat({ max: 4 }), picks: fc.array(fc.nat(), { minLength: 5, maxLength: 5 }), value: fc.jsonValue({ maxDepth: 2 }) }).map(({ depth, picks, value }) => {
    const copy = structuredClone(json) as Record<string, unknown>;
    let node: Record<string, unknown> = copy;
    for (let d = 0; d < depth; d++) {
      const keys = Object.keys(node);
      const next = keys.length > 0 ? node[keys[picks[d] % keys.length]] : undefined;
      if (typeof next !== 'object' || next === null) break;
      node = next as Record<string, unknown>;
    }
    const keys = Object.keys(node);
    if (keys.length === 0) return value;
    node[keys[picks[4] % keys.length]] = value;
    return copy;
  });
}

function bytesOf(value: unknown): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(value));
}

function variants(seed: unknown): fc.Arbitrary<Uint8Array> {
  const bytes = bytesOf(seed);
  return fc.oneof(mutatedBytes(bytes, bytes.length, 1), withFieldReplaced(seed).map(bytesOf), fc.jsonValue({ maxDepth: 3 }).map(bytesOf));
}

test('allocation files: mutated and hostile per-layer files are used or refused in one line', { timeout: 60_000 }, async () => {
  const seed = { layers: [{ heads: 2, intermediate: 64 }, { heads: 1, intermediate: 32 }, { heads: 4, intermediate: 128 }] };
  assert.equal(await readsOrRefusesCleanly('seed', async () => parseAllocation(JSON.stringify(seed), 'alloc.json', 3)), true);
  await fc.assert(
    fc.asyncProperty(variants(seed), async (bytes) => {
      await readsOrRefusesCleanly('allocation', async () => parseAllocation(new TextDecoder().decode(bytes), 'alloc.json', 3));
    }),
    { ...fuzzParameters(), numRuns: runs },
  );
});

test('report: mutated and hostile run records are reported or refused in one line', { timeout: 120_000 }, async () => {
  await withScratch('report', async (dir) => {
    const record = join(dir, 'run.json');
    const evalRun = await runCli(['eval', '--model', await fixtureDir('llama-mha'), '--tasks', 'piqa', '--limit', '2', '--threads', '1', '--data-dir', join(REPO_ROOT, '..', 'shared', 'data'), '--json', record]);
    assert.equal(evalRun.code, 0, evalRun.stderr);
    const seed = JSON.parse(await readFile(record, 'utf8')) as unknown;
    const read = () => loadReport({ runs: [record] }).then(renderReport);
    assert.equal(await readsOrRefusesCleanly('seed', read), true);
    await fc.assert(
      fc.asyncProperty(variants(seed), async (bytes) => {
        await writeFile(record, bytes);
        await readsOrRefusesCleanly('run record', read);
      }),
      { ...fuzzParameters(), numRuns: runs },
    );
  });
});

test('tokenizer.json: mutated and hostile tokenizers load and encode, or are refused in one line', { timeout: 120_000 }, async () => {
  await withScratch('tokenizer', async (dir) => {
    await cp(await fixtureDir('llama-mha'), dir, { recursive: true });
    const file = join(dir, 'tokenizer.json');
    const seed = JSON.parse(await readFile(file, 'utf8')) as unknown;
    const use = async () => {
      const tokenizer = await loadTokenizer(dir);
      tokenizer.decode(tokenizer.encode('Hello world, ünïcode 123.'));
    };
    assert.equal(await readsOrRefusesCleanly('seed', use), true);
    await fc.assert(
      fc.asyncProperty(fc.oneof(withFieldReplaced(seed).map(bytesOf), mutatedBytes(bytesOf(seed), 4000, 1)), async (bytes) => {
        await writeFile(file, bytes);
        await readsOrRefusesCleanly('tokenizer.json', use);
      }),
      { ...fuzzParameters(), numRuns: runs },
    );
  });
});
