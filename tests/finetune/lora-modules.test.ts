/**
 * Which checkpoint modules --targets adapts, read off the ArchSpec: one module per projection where
 * each has its own tensor; Phi-3's fused qkv_proj and gate_up_proj adapted whole, their rows
 * following each layer's widths (a pruned model's too), and a target list that names only some parts
 * of a fused tensor refused in one line.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { specFromConfig } from '../../src/arch/registry.js';
import { UserError } from '../../src/errors.js';
import { adaptedModules, checkTargets, initLora, LORA_TARGETS } from '../../src/finetune/lora.js';
import { fixtureDir } from '../helpers/python.js';

async function specOf(fixture: string, patch: Record<string, unknown> = {}) {
  const file = join(await fixtureDir(fixture), 'config.json');
  return specFromConfig({ ...JSON.parse(await readFile(file, 'utf8')), ...patch }, file);
}

test('LLaMA: one module per projection, in target order', async () => {
  const spec = await specOf('llama3-gqa-tied');
  const modules = adaptedModules(spec, 1, ['v', 'q', 'down']);
  assert.deepEqual(modules.map((m) => m.module), ['model.layers.1.self_attn.v_proj', 'model.layers.1.self_attn.q_proj', 'model.layers.1.mlp.down_proj']);
  assert.deepEqual(modules.map((m) => m.parts.map((p) => p.weight)), [['v.weight'], ['q.weight'], ['down.weight']]);
});

test('Phi-3: q,k,v adapt qkv_proj and gate,up adapt gate_up_proj, each as one module whose rows are its parts', async () => {
  const spec = await specOf('phi3-gqa-partial'); // 4 heads, 2 KV heads of 16, intermediate 128
  const modules = adaptedModules(spec, 0, [...LORA_TARGETS]);
  assert.deepEqual(modules.map((m) => m.module.split('.').pop()), ['qkv_proj', 'o_proj', 'gate_up_proj', 'down_proj']);
  const [qkv, o, gateUp, down] = modules;
  assert.deepEqual(qkv.parts, [{ weight: 'q.weight', rows: [0, 64] }, { weight: 'k.weight', rows: [64, 96] }, { weight: 'v.weight', rows: [96, 128] }]);
  assert.deepEqual([qkv.outFeatures, qkv.inFeatures], [128, 64]);
  assert.deepEqual([o.outFeatures, o.inFeatures], [64, 64]);
  assert.deepEqual(gateUp.parts, [{ weight: 'gate.weight', rows: [0, 128] }, { weight: 'up.weight', rows: [128, 256] }]);
  assert.deepEqual([down.outFeatures, down.inFeatures], [64, 128]);
  // a fused module comes where its first part is named
  assert.deepEqual(adaptedModules(spec, 0, ['up', 'v', 'k', 'q', 'gate']).map((m) => m.module.split('.').pop()), ['gate_up_proj', 'qkv_proj']);
  const lora = initLora(spec, { rank: 4, alpha: 8, targets: ['q', 'k', 'v'] }, 1);
  assert.deepEqual([lora.layers[0][0].a.length, lora.layers[0][0].b.length], [4 * 64, 128 * 4], 'one A [r, in] and one B [out_fused, r]');
});

test('Phi-3 with per-layer widths: the fused rows follow each layer', async () => {
  const widths = [
    { num_attention_heads: 2, num_key_value_heads: 1, intermediate_size: 40 },
    { num_attention_heads: 4, num_key_value_heads: 2, intermediate_size: 128 },
  ];
  const spec = await specOf('phi3-gqa-partial', { amp_prune_layer_widths: widths });
  const [qkv0, , gateUp0] = adaptedModules(spec, 0, [...LORA_TARGETS]);
  assert.deepEqual(qkv0.parts.map((p) => p.rows), [[0, 32], [32, 48], [48, 64]]);
  assert.deepEqual(gateUp0.parts.map((p) => p.rows), [[0, 40], [40, 80]]);
  assert.equal(adaptedModules(spec, 1, [...LORA_TARGETS])[0].outFeatures, 128);
});

test('Phi-3: naming only some parts of a fused tensor is a one-line error', async () => {
  const spec = await specOf('phi3');
  for (const [targets, message] of [
    [['q', 'v'], /^--targets: Phi3ForCausalLM fuses q,k,v into one tensor, qkv_proj, which LoRA adapts whole \(as peft does\): name all of q,k,v or none$/],
    [['q', 'k', 'v', 'gate'], /fuses gate,up into one tensor, gate_up_proj/],
  ] as const) {
    assert.throws(() => checkTargets(spec, targets), (e: Error) => e instanceof UserError && message.test(e.message));
  }
  assert.doesNotThrow(() => checkTargets(spec, ['o', 'down']));
});
