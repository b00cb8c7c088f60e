/**
 * GGUF -> Hugging Face conversion, end to end on every fixture (F32, F16, BF16, Q8_0, Q4_0, Q4_1,
 * Q5_0/Q5_1, the k-quants; SentencePiece and byte-level vocabularies; tied and untied; llama, qwen2,
 * phi3 and phi2 architectures):
 *  - our engine's logits on the converted folder equal transformers' own GGUF loader's
 *    (AutoModelForCausalLM.from_pretrained(dir, gguf_file=...), float32) within 1e-4 (LLaMA-3
 *    rope scaling, which that loader ignores, and phi2, which it cannot load: the logits of the
 *    PhiForCausalLM the file was made from, its weights replaced by the file's dequantized ones);
 *  - our tokenizer on the converted folder gives the ids AutoTokenizer.from_pretrained(dir,
 *    gguf_file=...) gives (phi2: the tokenizer the file was made from), on real text and on odd
 *    spacing, digits, accents, emoji, special tokens;
 *  - stock transformers loads the converted folder with the same ids and logits.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type ConvertSummary, convertGgufToHf } from '../../src/convert/gguf-to-hf.js';
import { padBatch } from '../../src/engine/batch.js';
import { CausalLM } from '../../src/engine/causal-lm.js';
import { loadTokenizer } from '../../src/io/tokenizer.js';
import { ReferenceBatch, type ReferenceLogits } from '../helpers/python.js';
import { fixturePath, ggufFixtures, readFloat32, readJson } from './helpers.js';

const TOLERANCE = 1e-4;
const LOGIT_TOKENS = 40;

const manifest = await ggufFixtures();
const texts = await readJson<string[]>(fixturePath('texts.json'));
const scratch = await mkdtemp(join(tmpdir(), 'amp-prune-gguf-convert-'));
after(() => rm(scratch, { recursive: true, force: true }));

interface Converted {
  dir: string;
  summary: ConvertSummary;
  referenceIds: number[][];
  /** transformers on the converted folder */
  folderIds: Promise<number[][]>;
  folderLogits: Promise<ReferenceLogits>;
}

const converted = new Map<string, Converted>();

before(async () => {
  const batch = new ReferenceBatch();
  for (const variant of manifest.variants) {
    const dir = join(scratch, variant.name);
    const summary = await convertGgufToHf(fixturePath(variant.name, 'model.gguf'), dir);
    const referenceIds = await readJson<number[][]>(fixturePath(variant.name, 'ids.json'));
    converted.set(variant.name, {
      dir,
      summary,
      referenceIds,
      folderIds: batch.tokenize(dir, texts),
      folderLogits: batch.logits(dir, [referenceIds[0].slice(0, LOGIT_TOKENS)]),
    });
  }
  await batch.run();
});

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  return max;
}

for (const variant of manifest.variants) {
  const label = `${variant.name} (${variant.tokenizer}${variant.pre ? ` ${variant.pre}` : ''}${variant.tied ? ', tied' : ''})`;

  test(`${label}: logits equal the ${variant.logits_from}'s`, async (t) => {
    const { dir, referenceIds } = converted.get(variant.name) ?? assert.fail('not converted');
    const reference = await readFloat32(fixturePath(variant.name, 'logits.f32'));
    const lm = await CausalLM.load(dir, { threads: 1 });
    try {
      const ours = await lm.logits(padBatch([referenceIds[0].slice(0, LOGIT_TOKENS)], 0));
      assert.deepEqual(ours.dims, variant.logits_dims);
      const diff = maxAbsDiff(ours.data, reference);
      t.diagnostic(`max |ours - ${variant.logits_from}| = ${diff.toExponential(2)}`);
      assert.ok(diff <= TOLERANCE, `max |ours - ${variant.logits_from}| = ${diff} > ${TOLERANCE}`);
    } finally {
      await lm.close();
    }
  });

  test(`${label}: tokenizer ids equal the ${variant.ids_from}'s`, async () => {
    const { dir, referenceIds } = converted.get(variant.name) ?? assert.fail('not converted');
    const tokenizer = await loadTokenizer(dir);
    texts.forEach((text, i) => assert.deepEqual(tokenizer.encode(text), referenceIds[i], `text ${i}: ${JSON.stringify(text.slice(0, 60))}`));
  });

  test(`${label}: stock transformers loads the folder with the same ids and logits`, async (t) => {
    const { folderIds, folderLogits, referenceIds } = converted.get(variant.name) ?? assert.fail('not converted');
    assert.deepEqual(await folderIds, referenceIds);
    const diff = maxAbsDiff((await folderLogits).data, await readFloat32(fixturePath(variant.name, 'logits.f32')));
    t.diagnostic(`max |transformers(folder) - transformers(gguf)| = ${diff.toExponential(2)}`);
    assert.ok(diff <= TOLERANCE, `${diff} > ${TOLERANCE}`);
  });
}

