/**
 * A minimal protocol-buffers *writer*: just enough wire format (varint, 64-bit, length-delimited)
 * to serialise ONNX ModelProto. Decoding is never needed: onnxruntime parses what we emit.
 *
 * Messages are built bottom-up: each nested message is encoded first and embedded as bytes, so
 * no size pre-pass is required.
 */

const enum WireType {
  Varint = 0,
  Fixed64 = 1,
  LengthDelimited = 2,
  Fixed32 = 5,
}

export class ProtoWriter {
  private chunks: Uint8Array[] = [];
  private scratch = new Uint8Array(64);
  private scratchUsed = 0;
  private total = 0;

  private flushScratch(): void {
    if (this.scratchUsed === 0) return;
    this.chunks.push(this.scratch.slice(0, this.scratchUsed));
    this.scratchUsed = 0;
  }

  private byte(b: number): void {
    if (this.scratchUsed === this.scratch.length) this.flushScratch();
    this.scratch[this.scratchUsed++] = b;
    this.total++;
  }

  private rawVarint(value: bigint | number): void {
    // Negative int64 values are encoded as their 64-bit two's complement (10 bytes), as protobuf does.
    let v = BigInt.asUintN(64, BigInt(value));
    while (v >= 0x80n) {
      this.byte(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    this.byte(Number(v));
  }

  private tag(field: number, wire: WireType): void {
    this.rawVarint((field << 3) | wire);
  }

  private bytesRaw(data: Uint8Array): void {
    this.flushScratch();
    this.chunks.push(data);
    this.total += data.length;
  }

  varint(field: number, value: number | bigint): this {
    this.tag(field, WireType.Varint);
    this.rawVarint(value);
    return this;
  }

  float(field: number, value: number): this {
    this.tag(field, WireType.Fixed32);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, value, true);
    for (const x of b) this.byte(x);
    return this;
  }

  bytes(field: number, data: Uint8Array): this {
    this.tag(field, WireType.LengthDelimited);
    this.rawVarint(data.length);
    this.bytesRaw(data);
    return this;
  }

  string(field: number, value: string): this {
    return this.bytes(field, new TextEncoder().encode(value));
  }

  message(field: number, inner: ProtoWriter): this {
    const parts = inner.parts();
    this.tag(field, WireType.LengthDelimited);
    this.rawVarint(inner.length);
    for (const p of parts) this.bytesRaw(p);
    return this;
  }

  /** Packed repeated varints (int64 dims, ints attributes). */
  packedVarints(field: number, values: readonly (number | bigint)[]): this {
    const inner = new ProtoWriter();
    for (const v of values) inner.rawVarint(v);
    return this.bytes(field, inner.finish());
  }

  /** Packed repeated float32 (floats attributes). */
  packedFloats(field: number, values: readonly number[]): this {
    const b = new Uint8Array(values.length * 4);
    const view = new DataView(b.buffer);
    values.forEach((v, i) => view.setFloat32(i * 4, v, true));
    return this.bytes(field, b);
  }

  get length(): number {
    return this.total;
  }

  parts(): Uint8Array[] {
    this.flushScratch();
    return this.chunks;
  }

  finish(): Uint8Array {
    const parts = this.parts();
    if (parts.length === 1) return parts[0];
    const out = new Uint8Array(this.total);
    let offset = 0;
    for (const p of parts) {
      out.set(p, offset);
      offset += p.length;
    }
    return out;
  }
}
