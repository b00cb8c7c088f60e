/**
 * Weights as ONNX external data: every tensor is appended to one `<model>.onnx_data` file (next to
 * the graph, as transformers.js expects) and the graph reads it through a small dequantizing node:
 *
 *   fp32  W (float)                                  ─▶ graph value
 *   fp16  W (float16)              ─Cast(float)──────▶ graph value   (matrices only)
 *   q8    W (int8), scale [rows]   ─DequantizeLinear─▶ graph value   (matrices; symmetric, per row)
 *   q4    W (uint8 nibbles [rows, blocks, 16]), scale (float16 [rows, blocks, 1])
 *           ─Cast, split nibbles, −8, ·scale, Reshape─▶ graph value  (layer matrices whose rows are
 *           whole blocks of 32, more than one: llama.cpp's Q4_0 numbers, the same quantizer as the
 *           GGUF export; the embedding, lm_head and other matrices as fp16)
 *
 * Compute stays float32 in every dtype: the smaller files are storage, which onnxruntime widens
 * at load (fp16, and q4, whose unpacking reads only initializers and so is folded at load) or per
 * run (q8). 1-D weights (norms, biases) stay float32.
 */
import type { FileHandle } from 'node:fs/promises';
import { ElemType, type GraphBuilder, int } from '../../engine/graph.js';
import { fromFloat32 } from '../../io/dtype.js';
import { QUANT_BLOCK, quantizeQ4Blocks } from '../gguf/quantize.js';

export const ONNX_DTYPES = ['fp32', 'fp16', 'q8', 'q4'] as const;
export type OnnxDtype = (typeof ONNX_DTYPES)[number];

/** Offsets of tensors in the data file are multiples of this (onnxruntime can map aligned data). */
const ALIGN = 64;

/** Symmetric int8 per row: scale = max|row| / 127, q = round(x / scale). */
export function quantizeRows(values: Float32Array, rows: number): { q: Int8Array; scale: Float32Array } {
  const cols = values.length / rows;
  const q = new Int8Array(values.length);
  const scale = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    let max = 0;
    for (let c = 0; c < cols; c++) max = Math.max(max, Math.abs(values[r * cols + c]));
    const s = max === 0 ? 1 : max / 127;
    scale[r] = s;
    for (let c = 0; c < cols; c++) q[r * cols + c] = Math.max(-127, Math.min(127, Math.round(values[r * cols + c] / scale[r])));
  }
  return { q, scale };
}

const bytes = (a: ArrayBufferView): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

export class ExternalWeights {
  private offset = 0;
  readonly counts: Record<string, number> = {};

  constructor(
    private readonly g: GraphBuilder,
    private readonly file: FileHandle,
    /** The data file's name as the graph refers to it (relative to the .onnx file). */
    private readonly location: string,
    private readonly dtype: OnnxDtype,
  ) {}

  get bytesWritten(): number {
    return this.offset;
  }

  private async append(name: string, elemType: ElemType, dims: readonly number[], data: Uint8Array): Promise<string> {
    const start = Math.ceil(this.offset / ALIGN) * ALIGN;
    if (start > this.offset) await this.file.write(new Uint8Array(start - this.offset), 0, start - this.offset, this.offset);
    await this.file.write(data, 0, data.length, start);
    this.offset = start + data.length;
    this.counts[ElemType[elemType]] = (this.counts[ElemType[elemType]] ?? 0) + 1;
    return this.g.initializer({ name, elemType, dims, external: { location: this.location, offset: start, length: data.length } });
  }

  /** Writes one weight and returns the float32 graph value that reads it. */
  async add(name: string, values: Float32Array, dims: readonly number[]): Promise<string> {
    if (dims.length < 2 || this.dtype === 'fp32') return this.append(name, ElemType.FLOAT, dims, bytes(values));
    const cols = dims[dims.length - 1];
    const fourBit = this.dtype === 'q4' && dims.length === 2 && name.includes('.layers.') && cols % QUANT_BLOCK === 0 && cols > QUANT_BLOCK;
    if (fourBit) return this.addFourBit(name, values, dims[0], cols);
    if (this.dtype === 'fp16' || this.dtype === 'q4') {
      const half = await this.append(`${name}.fp16`, ElemType.FLOAT16, dims, fromFloat32(values, 'F16'));
      return this.g.op(`/weights/${name}/Cast`, 'Cast', [half], { to: int(ElemType.FLOAT) });
    }
    const { q, scale } = quantizeRows(values, dims[0]);
    const quantized = await this.append(`${name}.int8`, ElemType.INT8, dims, bytes(q));
    const scales = await this.append(`${name}.scale`, ElemType.FLOAT, [dims[0]], bytes(scale));
    return this.g.op(`/weights/${name}/DequantizeLinear`, 'DequantizeLinear', [quantized, scales], { axis: int(0) });
  }

  /** Q4_0 blocks along each row, unpacked in the graph: w = scale · (nibble − 8). */
  private async addFourBit(name: string, values: Float32Array, rows: number, cols: number): Promise<string> {
    const blocks = cols / QUANT_BLOCK;
    const half = QUANT_BLOCK / 2;
    const { scales, nibbles } = quantizeQ4Blocks(values);
    const packed = await this.append(`${name}.q4`, ElemType.UINT8, [rows, blocks, half], nibbles);
    const scale = await this.append(`${name}.q4_scale`, ElemType.FLOAT16, [rows, blocks, 1], bytes(scales));
    const g = this.g;
    const at = `/weights/${name}`;
    // float arithmetic throughout: onnxruntime's CPU Sub/Mul have no uint8 kernels
    const p = g.op(`${at}/Cast`, 'Cast', [packed], { to: int(ElemType.FLOAT) });
    const high = g.op(`${at}/high/Floor`, 'Floor', [g.op(`${at}/high/Div`, 'Div', [p, g.f32(16)])]);
    const low = g.op(`${at}/low/Sub`, 'Sub', [p, g.op(`${at}/low/Mul`, 'Mul', [high, g.f32(16)])]);
    const q = g.op(`${at}/Concat`, 'Concat', [low, high], { axis: int(2) }); // [rows, blocks, 32]: q[j], then q[j + 16]
    const centred = g.op(`${at}/Sub`, 'Sub', [q, g.f32(8)]);
    const scaled = g.op(`${at}/Mul`, 'Mul', [centred, g.op(`${at}/scale/Cast`, 'Cast', [scale], { to: int(ElemType.FLOAT) })]);
    return g.op(`${at}/Reshape`, 'Reshape', [scaled, g.i64([rows, cols])]);
  }
}
