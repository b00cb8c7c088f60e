/**
 * Safetensors: a lazy reader that loads one tensor at a time by byte range, and a streaming
 * writer. The model-folder view over single-file and sharded checkpoints is in tensor-store.ts.
 *
 * Format: an 8-byte little-endian header length N, N bytes of JSON
 * (`{"__metadata__": {..}, "<name>": {"dtype", "shape", "data_offsets": [begin, end]}, ..}`),
 * then the data section; offsets are relative to the data section's start. Validation follows
 * the official Rust implementation: tensors must tile the data section exactly (no overlaps,
 * no holes, nothing after the last tensor), so a corrupt file fails at open, not mid-run.
 */

import { promises as fs } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { FileError } from '../errors.js';
import { type Dtype, type FloatDtype, ELEMENT_SIZE, isDtype, isFloatDtype, toFloat32 } from './dtype.js';

/** Frozen: one object per tensor is shared by every caller of `info()`. */
export interface TensorInfo {
  readonly name: string;
  readonly dtype: Dtype;
  readonly shape: readonly number[];
  readonly byteLength: number;
  /** The file that holds the tensor's data. */
  readonly file: string;
  /** Absolute byte offset of the data in `file`. */
  readonly offset: number;
}

/** Read access shared by a single file and a (possibly sharded) model folder. */
export interface TensorSource {
  names(): string[];
  has(name: string): boolean;
  info(name: string): TensorInfo;
  readRaw(name: string): Promise<Uint8Array>;
  readFloat32(name: string): Promise<Float32Array>;
  close(): Promise<void>;
}

/** Mirrors the official implementation's cap, so a garbage length cannot make us allocate GBs. */
const MAX_HEADER_BYTES = 100_000_000;

/** fs reads are limited to 2 GiB per call; large tensors are read in chunks. */
const MAX_READ_CHUNK = 1 << 30;

export function elementCount(shape: readonly number[]): number {
  return shape.reduce((product, dim) => product * dim, 1);
}

interface ParsedHeader {
  /** Tensors in data order. */
  tensors: readonly TensorInfo[];
  metadata: Record<string, string>;
}

/** One safetensors file; the handle is opened on first read when constructed from a header. */
export class SafetensorsFile implements TensorSource {
  private readonly byName: Map<string, TensorInfo>;
  private handlePromise: Promise<FileHandle> | undefined;
  private closed = false;

  private constructor(
    readonly path: string,
    private readonly header: ParsedHeader,
    handle: FileHandle | undefined,
  ) {
    this.byName = new Map(header.tensors.map((t) => [t.name, t]));
    this.handlePromise = handle && Promise.resolve(handle);
  }

