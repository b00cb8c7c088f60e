/** The bench library's pure parts: summaries, FLOP accounting from config, ratios, prompts, table. */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { specFromConfig } from '../../src/arch/registry.js';
import { modelCost } from '../../src/bench/flops.js';
import { syntheticPrompt } from '../../src/bench/prompt.js';
import { speedRatios } from '../../src/bench/ratios.js';
import type { ModelMeasurement, SpeedRecord } from '../../src/bench/record.js';
import { summarize } from '../../src/bench/stats.js';
import { benchTable } from '../../src/bench/table.js';
import { fixtureDir } from '../helpers/python.js';

test('summarize: median of odd and even counts, min, max, runs kept in order', () => {
  assert.deepEqual(summarize([3, 1, 2]), { median: 2, min: 1, max: 3, runs: [3, 1, 2] });
  assert.deepEqual(summarize([4, 1, 3, 2]), { median: 2.5, min: 1, max: 4, runs: [4, 1, 3, 2] });
  assert.deepEqual(summarize([7]), { median: 7, min: 7, max: 7, runs: [7] });
  assert.throws(() => summarize([]));
});

async function configOf(fixture: string): Promise<Record<string, number | boolean | string[]>> {
  return JSON.parse(await readFile(join(await fixtureDir(fixture), 'config.json'), 'utf8')) as Record<string, number | boolean | string[]>;
}

for (const fixture of ['llama-mha', 'llama3-gqa-tied']) {
  test(`FLOPs per token = 2 × matmul parameters, from the config (${fixture})`, async () => {
    const config = await configOf(fixture);
    const [h, heads, kvHeads, inter, layers, vocab] = ['hidden_size', 'num_attention_heads', 'num_key_value_heads', 'intermediate_size', 'num_hidden_layers', 'vocab_size'].map((k) => config[k] as number);
    const headDim = (config.head_dim as number | undefined) ?? h / heads;
    // q and o: heads·d_h·h each, k and v: kvHeads·d_h·h each, gate/up/down: h·inter each, lm_head even when tied
    const perLayer = 2 * heads * headDim * h + 2 * kvHeads * headDim * h + 3 * h * inter;
    const expected = layers * perLayer + vocab * h;
    const cost = modelCost(specFromConfig(config, 'config.json'));
    assert.equal(cost.matmulParameters, expected);
    assert.equal(cost.flopsPerToken, 2 * expected);
    assert.equal(cost.attentionFlopsPerContextToken, 4 * layers * heads * headDim);
    if (config.tie_word_embeddings === true) assert.ok(cost.parameters < cost.matmulParameters + vocab * h, 'tied lm_head counted once in parameters');
  });
}

test('synthetic prompts: deterministic, in the vocabulary, different per length', () => {
  const a = syntheticPrompt(64, 100);
  assert.deepEqual(a, syntheticPrompt(64, 100));
  assert.equal(a.length, 64);
  assert.ok(a.every((id) => Number.isInteger(id) && id >= 0 && id < 100));
  assert.notDeepEqual(syntheticPrompt(65, 100).slice(0, 64), a);
});

function measurement(path: string, flops: number, prefill: number, decode: number, ttft: number, rss: number): ModelMeasurement {
  const stat = (x: number) => summarize([x]);
  return {
    model: { path, checkpoint: path, architecture: 'LlamaForCausalLM', parameters: flops, matmul_parameters: flops / 2, flops_per_token: flops, attention_flops_per_context_token: 1, max_position_embeddings: 128 },
    prefill: [{ tokens: 8, tokens_per_s: stat(prefill) }],
    decode: { tokens: 4, prompt_tokens: 32, tokens_per_s: stat(decode) },
    ttft_ms: stat(ttft),
    peak_rss_mb: rss,
  };
}

test('ratios: model/baseline, FLOP ratio baseline/model, efficiency = speedup / FLOP ratio', () => {
  const baseline = measurement('/dense', 200, 100, 10, 4, 300);
  const model = measurement('/pruned', 100, 150, 15, 2, 240);
  const r = speedRatios(model, baseline);
  assert.deepEqual(r, {
    prefill_tokens_per_s: { 8: 1.5 },
    decode_tokens_per_s: 1.5,
    ttft_ms: 0.5,
    peak_rss_mb: 0.8,
    parameters: 0.5,
    flop_ratio: 2,
    efficiency: { prefill: { 8: 0.75 }, decode: 0.75, ttft: 1 },
  });
});

test('table: a row per figure, a ratio column and the FLOP ratio with a baseline', () => {
  const baseline = measurement('/dense', 200, 100, 10, 4, 300);
  const model = measurement('/pruned', 100, 150, 15, 2, 240);
  const record: SpeedRecord = {
    ...model,
    tool: { name: 'amp-prune', version: '0.1.0' },
    settings: { prompt_lengths: [8], decode_tokens: 4, ttft_prompt_tokens: 32, repeats: 1, warmup: 0, threads: 1, device: 'cpu', prompt_ids: 'synthetic', order: 'alternating' },
    host: { platform: 'linux', arch: 'x64', cpu: 'cpu', cores: 2, node: 'v20' },
    baseline,
    ratios: speedRatios(model, baseline),
    finished_at: '2025-01-01T00:00:00.000Z',
  };
  const lines = benchTable(record);
  assert.match(lines[0], /baseline\s+model\s+model\/baseline$/);
  assert.match(lines.find((l) => l.startsWith('prefill 8 tokens')) ?? '', /100\.0 \(100\.0–100\.0\)\s+150\.0 \(150\.0–150\.0\)\s+1\.500×$/);
  assert.match(lines.find((l) => l.startsWith('time to first token')) ?? '', /0\.500×$/);
  assert.ok(lines.includes('FLOP ratio baseline/model: 2.000×'));
  assert.ok(lines.includes('efficiency (speedup / FLOP ratio): prefill 8 0.75, decode 0.75, ttft 1.00'));
  assert.equal(benchTable({ ...record, baseline: undefined, ratios: undefined }).filter((l) => l.includes('FLOP ratio')).length, 0);
});
