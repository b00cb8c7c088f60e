/**
 * Property-based test of the GGUF reader (src/io/gguf/: header, metadata, tensor infos, and the
 * dequantizers) and of the metadata readers convert runs first (vocabulary, layout): thousands of
 * mutations of a small file written by gguf-py (every metadata value type, float and quantized
 * tensors), each either read whole or refused with a one-line UserError, quickly.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { readGgufVocab } from '../../src/convert/gguf-vocab.js';
import { llamaLayout } from '../../src/convert/llama-layout.js';
import { dequantize, isSupportedType } from '../../src/io/gguf/dequantize.js';
import { GgufFile } from '../../src/io/gguf/reader.js';
import { runPython } from '../helpers/python.js';
import { fuzzParameters, mutatedBytes, readsOrRefusesCleanly, withScratch } from './helpers.js';

const MAKE_SEED = `
import sys, numpy as np, gguf
rng = np.random.default_rng(0)
w = gguf.GGUFWriter(sys.argv[1], 'llama')
w.add_block_count(1)
w.add_context_length(64)
w.add_embedding_length(32)
w.add_feed_forward_length(64)
w.add_head_count(2)
w.add_head_count_kv(1)
w.add_layer_norm_rms_eps(1e-5)
w.add_rope_freq_base(10000.0)
w.add_tokenizer_model('llama')
w.add_token_list(['<unk>', '<s>', '</s>', 'a', 'b', '\u2581c'])
w.add_token_scores([0.0, 0.0, 0.0, -1.0, -2.0, -3.0])
w.add_token_types([2, 3, 3, 1, 1, 1])
w.add_bos_token_id(1)
w.add_eos_token_id(2)
w.add_add_bos_token(True)
w.add_key_value('test.i8', -3, gguf.GGUFValueType.INT8)
w.add_key_value('test.u64', 2**40, gguf.GGUFValueType.UINT64)
w.add_key_value('test.f64', 0.25, gguf.GGUFValueType.FLOAT64)
w.add_key_value('test.nested', [[1, 2], [3]], gguf.GGUFValueType.ARRAY, sub_type=gguf.GGUFValueType.ARRAY)
w.add_tensor('token_embd.weight', rng.standard_normal((6, 32), dtype=np.float32))
w.add_tensor('output_norm.weight', np.ones(32, dtype=np.float32))
w.add_tensor('blk.0.attn_q.weight', rng.standard_normal((32, 32)).astype(np.float16))
for name, qtype, rows in [('blk.0.ffn_up.weight', 'Q8_0', 2), ('blk.0.ffn_gate.weight', 'Q4_0', 2), ('blk.0.ffn_down.weight', 'Q4_K', 1), ('blk.0.attn_k.weight', 'Q6_K', 1), ('blk.0.attn_v.weight', 'Q5_1', 1), ('blk.0.attn_output.weight', 'BF16', 1)]:
    t = gguf.GGMLQuantizationType[qtype]
    block, size = gguf.GGML_QUANT_SIZES[t]
    cols = 256
    raw = rng.integers(0, 256, size=(rows, cols // block * size), dtype=np.uint8)
    w.add_tensor(name, raw, raw_shape=raw.shape, raw_dtype=t)
w.write_header_to_file()
w.write_kv_data_to_file()
w.write_tensors_to_file()
w.close()
`;

async function readAll(file: string): Promise<void> {
  const gguf = await GgufFile.open(file);
  try {
    for (const info of gguf.tensors) {
      const bytes = await gguf.readBytes(info);
      if (isSupportedType(info.type)) dequantize(bytes, info.type, gguf.path, info.name);
    }
    const vocab = readGgufVocab(gguf.metadata);
    llamaLayout(gguf.metadata, vocab.tokens.length);
  } finally {
    await gguf.close();
  }
}

test('gguf: mutated files are read (header, metadata, every tensor dequantized) or refused in one line', { timeout: 120_000 }, async () => {
  await withScratch('gguf', async (dir) => {
    const seedPath = join(dir, 'seed.gguf');
    await runPython(['-c', MAKE_SEED, seedPath]);
    const seed = new Uint8Array(await readFile(seedPath));
    const probe = await GgufFile.open(seedPath);
    const headerEnd = probe.dataOffset;
    await probe.close();
    assert.equal(await readsOrRefusesCleanly('seed', () => readAll(seedPath)), true, 'the seed file reads');
    const file = join(dir, 'model.gguf');
    let refused = 0;
    await fc.assert(
      fc.asyncProperty(mutatedBytes(seed, headerEnd, 0.9), async (bytes) => {
        await writeFile(file, bytes);
        if (!(await readsOrRefusesCleanly(`mutated file of ${bytes.length} bytes`, () => readAll(file)))) refused++;
      }),
      fuzzParameters(),
    );
    assert.ok(refused > 0, 'some mutations were refused (the mutations reach the parser)');
  });
});