  /** Opens the file and validates its header; tensor data is read only on request. */
  static async open(file: string): Promise<SafetensorsFile> {
    const handle = await openForReading(file);
    try {
      return new SafetensorsFile(file, await readHeader(file, handle), handle);
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  /** Validates the header and closes the file again; the handle reopens on the first read. */
  static async openLazily(file: string): Promise<SafetensorsFile> {
    const handle = await openForReading(file);
    try {
      return new SafetensorsFile(file, await readHeader(file, handle), undefined);
    } finally {
      await handle.close();
    }
  }

  get metadata(): Record<string, string> {
    return this.header.metadata;
  }

  /** Tensor names in the order their data appears in the file. */
  names(): string[] {
    return this.header.tensors.map((t) => t.name);
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  info(name: string): TensorInfo {
    const info = this.byName.get(name);
    if (!info) throw new FileError(this.path, `no tensor named "${name}"`);
    return info;
  }

  async readRaw(name: string): Promise<Uint8Array> {
    const { offset, byteLength } = this.info(name);
    // Without this, a read after close() would silently reopen (and leak) a handle.
    if (this.closed) throw new Error(`${this.path}: readRaw("${name}") after close()`);
    // Unpooled and uninitialised (every byte is overwritten): the data starts at byte 0 of its
    // own memory, so F32 views need no copy. Returned as a plain Uint8Array, not a Buffer.
    const bytes = new Uint8Array(Buffer.allocUnsafeSlow(byteLength).buffer, 0, byteLength);
    const handle = await (this.handlePromise ??= openForReading(this.path));
    for (let done = 0; done < byteLength; ) {
      const length = Math.min(byteLength - done, MAX_READ_CHUNK);
      const { bytesRead } = await handle.read(bytes, done, length, offset + done);
      if (bytesRead === 0) {
        throw new FileError(this.path, `tensor "${name}": file ended at byte ${offset + done} (was it truncated after opening?)`);
      }
      done += bytesRead;
    }
    return bytes;
  }

  async readFloat32(name: string): Promise<Float32Array> {
    const dtype = floatDtypeOf(this.info(name));
    return toFloat32(await this.readRaw(name), dtype);
  }

  async close(): Promise<void> {
    const pending = this.handlePromise;
    this.handlePromise = undefined;
    this.closed = true;
    // A handle whose lazy open failed has nothing to close; that error was already reported.
    const handle = await pending?.catch(() => undefined);
    await handle?.close();
  }
}

function floatDtypeOf(info: TensorInfo): FloatDtype {
  if (!isFloatDtype(info.dtype)) {
    throw new FileError(info.file, `tensor "${info.name}" has dtype ${info.dtype}, not a float type (F32, F16 or BF16)`);
  }
  return info.dtype;
}

async function openForReading(file: string): Promise<FileHandle> {
  try {
    return await fs.open(file, 'r');
  } catch (error) {
    throw new FileError(file, describeFsError(error, 'cannot open'));
  }
}

function describeFsError(error: unknown, action: string): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'not found';
  if (code === 'EISDIR') return 'is a directory, not a file';
  return `${action}: ${(error as Error).message}`;
}

async function readHeader(file: string, handle: FileHandle): Promise<ParsedHeader> {
  const stat = await handle.stat();
  if (!stat.isFile()) throw new FileError(file, 'not a regular file');
  const fileSize = stat.size;
  if (fileSize < 8) {
    throw new FileError(file, `truncated: ${fileSize} bytes, too short for the 8-byte safetensors header length`);
  }
  const prefix = Buffer.alloc(8);
  await handle.read(prefix, 0, 8, 0);
  const headerLength = prefix.readBigUInt64LE(0);
  if (headerLength > BigInt(fileSize - 8)) {
    throw new FileError(file, `header length ${headerLength} is beyond the end of the file (${fileSize} bytes)`);
  }
  if (headerLength > BigInt(MAX_HEADER_BYTES)) {
    throw new FileError(file, `header length ${headerLength} exceeds the ${MAX_HEADER_BYTES}-byte limit`);
  }
  const headerBytes = Buffer.alloc(Number(headerLength));
  await handle.read(headerBytes, 0, headerBytes.length, 8);
  const dataStart = 8 + headerBytes.length;
  return parseHeader(file, headerBytes, dataStart, fileSize - dataStart);
}

function parseHeader(file: string, headerBytes: Uint8Array, dataStart: number, dataSize: number): ParsedHeader {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(headerBytes));
  } catch (error) {
    throw new FileError(file, `header is not valid JSON (${(error as Error).message})`);
  }
  if (!isPlainObject(json)) throw new FileError(file, 'header is not a JSON object');

  let metadata: Record<string, string> = {};
  const tensors: TensorInfo[] = [];
  for (const [name, entry] of Object.entries(json)) {
    if (name === '__metadata__') metadata = parseMetadata(file, entry);
    else tensors.push(parseTensorEntry(file, name, entry, dataStart));
  }
  checkTiling(file, tensors, dataStart, dataSize);
  return { tensors, metadata };
}

function parseMetadata(file: string, entry: unknown): Record<string, string> {
  if (!isPlainObject(entry)) throw new FileError(file, '__metadata__ is not a JSON object');
  for (const [key, value] of Object.entries(entry)) {
    if (typeof value !== 'string') throw new FileError(file, `__metadata__ "${key}" is not a string`);
  }
  return entry as Record<string, string>;
}