test('rope_freqs.weight becomes the LLaMA-3 rope_scaling it was made from', async () => {
  const llama3 = converted.get('llama3-rope') ?? assert.fail('not converted');
  const config = await readJson<Record<string, unknown>>(join(llama3.dir, 'config.json'));
  assert.deepEqual(config.rope_scaling, { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 64 });
  const plain = await readJson<Record<string, unknown>>(join(converted.get('f32')?.dir ?? '', 'config.json'));
  assert.equal(plain.rope_scaling, null);
});

test('config.json and generation_config.json state what the GGUF says', async () => {
  const f16 = converted.get('f16') ?? assert.fail('not converted');
  const config = await readJson<Record<string, unknown>>(join(f16.dir, 'config.json'));
  assert.deepEqual(
    {
      architectures: config.architectures,
      model_type: config.model_type,
      hidden_size: config.hidden_size,
      intermediate_size: config.intermediate_size,
      num_hidden_layers: config.num_hidden_layers,
      num_attention_heads: config.num_attention_heads,
      num_key_value_heads: config.num_key_value_heads,
      head_dim: config.head_dim,
      max_position_embeddings: config.max_position_embeddings,
      rope_theta: config.rope_theta,
      vocab_size: config.vocab_size,
      tie_word_embeddings: config.tie_word_embeddings,
      torch_dtype: config.torch_dtype,
    },
    {
      architectures: ['LlamaForCausalLM'],
      model_type: 'llama',
      hidden_size: 256,
      intermediate_size: 512,
      num_hidden_layers: 2,
      num_attention_heads: 4,
      num_key_value_heads: 2,
      head_dim: 64,
      max_position_embeddings: 256,
      rope_theta: 100000,
      vocab_size: 700,
      tie_word_embeddings: true,
      torch_dtype: 'float16',
    },
  );
  assert.equal(Math.fround(config.rms_norm_eps as number), Math.fround(1e-5));
  const dtypes = Object.fromEntries(manifest.variants.map((v) => [v.name, converted.get(v.name)?.summary.dtype]));
  assert.deepEqual(dtypes, { f32: 'float32', f16: 'float16', bf16: 'bfloat16', q8_0: 'float32', q4_0: 'float32', q4_1: 'float32', q5: 'float32', kquants: 'float32', 'llama3-rope': 'float32',
    'qwen2-f32': 'float32', 'qwen2-q8_0': 'float32', 'qwen2-q4_k': 'float32', 'phi3-f32': 'float32', 'phi3-q8_0': 'float32',
    'phi2-f32': 'float32', 'phi2-q8_0': 'float32', 'phi2-q4_k': 'float32' });
  const generation = await readJson<Record<string, unknown>>(join(f16.dir, 'generation_config.json'));
  assert.equal(generation.eos_token_id, config.eos_token_id);
});

test('a qwen2 GGUF becomes a Qwen2ForCausalLM folder with q/k/v biases and full attention', async () => {
  const qwen2 = converted.get('qwen2-f32') ?? assert.fail('not converted');
  const config = await readJson<Record<string, unknown>>(join(qwen2.dir, 'config.json'));
  assert.deepEqual(
    { architectures: config.architectures, model_type: config.model_type, rope_theta: config.rope_theta, use_sliding_window: config.use_sliding_window, tie_word_embeddings: config.tie_word_embeddings },
    { architectures: ['Qwen2ForCausalLM'], model_type: 'qwen2', rope_theta: 1000000, use_sliding_window: false, tie_word_embeddings: false },
  );
  assert.equal(config.attention_bias, undefined, 'Qwen2Config has no attention_bias: its q/k/v biases are always there');
  const bytes = await readFile(join(qwen2.dir, 'model.safetensors'));
  const header = JSON.parse(bytes.subarray(8, 8 + Number(bytes.readBigUInt64LE(0))).toString('utf8')) as Record<string, { shape: number[] }>;
  assert.deepEqual(header['model.layers.1.self_attn.q_proj.bias'].shape, [256]);
  assert.deepEqual(header['model.layers.1.self_attn.k_proj.bias'].shape, [128]);
  assert.deepEqual(header['model.layers.1.self_attn.v_proj.bias'].shape, [128]);
  assert.equal(header['model.layers.1.self_attn.o_proj.bias'], undefined);
  assert.ok(header['lm_head.weight']);
  assert.equal(converted.get('qwen2-q4_k')?.summary.tiedEmbeddings, true);
  assert.match(qwen2.summary.tokenizer, /pre qwen2/);
});

