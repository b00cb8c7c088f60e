/**
 * Writes a Hugging Face model folder as the pruning tool's output, streaming: the caller hands
 * over tensors one at a time in a declared order, so the whole model is never in memory.
 *
 *   create(outDir, {tensors}) ─▶ write(name, bytes) × N ─▶ writeJson / copyFile ─▶ commit()
 *
 * Everything goes to a staging folder that `commit()` renames into place; any failure aborts,
 * leaving the previous output (or none). The same inputs give byte-identical files.
 */

import { type Stats, promises as fs } from 'node:fs';
import path from 'node:path';
import { FileError } from '../errors.js';
import { SafetensorsWriter, type TensorEntry } from '../io/safetensors.js';
import { stableJson } from './json.js';
import { INDEX_FILE, SINGLE_FILE, type Shard, planShards, shardIndex, tensorBytes } from './shards.js';
import { StagedFolder } from './staged-folder.js';
import { interruptionPoint } from '../interrupt.js';
import { WriteBudget, describeSystemError, errnoCode } from './write-failures.js';

export interface CheckpointWriterOptions {
  /** Every tensor of the checkpoint, in the order `write` will be called. */
  tensors: readonly TensorEntry[];
  /** Split into shards of at most this many bytes of tensor data (one tensor may exceed it); default: one file. */
  maxShardBytes?: number;
  /** Extra safetensors `__metadata__`; `format: "pt"` is added, as transformers requires it. */
  metadata?: Record<string, string>;
  /** Replace an existing non-empty output folder. */
  force?: boolean;
  /** The input model folder, which the output must not be, contain, or be inside. */
  inputDir?: string;
}

// Also reachable from here, next to the writer it feeds (a type-only import back: no cycle at run time).
export { copyTokenizerFiles } from './tokenizer-files.js';

const SHARD_FILE_PATTERN = /^model-\d{5}-of-\d{5}\.safetensors$/;

type State = 'open' | 'committed' | 'aborted';

export class CheckpointWriter {
  private state: State = 'open';
  /** The call in progress: calls must be awaited one by one, and abort() waits for it. */
  private inFlight: Promise<void> | undefined;
  private shardNumber = 0;
  private writtenInShard = 0;
  private shardWriter: SafetensorsWriter | undefined;
  private readonly sideFiles = new Set<string>();

  private constructor(
    private readonly folder: StagedFolder,
    private readonly shards: readonly Shard[],
    private readonly metadata: Record<string, string>,
    /** Only present when the fault-injection test hook is set. */
    private readonly budget: WriteBudget | undefined,
  ) {}

  static async create(outDir: string, options: CheckpointWriterOptions): Promise<CheckpointWriter> {
    checkUniqueNames(outDir, options.tensors);
    const shards = planShards(options.tensors, options.maxShardBytes);
    const metadata = { format: 'pt', ...options.metadata };
    const budget = WriteBudget.fromEnvironment();
    const folder = await StagedFolder.create(outDir, { force: options.force, inputDir: options.inputDir });
    return new CheckpointWriter(folder, shards, metadata, budget);
  }

  get outDir(): string {
    return this.folder.outDir;
  }

  /** The safetensors file names, in write order (one, or the shards). */
  get weightFiles(): string[] {
    return this.shards.map((shard) => shard.fileName);
  }

  /** Writes the next tensor's bytes (little-endian, in its declared dtype and shape). */
  async write(name: string, bytes: Uint8Array): Promise<void> {
    await this.run(`write("${name}")`, async () => {
      const shard = this.shards[this.shardNumber];
      const expected = shard?.tensors[this.writtenInShard];
      if (!expected) throw new Error(`${this.outDir}: write("${name}") but every declared tensor is written`);
      if (expected.name !== name) throw new Error(`${this.outDir}: write("${name}") out of order, expected "${expected.name}"`);
      if (bytes.byteLength !== tensorBytes(expected)) {
        throw new Error(`${this.outDir}: tensor "${name}" got ${bytes.byteLength} bytes, its ${expected.dtype} shape [${expected.shape.join(', ')}] needs ${tensorBytes(expected)}`);
      }
      await interruptionPoint(`write ${name}`);
      const writer = (this.shardWriter ??= await this.openShard(shard));
      this.budget?.charge(bytes.byteLength);
      await writer.write(name, bytes);
      if (++this.writtenInShard === shard.tensors.length) await this.closeShard();
    });
  }

  /** Writes `fileName` (e.g. config.json, amp_prune.json) as stable, key-sorted JSON (see stableJson). */
  async writeJson(fileName: string, value: unknown): Promise<void> {
    await this.run(`writeJson("${fileName}")`, async () => {
      this.claimSideFile(fileName);
      await this.writeSideFile(fileName, Buffer.from(stableJson(value), 'utf8'));
    });
  }

  /** Copies `srcPath` (e.g. a tokenizer file of the input model) into the output as `fileName`. */
  async copyFile(srcPath: string, fileName: string): Promise<void> {
    await this.run(`copyFile("${fileName}")`, async () => {
      this.claimSideFile(fileName);
      const size = await sourceFileSize(srcPath);
      this.budget?.charge(size);
      const destination = path.join(this.folder.stagingDir, fileName);
      await fs.copyFile(srcPath, destination, fs.constants.COPYFILE_EXCL);
      await syncFile(destination);
    });
  }

