/**
 * One GGUF tensor as the bytes of its transformers counterpart: dequantized (or kept, for float
 * types), with llama.cpp's q/k row interleave undone, or the rows of it that make up the
 * counterpart (a fused attn_qkv); zeros for a bias the file left out.
 */
import { FileError } from '../errors.js';
import { elementSize, fromFloat32 } from '../io/dtype.js';
import { checkFiniteTensor, elementPosition, firstNonFiniteValue } from '../io/finite.js';
import { dequantize } from '../io/gguf/dequantize.js';
import type { GgufFile } from '../io/gguf/reader.js';
import type { TensorMapping } from './llama-tensors.js';

export async function hfTensorBytes(gguf: GgufFile, tensor: TensorMapping): Promise<Uint8Array> {
  if (!tensor.source) return new Uint8Array(tensor.shape.reduce((n, d) => n * d, 1) * elementSize(tensor.dtype));
  const raw = await gguf.readBytes(tensor.source);
  let bytes: Uint8Array;
  if (tensor.source.type.name === tensor.dtype) {
    checkFiniteTensor(gguf.path, tensor.source.name, tensor.dtype, tensor.source.shape, raw);
    bytes = raw;
  } else {
    const values = dequantize(raw, tensor.source.type, gguf.path, tensor.source.name);
    // a quantized block's scale can be NaN or Inf too
    const bad = firstNonFiniteValue(values);
    if (bad) throw new FileError(gguf.path, `tensor "${tensor.source.name}" holds ${bad.kind} at ${elementPosition(bad.index, tensor.source.shape)} (weights must be finite numbers)`);
    bytes = fromFloat32(values, tensor.dtype);
  }
  if (tensor.rows) {
    const rowBytes = bytes.byteLength / tensor.source.shape[0];
    bytes = bytes.slice(tensor.rows.start * rowBytes, (tensor.rows.start + tensor.rows.count) * rowBytes);
  }
  return tensor.unpermuteHeads ? unpermuteRows(bytes, tensor.shape[0], tensor.unpermuteHeads) : bytes;
}

/**
 * Inverse of convert_hf_to_gguf.py's LlamaModel.permute, as transformers' GGUF loader undoes it
 * (reverse_permute_weights): llama.cpp stores each head's rows as pairs (d, d + half) interleaved,
 * for its rotate-adjacent-pairs RoPE; transformers rotates the two halves. Within head h:
 *
 *   GGUF row  h·2·half + 2·d + j   ->   HF row  h·2·half + j·half + d     (j ∈ {0, 1}, d < half)
 *
 * Works on rows of any byte width, so it serves weights (rows of `in` values) and biases alike.
 */
export function unpermuteRows(bytes: Uint8Array, rows: number, heads: number): Uint8Array {
  const rowBytes = bytes.byteLength / rows;
  const half = rows / heads / 2;
  const out = new Uint8Array(bytes.byteLength);
  for (let h = 0; h < heads; h++) {
    for (let d = 0; d < half; d++) {
      for (let j = 0; j < 2; j++) {
        const from = (h * 2 * half + 2 * d + j) * rowBytes;
        const to = (h * 2 * half + j * half + d) * rowBytes;
        out.set(bytes.subarray(from, from + rowBytes), to);
      }
    }
  }
  return out;
}