test('a phi3 GGUF becomes a Phi3ForCausalLM folder with its fused projections and normalizer', async () => {
  const phi3 = converted.get('phi3-f32') ?? assert.fail('not converted');
  const config = await readJson<Record<string, unknown>>(join(phi3.dir, 'config.json'));
  assert.deepEqual([config.architectures, config.model_type, config.sliding_window], [['Phi3ForCausalLM'], 'phi3', null]);
  const bytes = await readFile(join(phi3.dir, 'model.safetensors'));
  const header = JSON.parse(bytes.subarray(8, 8 + Number(bytes.readBigUInt64LE(0))).toString('utf8')) as Record<string, { shape: number[] }>;
  assert.deepEqual(header['model.layers.0.self_attn.qkv_proj.weight'].shape, [512, 256]);
  assert.deepEqual(header['model.layers.0.mlp.gate_up_proj.weight'].shape, [1024, 256]);
  const tokenizer = await readJson<{ normalizer: { type: string }; pre_tokenizer: unknown }>(join(phi3.dir, 'tokenizer.json'));
  assert.deepEqual([tokenizer.normalizer.type, tokenizer.pre_tokenizer], ['Sequence', null]);
});

test('a phi2 GGUF becomes a PhiForCausalLM folder: partial rotary, LayerNorm biases, untied head with a bias', async () => {
  const phi2 = converted.get('phi2-f32') ?? assert.fail('not converted');
  const config = await readJson<Record<string, unknown>>(join(phi2.dir, 'config.json'));
  assert.deepEqual(
    [config.architectures, config.model_type, config.partial_rotary_factor, config.hidden_act, config.rope_theta, config.intermediate_size, config.num_key_value_heads, config.tie_word_embeddings, config.vocab_size],
    [['PhiForCausalLM'], 'phi', 0.375, 'gelu_new', 10000, 1024, 4, false, 768],
  );
  assert.equal(Math.fround(config.layer_norm_eps as number), Math.fround(1e-5));
  assert.equal(config.rms_norm_eps, undefined);
  const header = async (dir: string) => {
    const bytes = await readFile(join(dir, 'model.safetensors'));
    return JSON.parse(bytes.subarray(8, 8 + Number(bytes.readBigUInt64LE(0))).toString('utf8')) as Record<string, { shape: number[] }>;
  };
  const separate = await header(phi2.dir);
  const fused = await header(converted.get('phi2-q8_0')?.dir ?? assert.fail('not converted'));
  const names = Object.keys(separate).filter((n) => n !== '__metadata__').sort();
  assert.deepEqual(Object.keys(fused).filter((n) => n !== '__metadata__').sort(), names, 'a fused attn_qkv splits into the same tensors');
  for (const name of ['lm_head.bias', 'model.final_layernorm.bias', 'model.layers.1.input_layernorm.bias', 'model.layers.1.self_attn.dense.bias', 'model.layers.0.mlp.fc1.bias', 'model.layers.0.mlp.fc2.bias']) {
    assert.ok(separate[name], name);
  }
  assert.deepEqual(fused['model.layers.0.self_attn.k_proj.weight'].shape, [256, 256]);
  assert.deepEqual(fused['model.layers.0.self_attn.v_proj.bias'].shape, [256]);
  assert.equal(phi2.summary.tiedEmbeddings, false);
  assert.match(phi2.summary.tokenizer, /gpt2 \(byte-level BPE, pre phi-2\)/);
});

test('tokenizer_config.json carries the special tokens, add_bos_token and the chat template', async () => {
  const f32 = converted.get('f32') ?? assert.fail('not converted');
  const config = await readJson<Record<string, unknown>>(join(f32.dir, 'tokenizer_config.json'));
  assert.equal(config.bos_token, '<s>');
  assert.equal(config.eos_token, '</s>');
  assert.equal(config.unk_token, '<unk>');
  assert.equal(config.add_bos_token, true);
  assert.match(String(config.chat_template), /for m in messages/);
  const smollm = await readJson<Record<string, unknown>>(join(converted.get('f16')?.dir ?? '', 'tokenizer_config.json'));
  assert.equal(smollm.add_bos_token, false);
  assert.equal(smollm.chat_template, undefined);
});

test('the converted folder keeps F16/BF16 weights as they are and writes quantized ones as F32', async () => {
  const header = async (dir: string) => {
    const bytes = await readFile(join(dir, 'model.safetensors'));
    const length = Number(bytes.readBigUInt64LE(0));
    return JSON.parse(bytes.subarray(8, 8 + length).toString('utf8')) as Record<string, { dtype: string }>;
  };
  const f16 = await header(converted.get('f16')?.dir ?? '');
  assert.equal(f16['model.layers.0.self_attn.q_proj.weight'].dtype, 'F16');
  assert.equal(f16['model.norm.weight'].dtype, 'F32');
  assert.equal(f16['lm_head.weight'], undefined);
  const q4 = await header(converted.get('q4_0')?.dir ?? '');
  assert.equal(q4['model.layers.1.mlp.down_proj.weight'].dtype, 'F32');
  assert.equal(q4['lm_head.weight'].dtype, 'F32');
});