  /** Checks every tensor was written, writes the shard index if sharded, and moves the folder into place. */
  async commit(): Promise<void> {
    await this.run('commit()', async () => {
      // A checkpoint without tensors still has its (empty) model.safetensors.
      if (this.shards[this.shardNumber]?.tensors.length === 0) {
        this.shardWriter = await this.openShard(this.shards[this.shardNumber]);
        await this.closeShard();
      }
      if (this.shardNumber < this.shards.length) {
        const missing = this.shards[this.shardNumber].tensors[this.writtenInShard].name;
        throw new Error(`${this.outDir}: commit() before every tensor was written (next expected: "${missing}")`);
      }
      if (this.shards.length > 1) await this.writeSideFile(INDEX_FILE, Buffer.from(stableJson(shardIndex(this.shards)), 'utf8'));
      await this.folder.commit();
      this.state = 'committed';
    });
  }

  /** Deletes everything written so far; safe to call twice, after an error, or after commit (no-op). */
  async abort(): Promise<void> {
    if (this.state !== 'open') return;
    this.state = 'aborted';
    // Deleting the staging folder under a running call would let it recreate files there.
    await this.inFlight?.catch(() => undefined);
    const writer = this.shardWriter;
    this.shardWriter = undefined;
    await writer?.abort();
    await this.folder.discard();
  }

  /** Runs one call; on any failure aborts, so that nothing half-written is left behind. */
  private async run(call: string, action: () => Promise<void>): Promise<void> {
    if (this.state !== 'open') throw new Error(`${this.outDir}: ${call} after ${this.state === 'committed' ? 'commit()' : 'abort()'}`);
    if (this.inFlight) {
      const overlap = new Error(`${this.outDir}: ${call} while another call is in progress (await each call)`);
      await this.abort();
      throw overlap;
    }
    this.inFlight = action();
    try {
      await this.inFlight;
    } catch (error) {
      await this.abort().catch(() => undefined); // the first error is the one to report
      throw this.asWriteFailure(error);
    } finally {
      this.inFlight = undefined;
    }
  }

  /**
   * File-system errors become the one-line "write failed" message; a FileError about some other
   * file (a missing source) and programming errors pass through unchanged.
   */
  private asWriteFailure(error: unknown): unknown {
    const nothingWritten = (reason: string): FileError => new FileError(this.outDir, `write failed: ${reason} (nothing was written)`);
    if (errnoCode(error)) return nothingWritten(describeSystemError(error));
    // SafetensorsWriter.create reports a failed open as a FileError about the staged file.
    if (error instanceof FileError && error.file.startsWith(this.folder.stagingDir + path.sep)) return nothingWritten(error.problem);
    return error;
  }

  private openShard(shard: Shard): Promise<SafetensorsWriter> {
    return SafetensorsWriter.create(path.join(this.folder.stagingDir, shard.fileName), shard.tensors, this.metadata);
  }

  private async closeShard(): Promise<void> {
    const writer = this.shardWriter;
    this.shardWriter = undefined;
    await writer?.close();
    this.shardNumber += 1;
    this.writtenInShard = 0;
  }

  private claimSideFile(fileName: string): void {
    if (fileName !== path.basename(fileName) || fileName === '.' || fileName === '..' || fileName === '') {
      throw new Error(`${this.outDir}: "${fileName}" is not a plain file name`);
    }
    if (fileName === SINGLE_FILE || fileName === INDEX_FILE || SHARD_FILE_PATTERN.test(fileName)) {
      throw new Error(`${this.outDir}: "${fileName}" is a weight file name, written by the writer itself`);
    }
    if (this.sideFiles.has(fileName)) throw new Error(`${this.outDir}: "${fileName}" is written twice`);
    this.sideFiles.add(fileName);
  }

  private async writeSideFile(fileName: string, bytes: Uint8Array): Promise<void> {
    this.budget?.charge(bytes.byteLength);
    const handle = await fs.open(path.join(this.folder.stagingDir, fileName), 'wx');
    try {
      await handle.writeFile(bytes);
      await handle.sync();
    } finally {
      await handle.close();
    }
  }
}

function checkUniqueNames(outDir: string, tensors: readonly TensorEntry[]): void {
  const seen = new Set<string>();
  for (const { name } of tensors) {
    if (seen.has(name)) throw new Error(`${outDir}: tensor "${name}" is declared twice`);
    seen.add(name);
  }
}

async function sourceFileSize(srcPath: string): Promise<number> {
  let stat: Stats;
  try {
    stat = await fs.stat(srcPath);
  } catch (error) {
    throw new FileError(srcPath, errnoCode(error) === 'ENOENT' ? 'not found' : `cannot read: ${describeSystemError(error)}`);
  }
  if (!stat.isFile()) throw new FileError(srcPath, 'not a regular file');
  return stat.size;
}

/** Flushes a copied file, so that the folder rename at commit never exposes an unwritten file. */
async function syncFile(file: string): Promise<void> {
  const handle = await fs.open(file, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
