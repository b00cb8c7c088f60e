/**
 * A bzip2 decompressor (Node's zlib has none), for the HellaSwag text rendering. Blocks are
 * yielded one at a time so that a reader wanting only the first items (--limit) stops early.
 * Follows the reference implementation (bzip2 1.0.x decompress.c, huffman.c); CRCs are checked.
 *
 * Stream layout: "BZh" + level, then blocks (48-bit magic 0x314159265359, CRC, BWT origin,
 * symbol map, Huffman tables, MTF/RLE2-coded symbols), then an end marker (0x177245385090 +
 * combined CRC). Concatenated streams (pbzip2) are read one after another.
 */

export class Bzip2Error extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'Bzip2Error';
  }
}

const BLOCK_MAGIC = [0x3141, 0x5926, 0x5359];
const END_MAGIC = [0x1772, 0x4538, 0x5090];
const MAX_GROUPS = 6;
const GROUP_SIZE = 50;
const MAX_CODE_LENGTH = 20;
const RUN_A = 0;
const RUN_B = 1;

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i << 24;
    for (let k = 0; k < 8; k++) c = c & 0x80000000 ? (c << 1) ^ 0x04c11db7 : c << 1;
    table[i] = c >>> 0;
  }
  return table;
})();

/** Most-significant-bit-first reader. */
class BitReader {
  private position = 0;

  constructor(private readonly data: Uint8Array) {}

  bit(): number {
    const byte = this.position >>> 3;
    if (byte >= this.data.length) throw new Bzip2Error('unexpected end of compressed data');
    const value = (this.data[byte] >>> (7 - (this.position & 7))) & 1;
    this.position++;
    return value;
  }

  /** n ≤ 24 bits as an unsigned number. */
  bits(n: number): number {
    let value = 0;
    for (let i = 0; i < n; i++) value = (value << 1) | this.bit();
    return value;
  }

  uint32(): number {
    return this.bits(16) * 0x10000 + this.bits(16);
  }

  alignToByte(): void {
    this.position = (this.position + 7) & ~7;
  }

  get atEnd(): boolean {
    return this.position >>> 3 >= this.data.length;
  }
}

/** Canonical Huffman decoding tables of one group (huffman.c's limit/base/perm). */
class HuffmanTable {
  private readonly limit = new Int32Array(MAX_CODE_LENGTH + 2);
  private readonly base = new Int32Array(MAX_CODE_LENGTH + 2);
  private readonly perm: Int32Array;
  private readonly minLength: number;
  private readonly maxLength: number;

  constructor(lengths: Uint8Array) {
    this.minLength = Math.min(...lengths);
    this.maxLength = Math.max(...lengths);
    this.perm = new Int32Array(lengths.length);
    let p = 0;
    for (let len = this.minLength; len <= this.maxLength; len++) {
      lengths.forEach((l, symbol) => {
        if (l === len) this.perm[p++] = symbol;
      });
    }
    for (const l of lengths) this.base[l + 1]++;
    for (let i = 1; i < this.base.length; i++) this.base[i] += this.base[i - 1];
    let code = 0;
    for (let len = this.minLength; len <= this.maxLength; len++) {
      code += this.base[len + 1] - this.base[len];
      this.limit[len] = code - 1;
      code <<= 1;
    }
    for (let len = this.minLength + 1; len <= this.maxLength; len++) {
      this.base[len] = ((this.limit[len - 1] + 1) << 1) - this.base[len];
    }
  }

  decode(reader: BitReader): number {
    let len = this.minLength;
    let code = reader.bits(len);
    while (code > this.limit[len]) {
      if (++len > this.maxLength) throw new Bzip2Error('invalid Huffman code');
      code = (code << 1) | reader.bit();
    }
    const symbol = this.perm[code - this.base[len]];
    if (symbol === undefined) throw new Bzip2Error('invalid Huffman code');
    return symbol;
  }
}

/** The byte values present in the block, in order (the symbol map). */
function readSymbolMap(reader: BitReader): number[] {
  const ranges = reader.bits(16);
  const used: number[] = [];
  for (let i = 0; i < 16; i++) {
    if (!(ranges & (0x8000 >>> i))) continue;
    const bits = reader.bits(16);
    for (let j = 0; j < 16; j++) if (bits & (0x8000 >>> j)) used.push(i * 16 + j);
  }
  if (used.length === 0) throw new Bzip2Error('block uses no symbols');
  return used;
}

function readTables(reader: BitReader, alphabetSize: number): { tables: HuffmanTable[]; selectors: Uint8Array } {
  const groups = reader.bits(3);
  const selectorCount = reader.bits(15);
  if (groups < 2 || groups > MAX_GROUPS || selectorCount < 1) throw new Bzip2Error('invalid Huffman group header');
  const order = Array.from({ length: groups }, (_, i) => i);
  const selectors = new Uint8Array(selectorCount);
  for (let i = 0; i < selectorCount; i++) {
    let j = 0;
    while (reader.bit()) if (++j >= groups) throw new Bzip2Error('invalid selector');
    const [group] = order.splice(j, 1); // selectors are move-to-front coded
    order.unshift(group);
    selectors[i] = group;
  }
  const tables: HuffmanTable[] = [];
  for (let g = 0; g < groups; g++) {
    const lengths = new Uint8Array(alphabetSize);
    let length = reader.bits(5);
    for (let symbol = 0; symbol < alphabetSize; symbol++) {
      for (;;) {
        if (length < 1 || length > MAX_CODE_LENGTH) throw new Bzip2Error('invalid code length');
        if (!reader.bit()) break;
        length += reader.bit() ? -1 : 1;
      }
      lengths[symbol] = length;
    }
    tables.push(new HuffmanTable(lengths));
  }
  return { tables, selectors };
}

