/**
 * The family weight tables are the one statement of which rows and columns belong to a head, a KV
 * group or a neuron. These tests hold what is derived from them — parameter counts, plan costs and
 * slicing — to what slicing really writes and to what transformers counts in the written model.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { headRows, layerWeightsFrom } from '../../src/arch/common.js';
import { checkOwnership } from '../../src/arch/ownership.js';
import { countParams, paramsAfter } from '../../src/arch/params.js';
import { specFromConfig, SUPPORTED_ARCHITECTURES } from '../../src/arch/registry.js';
import type { ArchSpec, LayerShape, LayerWeight } from '../../src/arch/spec.js';
import { SafetensorsFile } from '../../src/io/safetensors.js';
import { structureCosts } from '../../src/plan/cost.js';
import { keptIndices, selectBytes } from '../../src/slice/select.js';
import { runCli } from '../helpers/cli.js';
import { fixtureDir, referenceParams } from '../helpers/python.js';
import { tinyLlama } from '../plan/models.js';

let scratch: string;
before(async () => (scratch = await mkdtemp(join(tmpdir(), 'amp-ownership-'))));
after(() => rm(scratch, { recursive: true, force: true }));

async function writtenElements(dir: string): Promise<number> {
  let n = 0;
  for (const f of (await readdir(dir)).filter((x) => x.endsWith('.safetensors'))) {
    const file = await SafetensorsFile.open(join(dir, f));
    try {
      for (const name of file.names()) n += file.info(name).shape.reduce((a, b) => a * b, 1);
    } finally {
      await file.close();
    }
  }
  return n;
}

const specOf = async (dir: string): Promise<ArchSpec> => specFromConfig(JSON.parse(await readFile(join(dir, 'config.json'), 'utf8')), join(dir, 'config.json'));

/** One fixture per family member, so every registered architecture is covered. */
const FIXTURES = ['llama-mha', 'llama3-gqa-tied', 'llama-bias-headdim', 'mistral', 'qwen2', 'qwen3', 'phi', 'phi3', 'phi3-gqa-partial'];

describe('ownership table: counted = sliced = transformers', () => {
  test('the fixtures cover every registered architecture', async () => {
    const covered = new Set<string>();
    for (const f of FIXTURES) covered.add((await specOf(await fixtureDir(f))).architecture);
    assert.deepEqual([...covered].sort(), [...SUPPORTED_ARCHITECTURES].sort());
  });

  for (const fixture of FIXTURES) {
    for (const allocation of ['uniform', 'global']) {
      test(`${fixture}, ${allocation} allocation`, async () => {
        const dir = await fixtureDir(fixture);
        const out = join(scratch, `${fixture}-${allocation}`);
        const r = await runCli(['prune', '--model', dir, '--out', out, '--ratio', '0.2', '--method', 'magnitude', '--recover', 'none', '--allocation', allocation, '--json', '--threads', '1']);
        assert.equal(r.code, 0, r.stderr);
        const dense = await specOf(dir);
        const written = await specOf(out);
        const shapes: LayerShape[] = written.layers;
        assert.ok(shapes.some((s, i) => s.heads < dense.layers[i].heads || s.intermediate < dense.layers[i].intermediate), 'something was pruned');
        const fromTable = paramsAfter(dense, shapes);
        assert.equal(await writtenElements(out), fromTable, 'elements slicing wrote = count derived from the table');
        assert.equal(countParams(written).total, fromTable, 'count of the written config = count derived from the table');
        // stock transformers cannot load per-layer widths, so it referees the uniform plans
        if (allocation === 'uniform') assert.equal((await referenceParams(out)).total, fromTable, 'transformers parameter count');
      });
    }
  }
});

/**
 * A family whose q norm spans all heads (shape [heads·head_dim], as some models scale each head
 * separately): declared once in its table with an owner, it is sliced and counted; declared
 * without one, the self-check refuses the table instead of the slicer silently keeping it whole.
 */
function withFullWidthQNorm(base: ArchSpec, owned: boolean): ArchSpec {
  const extra = (layer: number): LayerWeight[] => {
    const { heads } = base.layers[layer];
    const dh = base.headDim;
    return layerWeightsFrom(`model.layers.${layer}`, [
      { name: 'q_norm.weight', tensor: 'self_attn.q_norm.weight', shape: [heads * dh], part: 'norms', ...(owned ? { owner: headRows(dh) } : {}) },
    ]);
  };
  return {
    ...base,
    family: 'fake',
    layerWeights: (layer) => [...base.layerWeights(layer), ...extra(layer)],
    withLayers: (layers) => withFullWidthQNorm(base.withLayers(layers), owned),
  };
}

describe('a new per-head tensor', () => {
  const base = tinyLlama({ num_attention_heads: 4, num_key_value_heads: 2, hidden_size: 16, intermediate_size: 8 }); // head_dim 4
  const plan = { heads: [0, 1], kvHeads: [0], neurons: [0, 2, 5] };
  const pruned: LayerShape = { heads: 2, kvHeads: 1, intermediate: 3 };

  test('declared with an owner: sliced per head, costed per head, counted at its kept size', () => {
    const spec = withFullWidthQNorm(base, true);
    checkOwnership(spec);
    // slicing: heads 0 and 1 own rows 0..7 of the 16-row norm
    const kept = keptIndices(spec, 'q_norm.weight', plan);
    assert.deepEqual(kept, { rows: [0, 1, 2, 3, 4, 5, 6, 7] });
    const values = Float32Array.from({ length: 16 }, (_, i) => 100 + i);
    const sliced = new Float32Array(selectBytes(new Uint8Array(values.buffer), [16], 4, kept).slice().buffer);
    assert.deepEqual([...sliced], [100, 101, 102, 103, 104, 105, 106, 107]);
    // cost: a query head now also takes its 4 norm entries (q rows 4·16 + o columns 16·4 + 4)
    assert.equal(structureCosts(spec, 0).queryHead, structureCosts(base, 0).queryHead + 4);
    // counting: the pruned spec and the table-derived count agree, and both keep 2·4 norm entries
    const shapes = spec.layers.map(() => pruned);
    assert.equal(paramsAfter(spec, shapes), countParams(spec.withLayers(shapes)).total);
    assert.equal(paramsAfter(spec, shapes) - paramsAfter(base, shapes), base.numLayers * 2 * 4);
  });

  test('declared without an owner: the table is refused, naming the weight', () => {
    assert.throws(() => checkOwnership(withFullWidthQNorm(base, false)), /fake: dimension 0 of q_norm\.weight follows the layer widths but no structure owns it/);
  });

  test('an owner with the wrong block is refused too', () => {
    const spec = withFullWidthQNorm(base, true);
    const wrong: ArchSpec = {
      ...spec,
      layerWeights: (l) => spec.layerWeights(l).map((w) => (w.name === 'q_norm.weight' ? { ...w, owner: { ...w.owner!, block: 2 } } : w)),
      withLayers: (layers) => spec.withLayers(layers),
    };
    assert.throws(() => checkOwnership(wrong), /q_norm\.weight is not 2 per head/);
  });
});
