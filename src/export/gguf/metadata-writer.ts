/**
 * GGUF key/value entries as bytes (the section after the header). Values are written with an
 * explicit GGUF type, so the file says uint32 where llama.cpp reads uint32, float32 where it
 * reads float32 (it refuses a key of the wrong type). Value type ids are the reader's table.
 */
import { GgufValueType, type GgufValueTypeId } from '../../io/gguf/metadata.js';

export type ScalarType = 'u32' | 'i32' | 'f32' | 'bool' | 'string';

export type KvValue =
  | { type: ScalarType; value: number | boolean | string }
  | { type: 'array'; item: ScalarType; values: readonly (number | boolean | string)[] };

export type KvEntry = [key: string, value: KvValue];

const TYPE_IDS: Record<ScalarType, GgufValueTypeId> = {
  u32: GgufValueType.UINT32,
  i32: GgufValueType.INT32,
  f32: GgufValueType.FLOAT32,
  bool: GgufValueType.BOOL,
  string: GgufValueType.STRING,
};

/** Growable little-endian byte buffer. */
export class ByteSink {
  private buffer = new Uint8Array(1 << 16);
  private view = new DataView(this.buffer.buffer);
  length = 0;

  private reserve(extra: number): void {
    if (this.length + extra <= this.buffer.length) return;
    let size = this.buffer.length * 2;
    while (size < this.length + extra) size *= 2;
    const grown = new Uint8Array(size);
    grown.set(this.buffer.subarray(0, this.length));
    this.buffer = grown;
    this.view = new DataView(grown.buffer);
  }

  u8(v: number): void { this.reserve(1); this.view.setUint8(this.length, v); this.length += 1; }
  u32(v: number): void { this.reserve(4); this.view.setUint32(this.length, v, true); this.length += 4; }
  i32(v: number): void { this.reserve(4); this.view.setInt32(this.length, v, true); this.length += 4; }
  f32(v: number): void { this.reserve(4); this.view.setFloat32(this.length, v, true); this.length += 4; }
  u64(v: number): void { this.reserve(8); this.view.setBigUint64(this.length, BigInt(v), true); this.length += 8; }
  bytes(b: Uint8Array): void { this.reserve(b.length); this.buffer.set(b, this.length); this.length += b.length; }
  string(s: string): void {
    const b = Buffer.from(s, 'utf8');
    this.u64(b.length);
    this.bytes(b);
  }
  zeros(n: number): void { this.reserve(n); this.buffer.fill(0, this.length, this.length + n); this.length += n; }

  result(): Uint8Array {
    return this.buffer.subarray(0, this.length);
  }
}

function writeScalar(sink: ByteSink, type: ScalarType, value: number | boolean | string): void {
  switch (type) {
    case 'u32': sink.u32(value as number); break;
    case 'i32': sink.i32(value as number); break;
    case 'f32': sink.f32(value as number); break;
    case 'bool': sink.u8(value ? 1 : 0); break;
    case 'string': sink.string(value as string); break;
  }
}

export function writeKv(sink: ByteSink, [key, kv]: KvEntry): void {
  sink.string(key);
  if (kv.type === 'array') {
    sink.u32(GgufValueType.ARRAY);
    sink.u32(TYPE_IDS[kv.item]);
    sink.u64(kv.values.length);
    for (const v of kv.values) writeScalar(sink, kv.item, v);
  } else {
    sink.u32(TYPE_IDS[kv.type]);
    writeScalar(sink, kv.type, kv.value);
  }
}

export const u32 = (value: number): KvValue => ({ type: 'u32', value });
export const f32 = (value: number): KvValue => ({ type: 'f32', value });
export const str = (value: string): KvValue => ({ type: 'string', value });
export const bool = (value: boolean): KvValue => ({ type: 'bool', value });