/** Undoes the bzip2 initial run-length coding: 4 equal bytes are followed by a repeat count. */
function undoInitialRuns(bwtOutput: Uint8Array): Uint8Array {
  let out = new Uint8Array(bwtOutput.length + 1024);
  let n = 0;
  const push = (byte: number, times: number) => {
    if (n + times > out.length) {
      const grown = new Uint8Array(Math.max(out.length * 2, n + times));
      grown.set(out.subarray(0, n));
      out = grown;
    }
    out.fill(byte, n, n + times);
    n += times;
  };
  let run = 0;
  let previous = -1;
  for (let i = 0; i < bwtOutput.length; i++) {
    const byte = bwtOutput[i];
    if (run === 4) {
      push(previous, byte);
      run = 0;
      previous = -1;
      continue;
    }
    run = byte === previous ? run + 1 : 1;
    previous = byte;
    push(byte, 1);
  }
  return out.subarray(0, n);
}

function blockCrc(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of bytes) crc = ((crc << 8) ^ CRC_TABLE[(crc >>> 24) ^ byte]) >>> 0;
  return ~crc >>> 0;
}

/** Decodes one block after its magic; returns its bytes and stored CRC. */
function readBlock(reader: BitReader, maxBlockSize: number): { bytes: Uint8Array; crc: number } {
  const crc = reader.uint32();
  if (reader.bit()) throw new Bzip2Error('randomised blocks (bzip2 < 0.9.5) are not supported');
  const origin = reader.bits(24);
  const symbols = readSymbolMap(reader);
  const endOfBlock = symbols.length + 1;
  const { tables, selectors } = readTables(reader, symbols.length + 2);

  // Symbols -> bytes (tt's low 8 bits), undoing RUNA/RUNB zero-run coding and move-to-front.
  const tt = new Uint32Array(maxBlockSize);
  const counts = new Int32Array(256);
  const mtf = Uint8Array.from(symbols);
  let size = 0;
  let runLength = 0;
  let runWeight = 1;
  for (let decoded = 0; ; decoded++) {
    const selector = Math.floor(decoded / GROUP_SIZE);
    if (selector >= selectors.length) throw new Bzip2Error('ran out of selectors');
    const symbol = tables[selectors[selector]].decode(reader);
    if (symbol === RUN_A || symbol === RUN_B) {
      runLength += (symbol === RUN_A ? 1 : 2) * runWeight;
      runWeight *= 2;
      if (runLength > maxBlockSize) throw new Bzip2Error('run exceeds the block size');
      continue;
    }
    if (runLength > 0) {
      if (size + runLength > maxBlockSize) throw new Bzip2Error('block exceeds its declared size');
      const byte = mtf[0];
      counts[byte] += runLength;
      tt.fill(byte, size, size + runLength);
      size += runLength;
      runLength = 0;
      runWeight = 1;
    }
    if (symbol === endOfBlock) break;
    if (size >= maxBlockSize) throw new Bzip2Error('block exceeds its declared size');
    const byte = mtf[symbol - 1];
    mtf.copyWithin(1, 0, symbol - 1);
    mtf[0] = byte;
    counts[byte]++;
    tt[size++] = byte;
  }
  if (origin >= size) throw new Bzip2Error('BWT origin outside the block');

  // Inverse Burrows-Wheeler transform: link each position to the next (tt's high 24 bits).
  const next = new Int32Array(256);
  for (let b = 1; b < 256; b++) next[b] = next[b - 1] + counts[b - 1];
  for (let i = 0; i < size; i++) {
    const byte = tt[i] & 0xff;
    tt[next[byte]++] |= i << 8;
  }
  const bwtOutput = new Uint8Array(size);
  let position = tt[origin] >>> 8;
  for (let i = 0; i < size; i++) {
    const entry = tt[position];
    bwtOutput[i] = entry & 0xff;
    position = entry >>> 8;
  }
  return { bytes: undoInitialRuns(bwtOutput), crc };
}

/** The decompressed bytes of `data`, one bzip2 block at a time. */
export function* bunzip2Blocks(data: Uint8Array): Generator<Uint8Array> {
  const reader = new BitReader(data);
  do {
    if (reader.bits(8) !== 0x42 || reader.bits(8) !== 0x5a || reader.bits(8) !== 0x68) {
      throw new Bzip2Error('not a bzip2 stream (no "BZh" header)');
    }
    const level = reader.bits(8) - 0x30;
    if (level < 1 || level > 9) throw new Bzip2Error('invalid block size in the header');
    let combined = 0;
    for (;;) {
      const parts = [reader.bits(16), reader.bits(16), reader.bits(16)];
      if (parts.every((p, i) => p === END_MAGIC[i])) {
        if (reader.uint32() !== combined) throw new Bzip2Error('stream CRC mismatch');
        reader.alignToByte();
        break;
      }
      if (!parts.every((p, i) => p === BLOCK_MAGIC[i])) throw new Bzip2Error('invalid block header');
      const { bytes, crc } = readBlock(reader, level * 100000);
      if (blockCrc(bytes) !== crc) throw new Bzip2Error('block CRC mismatch (corrupt data)');
      combined = (((combined << 1) | (combined >>> 31)) ^ crc) >>> 0;
      yield bytes;
    }
  } while (!reader.atEnd);
}

/** All decompressed bytes of `data`. */
export function bunzip2(data: Uint8Array): Uint8Array {
  const blocks = [...bunzip2Blocks(data)];
  const out = new Uint8Array(blocks.reduce((n, b) => n + b.length, 0));
  let offset = 0;
  for (const b of blocks) {
    out.set(b, offset);
    offset += b.length;
  }
  return out;
}
