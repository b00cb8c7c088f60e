/**
 * Reads a GGUF file (versions 2 and 3): header, metadata, tensor infos; tensor data is read lazily,
 * one tensor at a time, by byte range. Layout (gguf.md in ggml):
 *
 *   "GGUF" u32 version | u64 tensor_count | u64 kv_count | kv × kv_count
 *   | tensor info × tensor_count (name, u32 n_dims, u64 dims[n_dims], u32 type, u64 offset)
 *   | padding to general.alignment (default 32) | tensor data (offsets relative to here)
 *
 * Every tensor's byte range is checked against the file size at open, so a truncated download
 * fails before anything is converted.
 */
import { type FileHandle, open } from 'node:fs/promises';
import { FileError } from '../../errors.js';
import { ByteCursor, NeedMoreBytes } from './byte-cursor.js';
import { type GgmlType, ggmlType, tensorByteLength } from './ggml-types.js';
import { GgufMetadata, readMetadata } from './metadata.js';

export interface GgufTensorInfo {
  readonly name: string;
  /** GGUF order: dims[0] is the row length, the contiguous (and block-quantized) axis. */
  readonly dims: readonly number[];
  /** numpy / PyTorch order, i.e. dims reversed: [rows, ..., row length]. */
  readonly shape: readonly number[];
  readonly type: GgmlType;
  readonly elements: number;
  /** Absolute byte offset of the data in the file. */
  readonly offset: number;
  readonly byteLength: number;
}

const MAGIC = 0x46554747; // "GGUF" read as a little-endian u32
const SUPPORTED_VERSIONS = [2, 3];
const DEFAULT_ALIGNMENT = 32;
const MAX_DIMS = 8;
const FIRST_READ_BYTES = 1 << 20;

interface ParsedHeader {
  version: number;
  metadata: GgufMetadata;
  tensors: GgufTensorInfo[];
  alignment: number;
  dataOffset: number;
}

export class GgufFile {
  private closed = false;
  private readonly byName: ReadonlyMap<string, GgufTensorInfo>;

  private constructor(
    readonly path: string,
    readonly fileSize: number,
    readonly version: number,
    readonly metadata: GgufMetadata,
    readonly tensors: readonly GgufTensorInfo[],
    readonly alignment: number,
    /** Absolute offset of the tensor data section. */
    readonly dataOffset: number,
    private readonly handle: FileHandle,
  ) {
    this.byName = new Map(tensors.map((t) => [t.name, t]));
  }