function parseTensorEntry(file: string, name: string, entry: unknown, dataStart: number): TensorInfo {
  const fail = (problem: string): never => {
    throw new FileError(file, `tensor "${name}": ${problem}`);
  };
  if (!isPlainObject(entry)) return fail('entry is not a JSON object');
  const { dtype, shape, data_offsets: offsets } = entry;
  if (typeof dtype !== 'string') return fail('dtype is missing or not a string');
  if (!isDtype(dtype)) return fail(`unknown dtype "${dtype}"`);
  if (!isNonNegativeIntegerArray(shape)) {
    return fail(`shape ${JSON.stringify(shape)} is not an array of non-negative integers`);
  }
  if (!isNonNegativeIntegerArray(offsets) || offsets.length !== 2 || offsets[0] > offsets[1]) {
    return fail(`data_offsets ${JSON.stringify(offsets)} is not [begin, end] with begin <= end`);
  }
  const byteLength = elementCount(shape) * ELEMENT_SIZE[dtype];
  if (byteLength !== offsets[1] - offsets[0]) {
    return fail(
      `data_offsets [${offsets[0]}, ${offsets[1]}] span ${offsets[1] - offsets[0]} bytes ` +
        `but shape [${shape.join(', ')}] of ${dtype} needs ${byteLength}`,
    );
  }
  return Object.freeze({ name, dtype, shape: Object.freeze(shape), byteLength, file, offset: dataStart + offsets[0] });
}

