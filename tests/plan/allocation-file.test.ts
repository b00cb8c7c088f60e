import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { FileError } from '../../src/errors.js';
import { fileShapes, parseAllocation, readAllocationFile } from '../../src/plan/allocation-file.js';
import { planLayers, targetShapes } from '../../src/plan/plan.js';
import { shapeOf } from '../../src/plan/types.js';
import type { PlanOptions } from '../../src/plan/types.js';
import { llama2_7b, llamaSpec, pseudoRandomScores } from './models.js';

/** 2 layers, 8 query heads over 4 KV heads (groups of 2), 16 neurons. */
const gqa = () => llamaSpec({ num_hidden_layers: 2, num_attention_heads: 8, num_key_value_heads: 4, hidden_size: 32, intermediate_size: 16, vocab_size: 10 });
const FILE = 'alloc.json';
const layers = (...l: [number, number][]) => JSON.stringify({ layers: l.map(([heads, intermediate]) => ({ heads, intermediate })) });

function throwsFileError(fn: () => unknown, problem: string): void {
  assert.throws(fn, (e: unknown) => e instanceof FileError && e.file === FILE && e.message === `${FILE}: ${problem}`);
}

async function tempFile(text: string): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'amp-prune-plan-'));
  after(() => rm(dir, { recursive: true, force: true }));
  const file = path.join(dir, FILE);
  await writeFile(file, text);
  return file;
}

describe('allocation file', () => {
  test('reads kept widths per layer', async () => {
    const file = await tempFile(layers([6, 12], [8, 9]));
    assert.deepEqual(await readAllocationFile(file, 2), { kind: 'file', file, layers: [{ heads: 6, intermediate: 12 }, { heads: 8, intermediate: 9 }] });
  });

  test('missing file', async () => {
    const file = path.join(tmpdir(), 'amp-prune-no-such-dir', FILE);
    await assert.rejects(readAllocationFile(file, 2), (e: unknown) => e instanceof FileError && e.message === `${file}: allocation file not found`);
  });

  test('structure errors name the file and the layer', () => {
    throwsFileError(() => parseAllocation('{"layers": [', FILE, 2), `not valid JSON (${jsonError('{"layers": [')})`);
    throwsFileError(() => parseAllocation('[]', FILE, 2), 'expected {"layers": [{"heads": kept, "intermediate": kept}, ...]}');
    throwsFileError(() => parseAllocation(layers([6, 12]), FILE, 2), 'has 1 layer entries; the model has 2 layers');
    throwsFileError(() => parseAllocation('{"layers": [{"heads": 6, "intermediate": 12}, 3]}', FILE, 2), 'layer 1: expected {"heads": kept, "intermediate": kept}, got 3');
    throwsFileError(() => parseAllocation(layers([6, 12], [6.5, 12]), FILE, 2), 'layer 1: "heads" must be a positive integer (kept width), got 6.5');
    throwsFileError(() => parseAllocation(layers([0, 12], [6, 12]), FILE, 2), 'layer 0: "heads" must be a positive integer (kept width), got 0');
    throwsFileError(() => parseAllocation('{"layers": [{"heads": 6}]}', FILE, 1), 'layer 0: "intermediate" must be a positive integer (kept width), got undefined');
  });

  test('group mode: heads a multiple of the group size; KV heads shrink with them', () => {
    const allocation = parseAllocation(layers([6, 12], [8, 16]), FILE, 2);
    assert.deepEqual(fileShapes(gqa(), allocation, 'group'), [
      { heads: 6, kvHeads: 3, intermediate: 12 },
      { heads: 8, kvHeads: 4, intermediate: 16 },
    ]);
    throwsFileError(
      () => fileShapes(gqa(), parseAllocation(layers([8, 16], [5, 16]), FILE, 2), 'group'),
      'layer 1: heads 5 is not a multiple of 2 (the KV group size; group mode removes whole groups)',
    );
  });

  test('query mode: heads a multiple of the KV head count; every KV head stays', () => {
    assert.deepEqual(fileShapes(gqa(), parseAllocation(layers([4, 12], [8, 16]), FILE, 2), 'query')[0], { heads: 4, kvHeads: 4, intermediate: 12 });
    throwsFileError(
      () => fileShapes(gqa(), parseAllocation(layers([6, 12], [8, 16]), FILE, 2), 'query'),
      'layer 0: heads 6 is not a multiple of 4 (the KV head count; query mode keeps the same number in every group)',
    );
  });

  test('widths beyond the model, and skipped layers the file prunes', () => {
    throwsFileError(() => fileShapes(gqa(), parseAllocation(layers([10, 12], [8, 16]), FILE, 2), 'group'), "layer 0: heads 10 is more than the model's 8");
    throwsFileError(() => fileShapes(gqa(), parseAllocation(layers([8, 16], [8, 17]), FILE, 2), 'group'), "layer 1: intermediate 17 is more than the model's 16");
    throwsFileError(
      () => fileShapes(gqa(), parseAllocation(layers([6, 12], [8, 16]), FILE, 2), 'group', [0]),
      'layer 0: the file prunes it but --skip-layers keeps it whole',
    );
    assert.equal(fileShapes(gqa(), parseAllocation(layers([6, 12], [8, 16]), FILE, 2), 'group', [1])[1].heads, 8);
  });

  test('multi-head attention: any head count', () => {
    const spec = llama2_7b();
    const allocation = parseAllocation(JSON.stringify({ layers: spec.layers.map((_, i) => ({ heads: 31 - (i % 5), intermediate: 8000 + i })) }), FILE, 32);
    const shapes = fileShapes(spec, allocation, 'query');
    assert.deepEqual(shapes[3], { heads: 28, kvHeads: 28, intermediate: 8003 });
  });

  test('planLayers applies the file with the scores', () => {
    const spec = gqa();
    const allocation = parseAllocation(layers([6, 12], [4, 1]), FILE, 2);
    const opts: PlanOptions = { ratio: 0.5, allocation, gqa: 'group', align: 1, skipLayers: [] };
    const plans = planLayers(spec, pseudoRandomScores(spec, 5), opts);
    assert.deepEqual(plans.map(shapeOf), targetShapes(spec, opts));
    assert.deepEqual(plans.map(shapeOf), [
      { heads: 6, kvHeads: 3, intermediate: 12 },
      { heads: 4, kvHeads: 2, intermediate: 1 },
    ]);
  });
});

function jsonError(text: string): string {
  try {
    JSON.parse(text);
  } catch (e) {
    return (e as Error).message;
  }
  return '';
}
