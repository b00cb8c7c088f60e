/**
 * GGUF v3 file layout: header, key/values, tensor infos, then tensor data, each tensor starting
 * on a multiple of the alignment (llama.cpp mmaps the data and reads blocks in place). Offsets
 * follow from shapes and types alone, so the header is written before any tensor is encoded and
 * one tensor is in memory at a time. The file is written under a temporary name beside the
 * target and renamed into place by commit(): a failure leaves no partial file.
 */
import { promises as fs } from 'node:fs';
import { tempSibling } from '../../io/atomic.js';
import { interruptionPoint, removeOnInterrupt, throwIfInterrupted } from '../../interrupt.js';
import { ggmlTypeByName } from '../../io/gguf/ggml-types.js';
import { ByteSink, type KvEntry, u32, writeKv } from './metadata-writer.js';
import { type GgufTensorType, encodedByteLength } from './quantize.js';

export const GGUF_ALIGNMENT = 32;
const GGUF_VERSION = 3;

export interface TensorSlot {
  name: string;
  /** ggml order: row length first (the transformers shape reversed). */
  dims: readonly number[];
  type: GgufTensorType;
  byteLength: number;
  /** From the start of the data section. */
  offset: number;
}

const alignUp = (n: number) => Math.ceil(n / GGUF_ALIGNMENT) * GGUF_ALIGNMENT;

export function planSlots(tensors: readonly { name: string; shape: readonly number[]; type: GgufTensorType }[]): TensorSlot[] {
  let offset = 0;
  return tensors.map(({ name, shape, type }) => {
    const byteLength = encodedByteLength(type, shape.reduce((a, b) => a * b, 1));
    const slot = { name, dims: [...shape].reverse(), type, byteLength, offset };
    offset = alignUp(offset + byteLength);
    return slot;
  });
}

/** Everything before the data section, padded to the alignment. */
export function encodeHeader(kv: readonly KvEntry[], slots: readonly TensorSlot[]): Uint8Array {
  const entries: KvEntry[] = [...kv, ['general.alignment', u32(GGUF_ALIGNMENT)]];
  const sink = new ByteSink();
  sink.bytes(Buffer.from('GGUF', 'latin1'));
  sink.u32(GGUF_VERSION);
  sink.u64(slots.length);
  sink.u64(entries.length);
  for (const entry of entries) writeKv(sink, entry);
  for (const slot of slots) {
    sink.string(slot.name);
    sink.u32(slot.dims.length);
    for (const d of slot.dims) sink.u64(d);
    sink.u32(ggmlTypeByName(slot.type)!.id);
    sink.u64(slot.offset);
  }
  sink.zeros(alignUp(sink.length) - sink.length);
  return sink.result();
}

export class GgufFileWriter {
  private position = 0;
  private committed = false;

  private constructor(
    readonly target: string,
    private readonly tmp: string,
    private readonly handle: fs.FileHandle,
    /** Unregisters the temporary file from the interruption cleanup (src/interrupt.ts). */
    private readonly forgetOnInterrupt: () => void,
  ) {}

  static async create(target: string): Promise<GgufFileWriter> {
    const tmp = tempSibling(target);
    return new GgufFileWriter(target, tmp, await fs.open(tmp, 'wx'), removeOnInterrupt(tmp));
  }

  async write(bytes: Uint8Array): Promise<void> {
    await this.handle.write(bytes, 0, bytes.byteLength, this.position);
    this.position += bytes.byteLength;
  }

  /** Writes one tensor's bytes and the padding after it. */
  async writeTensor(slot: TensorSlot, bytes: Uint8Array): Promise<void> {
    if (bytes.byteLength !== slot.byteLength) throw new Error(`${slot.name}: encoded ${bytes.byteLength} bytes, expected ${slot.byteLength}`);
    await interruptionPoint(`write ${slot.name}`);
    await this.write(bytes);
    const pad = alignUp(bytes.byteLength) - bytes.byteLength;
    if (pad > 0) await this.write(new Uint8Array(pad));
  }

  async commit(): Promise<void> {
    await this.handle.sync();
    await this.handle.close();
    throwIfInterrupted();
    await fs.rename(this.tmp, this.target);
    this.committed = true;
    this.forgetOnInterrupt();
  }

  /** Removes the temporary file; a no-op after commit. */
  async abort(): Promise<void> {
    if (this.committed) return;
    await this.handle.close().catch(() => undefined);
    await fs.rm(this.tmp, { force: true });
    this.forgetOnInterrupt();
  }
}