  static async open(path: string): Promise<GgufFile> {
    let handle: FileHandle;
    try {
      handle = await open(path, 'r');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      throw new FileError(path, code === 'ENOENT' ? 'not found' : `cannot be opened (${code ?? String(error)})`);
    }
    try {
      const stat = await handle.stat();
      if (!stat.isFile()) throw new FileError(path, 'not a regular file');
      const header = await readHeader(handle, stat.size, path);
      return new GgufFile(path, stat.size, header.version, header.metadata, header.tensors, header.alignment, header.dataOffset, handle);
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  tensor(name: string): GgufTensorInfo | undefined {
    return this.byName.get(name);
  }

  /** The tensor's raw bytes, in a fresh buffer at offset 0 (so any typed view is aligned). */
  async readBytes(info: GgufTensorInfo): Promise<Uint8Array> {
    if (this.closed) throw new Error(`${this.path}: read after close()`);
    const bytes = new Uint8Array(info.byteLength);
    await readFully(this.handle, bytes, info.offset, this.path);
    return bytes;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.handle.close();
  }
}

async function readFully(handle: FileHandle, into: Uint8Array, position: number, path: string): Promise<void> {
  let done = 0;
  while (done < into.byteLength) {
    const { bytesRead } = await handle.read(into, done, into.byteLength - done, position + done);
    if (bytesRead === 0) throw new FileError(path, `truncated: unexpected end of file at byte ${position + done}`);
    done += bytesRead;
  }
}

/** Loads a growing prefix of the file until the whole header parses. */
async function readHeader(handle: FileHandle, fileSize: number, path: string): Promise<ParsedHeader> {
  let length = Math.min(fileSize, FIRST_READ_BYTES);
  for (;;) {
    const prefix = new Uint8Array(length);
    await readFully(handle, prefix, 0, path);
    try {
      return parseHeader(new ByteCursor(prefix, fileSize, path));
    } catch (error) {
      if (!(error instanceof NeedMoreBytes)) throw error;
      length = Math.min(fileSize, Math.max(2 * length, error.atLeast + FIRST_READ_BYTES));
    }
  }
}

function parseHeader(cursor: ByteCursor): ParsedHeader {
  const file = cursor.file;
  if (cursor.fileSize < 8) throw new FileError(file, `not a GGUF file (only ${cursor.fileSize} bytes)`);
  const magic = cursor.u32('magic');
  if (magic !== MAGIC) {
    const bytes = [0, 8, 16, 24].map((shift) => ((magic >>> shift) & 0xff).toString(16).padStart(2, '0')).join(' ');
    throw new FileError(file, `not a GGUF file (starts with bytes ${bytes}, expected "GGUF")`);
  }
  const version = checkVersion(cursor.u32('version'), file);
  const tensorCount = cursor.size('tensor count');
  const kvCount = cursor.size('metadata count');
  const metadata = new GgufMetadata(readMetadata(cursor, kvCount), file);
  const alignment = metadata.integer('general.alignment') ?? DEFAULT_ALIGNMENT;
  if (alignment <= 0 || (alignment & (alignment - 1)) !== 0) throw new FileError(file, `general.alignment ${alignment} is not a power of two`);

  cursor.checkFits(tensorCount, 24, 'tensor infos');
  const raw = [];
  for (let i = 0; i < tensorCount; i++) raw.push(readTensorInfo(cursor, alignment));
  const dataOffset = Math.ceil(cursor.offset / alignment) * alignment;

  const tensors: GgufTensorInfo[] = [];
  const seen = new Set<string>();
  for (const info of raw) {
    if (seen.has(info.name)) throw new FileError(file, `tensor ${info.name} appears twice`);
    seen.add(info.name);
    const offset = dataOffset + info.relativeOffset;
    if (offset + info.byteLength > cursor.fileSize) {
      throw new FileError(file, `truncated: tensor ${info.name} (bytes ${offset}..${offset + info.byteLength}) extends beyond the end of the file (${cursor.fileSize} bytes)`);
    }
    const { relativeOffset: _, ...rest } = info;
    tensors.push({ ...rest, offset });
  }
  return { version, metadata, tensors, alignment, dataOffset };
}

function checkVersion(version: number, file: string): number {
  if (SUPPORTED_VERSIONS.includes(version)) return version;
  const swapped = (((version & 0xff) << 24) | ((version & 0xff00) << 8) | ((version >>> 8) & 0xff00) | (version >>> 24)) >>> 0;
  if (SUPPORTED_VERSIONS.includes(swapped)) throw new FileError(file, `big-endian GGUF (version ${swapped}) is not supported`);
  throw new FileError(file, `GGUF version ${version} is not supported (versions ${SUPPORTED_VERSIONS.join(' and ')} are)`);
}

type RawTensorInfo = Omit<GgufTensorInfo, 'offset'> & { relativeOffset: number };

function readTensorInfo(cursor: ByteCursor, alignment: number): RawTensorInfo {
  const file = cursor.file;
  const name = cursor.string('tensor name');
  const nDims = cursor.u32(`tensor ${name} dimension count`);
  if (nDims === 0 || nDims > MAX_DIMS) throw new FileError(file, `tensor ${name} has ${nDims} dimensions`);
  const dims: number[] = [];
  for (let d = 0; d < nDims; d++) dims.push(cursor.size(`tensor ${name} dimension ${d}`));
  const typeId = cursor.u32(`tensor ${name} type`);
  const type = ggmlType(typeId);
  if (!type) throw new FileError(file, `tensor ${name} has unknown ggml type ${typeId}`);
  const relativeOffset = cursor.size(`tensor ${name} offset`);
  if (relativeOffset % alignment !== 0) throw new FileError(file, `tensor ${name} offset ${relativeOffset} is not a multiple of the alignment ${alignment}`);
  const elements = dims.reduce((product, d) => product * d, 1);
  if (!Number.isSafeInteger(elements)) throw new FileError(file, `tensor ${name} has an impossible shape [${dims.join(', ')}]`);
  const byteLength = tensorByteLength(type, dims[0], elements);
  if (byteLength === undefined) {
    throw new FileError(file, `tensor ${name} rows of ${dims[0]} elements are not whole ${type.name} blocks of ${type.blockSize}`);
  }
  return { name, dims, shape: [...dims].reverse(), type, elements, relativeOffset, byteLength };
}
