/**
 * A model folder's tensors: `model.safetensors`, or shards listed by
 * `model.safetensors.index.json`, read lazily by name through SafetensorsFile.
 */

import { promises as fs } from 'node:fs';
import path from 'node:path';
import { FileError } from '../errors.js';
import type { Dtype } from './dtype.js';
import { statModelDir } from './checkpoint.js';
import { checkFiniteTensor, elementPosition, firstNonFiniteValue } from './finite.js';
import { type TensorInfo, type TensorSource, SafetensorsFile, elementCount } from './safetensors.js';

const SINGLE_FILE = 'model.safetensors';
const INDEX_FILE = 'model.safetensors.index.json';

/** The tensors of a model folder, single-file or sharded, read lazily by name. */
export class TensorStore implements TensorSource {
  private constructor(
    readonly modelDir: string,
    /** Tensor name -> the file holding it, in index (or file) order. */
    private readonly fileOf: Map<string, SafetensorsFile>,
    private readonly files: SafetensorsFile[],
  ) {}

  /**
   * Opens every shard's header up front (small reads) so that a missing or inconsistent shard
   * fails now; shard data handles open on first read.
   */
  static async open(modelDir: string): Promise<TensorStore> {
    await statModelDir(modelDir);
    const singlePath = path.join(modelDir, SINGLE_FILE);
    if (await isFile(singlePath)) {
      const file = await SafetensorsFile.openLazily(singlePath);
      return new TensorStore(modelDir, new Map(file.names().map((n) => [n, file])), [file]);
    }
    const indexPath = path.join(modelDir, INDEX_FILE);
    if (!(await isFile(indexPath))) {
      throw new FileError(modelDir, `no ${SINGLE_FILE} or ${INDEX_FILE}`);
    }
    return TensorStore.openSharded(modelDir, indexPath);
  }

  private static async openSharded(modelDir: string, indexPath: string): Promise<TensorStore> {
    const weightMap = await readWeightMap(indexPath);
    const realModelDir = await fs.realpath(modelDir);
    const shardByRelPath = new Map<string, SafetensorsFile>();
    const fileOf = new Map<string, SafetensorsFile>();
    try {
      for (const [tensor, shardRelPath] of Object.entries(weightMap)) {
        let shard = shardByRelPath.get(shardRelPath);
        if (!shard) {
          const shardPath = await resolveShard(modelDir, realModelDir, indexPath, shardRelPath, tensor);
          shard = await SafetensorsFile.openLazily(shardPath);
          shardByRelPath.set(shardRelPath, shard);
        }
        if (!shard.has(tensor)) {
          throw new FileError(indexPath, `tensor "${tensor}" is listed in shard "${shardRelPath}" but that file has no such tensor`);
        }
        fileOf.set(tensor, shard);
      }
    } catch (error) {
      await Promise.all([...shardByRelPath.values()].map((s) => s.close()));
      throw error;
    }
    return new TensorStore(modelDir, fileOf, [...shardByRelPath.values()]);
  }

  names(): string[] {
    return [...this.fileOf.keys()];
  }

  has(name: string): boolean {
    return this.fileOf.has(name);
  }

  info(name: string): TensorInfo {
    return this.shardOf(name).info(name);
  }

  /** A model's weights are refused on read if any is NaN or Inf (see finite.ts): never a silently garbage model. */
  async readRaw(name: string): Promise<Uint8Array> {
    const bytes = await this.shardOf(name).readRaw(name);
    const info = this.info(name);
    checkFiniteTensor(info.file, name, info.dtype, info.shape, bytes);
    return bytes;
  }

  async readFloat32(name: string): Promise<Float32Array> {
    const values = await this.shardOf(name).readFloat32(name);
    const bad = firstNonFiniteValue(values);
    if (bad) {
      const info = this.info(name);
      throw new FileError(info.file, `tensor "${name}" holds ${bad.kind} at ${elementPosition(bad.index, info.shape)} (weights must be finite numbers)`);
    }
    return values;
  }

  /** Number of tensors per dtype, e.g. `{ BF16: 290, F32: 1 }`. */
  dtypes(): Partial<Record<Dtype, number>> {
    const counts: Partial<Record<Dtype, number>> = {};
    for (const name of this.names()) {
      const { dtype } = this.info(name);
      counts[dtype] = (counts[dtype] ?? 0) + 1;
    }
    return counts;
  }

  /** Total number of elements (parameters) over all tensors. */
  elementCount(): number {
    return this.names().reduce((sum, name) => sum + elementCount(this.info(name).shape), 0);
  }

  async close(): Promise<void> {
    await Promise.all(this.files.map((file) => file.close()));
  }

  private shardOf(name: string): SafetensorsFile {
    const file = this.fileOf.get(name);
    if (!file) throw new FileError(this.modelDir, `no tensor named "${name}"`);
    return file;
  }
}

async function readWeightMap(indexPath: string): Promise<Record<string, string>> {
  let index: unknown;
  try {
    index = JSON.parse(await fs.readFile(indexPath, 'utf8'));
  } catch (error) {
    throw new FileError(indexPath, `not valid JSON (${(error as Error).message})`);
  }
  const weightMap = isPlainObject(index) ? index.weight_map : undefined;
  if (!isPlainObject(weightMap)) throw new FileError(indexPath, 'no "weight_map" object');
  for (const [tensor, shard] of Object.entries(weightMap)) {
    if (typeof shard !== 'string' || shard === '') {
      throw new FileError(indexPath, `weight_map entry for tensor "${tensor}" is not a file name`);
    }
  }
  return weightMap as Record<string, string>;
}

/** The shard's path, refusing any that leads outside the model folder (absolute, `..`, symlink). */
async function resolveShard(
  modelDir: string,
  realModelDir: string,
  indexPath: string,
  shardRelPath: string,
  tensor: string,
): Promise<string> {
  const outside = (): FileError =>
    new FileError(indexPath, `shard "${shardRelPath}" (for tensor "${tensor}") is outside the model folder`);
  if (path.isAbsolute(shardRelPath) || isOutside(path.resolve(modelDir), path.resolve(modelDir, shardRelPath))) {
    throw outside();
  }
  const shardPath = path.join(modelDir, shardRelPath);
  let realShardPath: string;
  try {
    realShardPath = await fs.realpath(shardPath);
  } catch {
    throw new FileError(indexPath, `shard file ${shardPath} (for tensor "${tensor}") not found`);
  }
  if (isOutside(realModelDir, realShardPath)) throw outside();
  return shardPath;
}

function isOutside(dir: string, target: string): boolean {
  const relative = path.relative(dir, target);
  return relative === '' || relative.startsWith('..') || path.isAbsolute(relative);
}

async function isFile(file: string): Promise<boolean> {
  try {
    return (await fs.stat(file)).isFile();
  } catch {
    return false;
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