/** Sorts `tensors` into data order and checks that they cover the data section exactly. */
function checkTiling(file: string, tensors: TensorInfo[], dataStart: number, dataSize: number): void {
  tensors.sort((a, b) => a.offset - b.offset || a.byteLength - b.byteLength);
  let covered = 0; // relative to the data section
  let previous: TensorInfo | undefined;
  for (const tensor of tensors) {
    const begin = tensor.offset - dataStart;
    const end = begin + tensor.byteLength;
    if (end > dataSize) {
      throw new FileError(file, `tensor "${tensor.name}": data_offsets [${begin}, ${end}] are outside the data section (${dataSize} bytes)`);
    }
    if (begin < covered) {
      throw new FileError(file, `tensor "${tensor.name}": data overlaps tensor "${previous?.name}" (starts at ${begin}, before ${covered})`);
    }
    if (begin > covered) {
      throw new FileError(file, `tensor "${tensor.name}": data is not contiguous (${begin - covered}-byte hole before it, at ${covered})`);
    }
    covered = end;
    previous = tensor;
  }
  if (covered !== dataSize) {
    throw new FileError(file, `data is not contiguous: ${dataSize - covered} bytes after the last tensor (data section is ${dataSize} bytes, tensors cover ${covered})`);
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isNonNegativeIntegerArray(value: unknown): value is number[] {
  return Array.isArray(value) && value.every((n) => Number.isSafeInteger(n) && n >= 0);
}

// ---------------------------------------------------------------------------------------------
// Writing.

export interface TensorEntry {
  name: string;
  dtype: Dtype;
  shape: readonly number[];
}

export interface TensorWithData extends TensorEntry {
  data: Uint8Array;
}

/**
 * Streams a safetensors file: the header (all offsets) is written at creation, then each
 * tensor's bytes in the declared order, so a model is written one layer at a time.
 * Output is deterministic: `__metadata__` first (keys sorted), tensors in the given order,
 * compact JSON padded with spaces so the data section starts 8-byte aligned.
 */
export class SafetensorsWriter {
  private nextIndex = 0;
  private closed = false;

  private constructor(
    readonly path: string,
    private readonly entries: readonly TensorEntry[],
    /** Absolute file offset of each entry's data. */
    private readonly offsets: readonly number[],
    private readonly handle: FileHandle,
  ) {}

  static async create(file: string, entries: readonly TensorEntry[], metadata?: Record<string, string>): Promise<SafetensorsWriter> {
    const { header, dataOffsets } = buildHeader(file, entries, metadata);
    const prefix = Buffer.alloc(8);
    prefix.writeBigUInt64LE(BigInt(header.length));
    let handle: FileHandle;
    try {
      handle = await fs.open(file, 'w');
    } catch (error) {
      throw new FileError(file, describeFsError(error, 'cannot create'));
    }
    const writer = new SafetensorsWriter(file, entries, dataOffsets.map((o) => 8 + header.length + o), handle);
    await writer.guard(async () => {
      await writeFully(handle, prefix, 0);
      await writeFully(handle, header, 8);
    });
    return writer;
  }

  /** Writes the next tensor's bytes; tensors must come in the order given to `create`. */
  async write(name: string, bytes: Uint8Array): Promise<void> {
    if (this.closed) throw new Error(`${this.path}: write("${name}") after the writer was closed`);
    const index = this.nextIndex;
    const expected = this.entries[index];
    await this.guard(async () => {
      if (!expected) throw new Error(`${this.path}: write("${name}") but all ${this.entries.length} tensors are written`);
      if (expected.name !== name) throw new Error(`${this.path}: write("${name}") out of order, expected "${expected.name}"`);
      const byteLength = elementCount(expected.shape) * ELEMENT_SIZE[expected.dtype];
      if (bytes.byteLength !== byteLength) {
        throw new Error(`${this.path}: tensor "${name}" got ${bytes.byteLength} bytes, its ${expected.dtype} shape [${expected.shape.join(', ')}] needs ${byteLength}`);
      }
      this.nextIndex = index + 1; // before awaiting, so a concurrent call checks the next tensor
      await writeFully(this.handle, bytes, this.offsets[index]);
    });
  }

  /** Checks every tensor was written, then flushes to disk and closes. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.guard(async () => {
      if (this.nextIndex < this.entries.length) {
        const missing = this.entries.slice(this.nextIndex).map((e) => `"${e.name}"`);
        throw new Error(`${this.path}: closed after ${this.nextIndex} of ${this.entries.length} tensors; missing ${missing.slice(0, 3).join(', ')}${missing.length > 3 ? ', …' : ''}`);
      }
      await this.handle.sync();
    });
    this.closed = true;
    await this.handle.close();
  }

  /** Closes (if still open) and deletes the partial file. */
  async abort(): Promise<void> {
    await this.closeHandle();
    await fs.rm(this.path, { force: true });
  }

  /** Runs `action`; on failure closes the handle (the file stays for `abort()`) and rethrows. */
  private async guard(action: () => Promise<void>): Promise<void> {
    try {
      await action();
    } catch (error) {
      await this.closeHandle();
      throw error;
    }
  }

  private async closeHandle(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.handle.close().catch(() => undefined); // already failing: the first error matters
  }
}

/** Writes a whole file at once; deletes the partial file on failure. */
export async function writeSafetensors(file: string, tensors: readonly TensorWithData[], metadata?: Record<string, string>): Promise<void> {
  const writer = await SafetensorsWriter.create(file, tensors, metadata);
  try {
    for (const tensor of tensors) await writer.write(tensor.name, tensor.data);
    await writer.close();
  } catch (error) {
    await writer.abort();
    throw error;
  }
}

/** The padded header JSON bytes and each tensor's offset within the data section. */
function buildHeader(
  file: string,
  entries: readonly TensorEntry[],
  metadata: Record<string, string> | undefined,
): { header: Buffer; dataOffsets: number[] } {
  // Built by hand rather than with one JSON.stringify: JS objects put integer-like keys first,
  // which would reorder tensors named "0", "1", ...
  const parts: string[] = [];
  if (metadata) {
    const keys = Object.keys(metadata).sort();
    for (const key of keys) {
      if (typeof metadata[key] !== 'string') throw new Error(`${file}: metadata "${key}" is not a string`);
    }
    parts.push(`"__metadata__":{${keys.map((k) => `${JSON.stringify(k)}:${JSON.stringify(metadata[k])}`).join(',')}}`);
  }
  const seen = new Set<string>();
  const dataOffsets: number[] = [];
  let offset = 0;
  for (const { name, dtype, shape } of entries) {
    if (name === '' || name === '__metadata__' || seen.has(name)) {
      throw new Error(`${file}: tensor name ${JSON.stringify(name)} is empty, reserved or repeated`);
    }
    if (!isDtype(dtype)) throw new Error(`${file}: tensor "${name}" has unknown dtype "${String(dtype)}"`);
    if (!isNonNegativeIntegerArray(shape)) throw new Error(`${file}: tensor "${name}" has invalid shape ${JSON.stringify(shape)}`);
    seen.add(name);
    const end = offset + elementCount(shape) * ELEMENT_SIZE[dtype];
    parts.push(`${JSON.stringify(name)}:{"dtype":"${dtype}","shape":[${shape.join(',')}],"data_offsets":[${offset},${end}]}`);
    dataOffsets.push(offset);
    offset = end;
  }
  const json = Buffer.from(`{${parts.join(',')}}`, 'utf8');
  const padded = Buffer.alloc(Math.ceil(json.length / 8) * 8, 0x20);
  json.copy(padded);
  return { header: padded, dataOffsets };
}

async function writeFully(handle: FileHandle, bytes: Uint8Array, position: number): Promise<void> {
  for (let done = 0; done < bytes.byteLength; ) {
    const length = Math.min(bytes.byteLength - done, MAX_READ_CHUNK);
    const { bytesWritten } = await handle.write(bytes, done, length, position + done);
    done += bytesWritten;
  }
}
