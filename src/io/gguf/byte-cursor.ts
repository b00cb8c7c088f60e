/**
 * Little-endian reads over the start of a GGUF file held in memory. The header's length is not
 * known up front (metadata can hold a 150k-token vocabulary), so the reader loads a prefix and,
 * when a read runs past it, asks for a longer one (NeedMoreBytes) and parses again.
 */
import { FileError } from '../../errors.js';

/** Thrown when the loaded prefix ends before the header does; `atLeast` is the byte count to load. */
export class NeedMoreBytes extends Error {
  constructor(readonly atLeast: number) {
    super(`need at least ${atLeast} bytes of the header`);
  }
}

const utf8 = new TextDecoder('utf-8');

export class ByteCursor {
  private position = 0;
  private readonly view: DataView;

  constructor(
    private readonly bytes: Uint8Array,
    /** Size of the whole file: a read past it means the file is truncated, not that the prefix is short. */
    readonly fileSize: number,
    readonly file: string,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get offset(): number {
    return this.position;
  }

  /** Fails unless `count` more bytes exist in the file; asks for a longer prefix when the file has them. */
  private need(count: number, what: string): number {
    const start = this.position;
    const end = start + count;
    if (end > this.fileSize) throw new FileError(this.file, `truncated: ${what} at byte ${start} runs past the end of the file (${this.fileSize} bytes)`);
    if (end > this.bytes.byteLength) throw new NeedMoreBytes(end);
    this.position = end;
    return start;
  }

  /** Checks that `count` items of at least `itemSize` bytes each can fit in the rest of the file. */
  checkFits(count: number, itemSize: number, what: string): void {
    if (count * itemSize > this.fileSize - this.position) {
      throw new FileError(this.file, `truncated: ${what} of ${count} items at byte ${this.position} cannot fit in the file (${this.fileSize} bytes)`);
    }
  }

  u8(what: string): number {
    return this.view.getUint8(this.need(1, what));
  }

  i8(what: string): number {
    return this.view.getInt8(this.need(1, what));
  }

  u16(what: string): number {
    return this.view.getUint16(this.need(2, what), true);
  }

  i16(what: string): number {
    return this.view.getInt16(this.need(2, what), true);
  }

  u32(what: string): number {
    return this.view.getUint32(this.need(4, what), true);
  }

  i32(what: string): number {
    return this.view.getInt32(this.need(4, what), true);
  }

  u64(what: string): bigint {
    return this.view.getBigUint64(this.need(8, what), true);
  }

  i64(what: string): bigint {
    return this.view.getBigInt64(this.need(8, what), true);
  }

  f32(what: string): number {
    return this.view.getFloat32(this.need(4, what), true);
  }

  f64(what: string): number {
    return this.view.getFloat64(this.need(8, what), true);
  }

  /** A u64 count or size, which must also be a safe JS integer (any real one is). */
  size(what: string): number {
    const value = this.u64(what);
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new FileError(this.file, `${what} is ${value}, too large to be valid`);
    return Number(value);
  }

  /** GGUF string: u64 byte length, then UTF-8 bytes (no terminator). */
  string(what: string): string {
    const length = this.size(`${what} length`);
    this.checkFits(length, 1, what);
    const start = this.need(length, what);
    return utf8.decode(this.bytes.subarray(start, start + length));
  }
}
