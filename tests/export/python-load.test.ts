/**
 * Conformance with the Python stack: what the writer produces must load with `safetensors` and
 * with transformers' `from_pretrained`, single-file and sharded, and shard like save_pretrained.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CheckpointWriter, copyTokenizerFiles } from '../../src/export/checkpoint-writer.js';
import { readModelConfig } from '../../src/io/checkpoint.js';
import type { TensorEntry } from '../../src/io/safetensors.js';
import { TensorStore } from '../../src/io/tensor-store.js';
import { HAS_VENV, NO_VENV_MESSAGE, runPython } from './helpers.js';

const INDEX = 'model.safetensors.index.json';
/** Small enough to split the tiny model (its embedding alone is 16 KiB) into several shards. */
const MAX_SHARD_BYTES = 20_000;

/** Saves a tiny random LlamaForCausalLM twice (single file, sharded); prints its state_dict order. */
const BUILD = `
import json, sys, torch
from transformers import LlamaConfig, LlamaForCausalLM
out, max_shard = sys.argv[1], int(sys.argv[2])
torch.manual_seed(0)
config = LlamaConfig(vocab_size=128, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                     num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64,
                     tie_word_embeddings=False)
model = LlamaForCausalLM(config).eval()
model.save_pretrained(out + "/hf-single")
model.save_pretrained(out + "/hf-sharded", max_shard_size=max_shard)
print(json.dumps({"order": list(model.state_dict().keys())}))
`;

/**
 * For each folder of ours: every shard readable by safetensors and matching the index's
 * weight_map, tensors equal to the reference, from_pretrained with no missing/unexpected keys and
 * the reference's logits.
 */
const VERIFY = `
import json, os, sys, torch
from safetensors import safe_open
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM
reference_dir, ours = sys.argv[1], sys.argv[2:]
reference = AutoModelForCausalLM.from_pretrained(reference_dir).eval()
reference_tensors = load_file(reference_dir + "/model.safetensors")
ids = torch.tensor([[1, 5, 9, 77, 3, 100, 42, 8]])
with torch.no_grad():
    expected = reference(ids).logits
results = {}
for folder in ours:
    index_path = os.path.join(folder, "model.safetensors.index.json")
    if os.path.exists(index_path):
        with open(index_path) as f:
            weight_map = json.load(f)["weight_map"]
    else:
        weight_map = {}
        with safe_open(os.path.join(folder, "model.safetensors"), framework="pt") as f:
            weight_map = {key: "model.safetensors" for key in f.keys()}
    found = {}
    for shard in sorted(set(weight_map.values())):
        with safe_open(os.path.join(folder, shard), framework="pt") as f:
            assert f.metadata() == {"format": "pt"}, f.metadata()
            for key in f.keys():
                found[key] = shard
                assert torch.equal(f.get_tensor(key), reference_tensors[key]), key
    files = sorted(n for n in os.listdir(folder) if n.endswith(".safetensors"))
    model, info = AutoModelForCausalLM.from_pretrained(folder, output_loading_info=True)
    with torch.no_grad():
        logits = model.eval()(ids).logits
    results[folder] = {
        "map_matches_shards": found == weight_map,
        "every_file_listed": files == sorted(set(weight_map.values())),
        "tensors": len(found),
        "loading_info": {k: sorted(map(str, v)) for k, v in info.items() if v},
        "max_logit_diff": (logits - expected).abs().max().item(),
    }
print(json.dumps(results))
`;

interface VerifyResult {
  map_matches_shards: boolean;
  every_file_listed: boolean;
  tensors: number;
  loading_info: Record<string, string[]>;
  max_logit_diff: number;
}

/** Rewrites the transformers checkpoint through our writer, tensor by tensor, as the pruner does. */
async function rewrite(inputDir: string, order: string[], outDir: string, maxShardBytes?: number): Promise<void> {
  const store = await TensorStore.open(inputDir);
  try {
    const tensors: TensorEntry[] = order.map((name) => ({ name, dtype: store.info(name).dtype, shape: store.info(name).shape }));
    const writer = await CheckpointWriter.create(outDir, { tensors, maxShardBytes, inputDir });
    try {
      for (const { name } of tensors) await writer.write(name, await store.readRaw(name));
      await writer.writeJson('config.json', await readModelConfig(inputDir));
      await copyTokenizerFiles(inputDir, writer); // generation_config.json here
      await writer.commit();
    } finally {
      await writer.abort();
    }
  } finally {
    await store.close();
  }
}

describe('written checkpoints load in Python', { skip: HAS_VENV ? false : NO_VENV_MESSAGE }, () => {
  let root = '';
  let order: string[] = [];
  let results: Record<string, VerifyResult> = {};
  const ours = (name: string): string => path.join(root, name);

  // Not tempDir(): its cleanup, registered inside a hook, would run before the tests.
  before(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'amp-prune-export-py-'));
    const built = JSON.parse((await runPython(BUILD, [root, String(MAX_SHARD_BYTES)])).trim().split('\n').pop() ?? '{}') as { order: string[] };
    order = built.order;
    await rewrite(ours('hf-single'), order, ours('ours-single'));
    await rewrite(ours('hf-single'), order, ours('ours-sharded'), MAX_SHARD_BYTES);
    const stdout = await runPython(VERIFY, [ours('hf-single'), ours('ours-single'), ours('ours-sharded')]);
    results = JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as Record<string, VerifyResult>;
  });
  after(() => rm(root, { recursive: true, force: true }));

  for (const name of ['ours-single', 'ours-sharded']) {
    test(`${name}: safetensors reads every file, the weight map matches, from_pretrained loads it exactly`, () => {
      const result = results[ours(name)];
      assert.ok(result, `no verification result for ${name}`);
      assert.equal(result.tensors, order.length);
      assert.equal(result.map_matches_shards, true);
      assert.equal(result.every_file_listed, true);
      assert.deepEqual(result.loading_info, {});
      assert.equal(result.max_logit_diff, 0);
    });
  }

  test('single: one model.safetensors, no index', async () => {
    const files = await readdir(ours('ours-single'));
    assert.ok(files.includes('model.safetensors'));
    assert.ok(!files.includes(INDEX));
  });

  test("sharded: same shard files and a byte-identical index to transformers' save_pretrained", async () => {
    const weightFiles = (names: string[]): string[] => names.filter((n) => n.endsWith('.safetensors')).sort();
    const ourFiles = weightFiles(await readdir(ours('ours-sharded')));
    assert.ok(ourFiles.length > 2, `expected several shards, got ${ourFiles.join(', ')}`);
    assert.deepEqual(ourFiles, weightFiles(await readdir(ours('hf-sharded'))));
    assert.equal(await readFile(path.join(ours('ours-sharded'), INDEX), 'utf8'), await readFile(path.join(ours('hf-sharded'), INDEX), 'utf8'));
  });
});
