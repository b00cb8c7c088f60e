/**
 * `amp-prune export --format gguf` on the tiny SmolLM-style fixture (LLaMA, GQA 6/2 heads,
 * byte-level BPE, tied embeddings):
 *  (a) gguf-py (the `gguf` package) reads the file back with llama.cpp's tensor names, metadata and
 *      vocabulary, and every tensor's bytes equal what gguf-py makes of the HF tensor (q/k
 *      permutation, F16 cast, Q8_0 quantizer): bit for bit at F32, F16 and Q8_0;
 *  (b) our own importer (`convert`) turns the F32 file back into the same weights and config;
 *  (e) bad input is one line naming the file and the problem, with nothing written;
 * and the same inputs give byte-identical files.
 */
import assert from 'node:assert/strict';
import { readFile, readdir, writeFile, cp, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { convertGgufToHf } from '../../src/convert/gguf-to-hf.js';
import { exportHfToGguf } from '../../src/export/gguf/hf-to-gguf.js';
import { TensorStore } from '../../src/io/tensor-store.js';
import { loadTokenizer } from '../../src/io/tokenizer.js';
import { runCli } from '../helpers/cli.js';
import { fixtureDir, runPython } from '../helpers/python.js';
import { tempDir } from './helpers.js';

const CHECK = path.join(import.meta.dirname, '..', 'fixtures', 'check_gguf.py');

interface CheckResult {
  fields: Record<string, unknown>;
  tensors: { name: string; shape: number[]; type: string; offset_aligned: boolean; bytes_equal: boolean }[];
  tokens_match: boolean;
  control_types_match: boolean;
  merges_match: boolean;
}

const model = await fixtureDir('smollm');
const dir = await tempDir();

for (const dtype of ['f32', 'f16', 'q8_0', 'q4_0'] as const) {
  test(`(a) gguf-py reads the ${dtype} file with llama.cpp's names, metadata and bit-exact tensors`, async () => {
    const out = path.join(dir, `smollm-${dtype}.gguf`);
    await exportHfToGguf(model, out, { dtype });
    const result = JSON.parse(await runPython([CHECK, out, model])) as CheckResult;
    const f = result.fields;
    assert.equal(f['general.architecture'], 'llama');
    assert.equal(f['general.file_type'], { f32: 0, f16: 1, q8_0: 7, q4_0: 2 }[dtype]);
    assert.equal(f['general.alignment'], 32);
    assert.equal(f['llama.block_count'], 2);
    assert.equal(f['llama.embedding_length'], 96);
    assert.equal(f['llama.feed_forward_length'], 160);
    assert.equal(f['llama.attention.head_count'], 6);
    assert.equal(f['llama.attention.head_count_kv'], 2);
    assert.equal(f['llama.rope.dimension_count'], 16);
    assert.equal(f['llama.context_length'], 128);
    assert.equal(f['llama.rope.freq_base'], 100000);
    assert.ok(Math.abs((f['llama.attention.layer_norm_rms_epsilon'] as number) - 1e-5) < 1e-12);
    assert.equal(f['llama.attention.key_length'], undefined, 'head size is hidden / heads: not stated');
    assert.equal(f['tokenizer.ggml.model'], 'gpt2');
    assert.equal(f['tokenizer.ggml.pre'], 'gpt-2');
    assert.equal(f['tokenizer.ggml.bos_token_id'], 699);
    assert.equal(f['tokenizer.ggml.eos_token_id'], 699);
    assert.equal(f['tokenizer.ggml.add_bos_token'], false);
    assert.deepEqual(f['tokenizer.ggml.tokens'], { array_of: 'STRING', length: 700 });
    assert.ok(result.tokens_match && result.control_types_match && result.merges_match, 'vocabulary as tokenizer.json');

    const names = result.tensors.map((t) => t.name);
    const layer = (i: number) => ['attn_norm', 'attn_q', 'attn_k', 'attn_v', 'attn_output', 'ffn_norm', 'ffn_gate', 'ffn_up', 'ffn_down'].map((n) => `blk.${i}.${n}.weight`);
    assert.deepEqual(names, ['token_embd.weight', ...layer(0), ...layer(1), 'output_norm.weight'], 'tied: no output.weight');
    const byName = new Map(result.tensors.map((t) => [t.name, t]));
    assert.deepEqual(byName.get('blk.0.attn_k.weight')!.shape, [96, 32]);
    assert.deepEqual(byName.get('blk.0.ffn_down.weight')!.shape, [160, 96]);
    // q4_0 keeps the vocabulary tensors (here the tied token_embd) at Q8_0
    const matrixType = (name: string) => ({ f32: 'F32', f16: 'F16', q8_0: 'Q8_0', q4_0: name === 'token_embd.weight' ? 'Q8_0' : 'Q4_0' })[dtype];
    for (const t of result.tensors) {
      assert.ok(t.offset_aligned, `${t.name} aligned`);
      assert.ok(t.bytes_equal, `${t.name} (${t.type}) equals gguf-py's encoding`);
      assert.equal(t.type, t.shape.length === 1 ? 'F32' : matrixType(t.name), t.name);
    }
  });
}

test('(b) our importer turns the F32 file back into the same weights, config and tokenizer', async () => {
  const out = path.join(dir, 'roundtrip.gguf');
  await exportHfToGguf(model, out, { dtype: 'f32' });
  const back = path.join(dir, 'roundtrip');
  await convertGgufToHf(out, back);
  const [a, b] = await Promise.all([TensorStore.open(model), TensorStore.open(back)]);
  try {
    assert.deepEqual(b.names().sort(), a.names().sort());
    for (const name of a.names()) assert.deepEqual(await b.readFloat32(name), await a.readFloat32(name), name);
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
  const original = JSON.parse(await readFile(path.join(model, 'config.json'), 'utf8'));
  const converted = JSON.parse(await readFile(path.join(back, 'config.json'), 'utf8'));
  for (const key of ['hidden_size', 'intermediate_size', 'num_hidden_layers', 'num_attention_heads', 'num_key_value_heads', 'head_dim', 'vocab_size', 'tie_word_embeddings', 'max_position_embeddings', 'bos_token_id', 'eos_token_id']) {
    assert.equal(converted[key], original[key], key);
  }
  assert.equal(converted.rope_theta, 100000);
  assert.ok(Math.abs(converted.rms_norm_eps - 1e-5) < 1e-12);
  const [ta, tb] = await Promise.all([loadTokenizer(model), loadTokenizer(back)]);
  for (const text of ['The quick brown fox jumps over 12345 lazy dogs.', '  odd   spacing\n\ttabs <|endoftext|> and émoji 🙂']) {
    assert.deepEqual(tb.encode(text), ta.encode(text), text);
  }
});

test('same inputs give byte-identical files', async () => {
  const one = path.join(dir, 'one.gguf');
  const two = path.join(dir, 'two.gguf');
  await exportHfToGguf(model, one, { dtype: 'q8_0' });
  await exportHfToGguf(model, two, { dtype: 'q8_0' });
  assert.ok((await readFile(one)).equals(await readFile(two)));
});

/** A copy of the fixture with config.json edited. */
async function editedModel(name: string, edit: (config: Record<string, unknown>) => void): Promise<string> {
  const copy = path.join(dir, name);
  await cp(model, copy, { recursive: true });
  const configPath = path.join(copy, 'config.json');
  const config = JSON.parse(await readFile(configPath, 'utf8'));
  edit(config);
  await writeFile(configPath, JSON.stringify(config));
  return copy;
}

test('(e) bad input: one line naming the file and the reason, exit 1, nothing written', async () => {
  const scaled = await editedModel('rope-scaled', (c) => {
    c.rope_scaling = { rope_type: 'linear', factor: 2 };
  });
  const unnamedSplit = await editedModel('unnamed-split', () => undefined);
  const tokenizerPath = path.join(unnamedSplit, 'tokenizer.json');
  const tokenizerJson = JSON.parse(await readFile(tokenizerPath, 'utf8'));
  tokenizerJson.pre_tokenizer = { type: 'Sequence', pretokenizers: [{ type: 'WhitespaceSplit' }, tokenizerJson.pre_tokenizer] };
  await writeFile(tokenizerPath, JSON.stringify(tokenizerJson));
  const cases: [string[], RegExp][] = [
    [[scaled], /rope-scaled\/config\.json: rope type linear is not supported/],
    // convert reads phi2 GGUFs into this model type, but the export writes the llama block only
    [[await fixtureDir('phi')], /phi\/config\.json: PhiForCausalLM \(model_type phi\) cannot be exported to GGUF \(supported model types: llama, qwen2\)/],
    [[await fixtureDir('qwen3')], /qwen3\/config\.json: Qwen3ForCausalLM \(model_type qwen3\) cannot be exported/],
    [[unnamedSplit], /unnamed-split\/tokenizer\.json: its pre_tokenizer is not one llama\.cpp knows by name/],
    [[path.join(dir, 'no-such-model')], /no-such-model: model folder not found/],
    [[model, '--dtype', 'q4_k'], /error: option '--dtype <type>' argument 'q4_k' is invalid/],
    [[model, '--format', 'safetensors'], /argument 'safetensors' is invalid/],
    [[model, '--dtype', 'fp16'], /--dtype fp16 is not a GGUF type \(choose f32, f16, q8_0, q4_0\)/],
  ];
  const out = path.join(dir, 'refused', 'out.gguf');
  await mkdir(path.dirname(out));
  for (const [args, message] of cases) {
    const { code, stdout, stderr } = await runCli(['export', ...args, '--out', out]);
    assert.notEqual(code, 0, args.join(' '));
    assert.equal(stderr.trim().split('\n').length, 1, `one line: ${stderr}`);
    assert.match(stderr, message);
    assert.doesNotMatch(stderr, /\bat .*\.ts:\d+/, 'no stack trace');
    assert.equal(stdout, '');
    assert.deepEqual(await readdir(path.dirname(out)), [], 'nothing written');
  }
  const existing = path.join(dir, 'refused', 'exists.gguf');
  await writeFile(existing, 'keep');
  const { code, stderr } = await runCli(['export', model, '--out', existing]);
  assert.equal(code, 1);
  assert.match(stderr, /exists\.gguf: already exists \(use --force to replace it\)/);
  assert.equal(await readFile(existing, 'utf8'), 'keep');
  const missingFolder = await runCli(['export', model, '--out', path.join(dir, 'nowhere', 'x.gguf')]);
  assert.match(missingFolder.stderr, /x\.gguf: folder .*nowhere does not exist/);
});

test('(a) a SentencePiece-style LLaMA-2 vocabulary: tokenizer.ggml.model llama with scores, byte and control types', async () => {
  const llama2 = await fixtureDir('llama-mha');
  const out = path.join(dir, 'llama-mha.gguf');
  await exportHfToGguf(llama2, out, { dtype: 'f32' });
  const result = JSON.parse(await runPython([CHECK, out, llama2])) as CheckResult;
  const f = result.fields;
  assert.equal(f['tokenizer.ggml.model'], 'llama');
  assert.equal(f['tokenizer.ggml.pre'], undefined);
  assert.deepEqual(f['tokenizer.ggml.scores'], { array_of: 'FLOAT32', length: 856 });
  assert.equal(f['tokenizer.ggml.bos_token_id'], 1);
  assert.equal(f['tokenizer.ggml.eos_token_id'], 2);
  assert.equal(f['tokenizer.ggml.unknown_token_id'], 0);
  assert.equal(f['tokenizer.ggml.add_bos_token'], true);
  assert.equal(f['tokenizer.ggml.add_space_prefix'], true);
  assert.ok(result.tokens_match, 'tokens as tokenizer.json');
  assert.equal(f['llama.attention.head_count_kv'], f['llama.attention.head_count'], 'MHA');
  assert.ok(result.tensors.some((t) => t.name === 'output.weight'), 'untied: output.weight present');
  for (const t of result.tensors) assert.ok(t.bytes_equal, t.name);
});
