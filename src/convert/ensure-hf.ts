/**
 * Lets every command take a GGUF file where it takes a model folder: a .gguf is converted once
 * into a cache folder and that folder is used from then on.
 *
 *   $XDG_CACHE_HOME (or ~/.cache)/amp-prune/gguf/<name>-<key>/   key = sha256(size, mtime, first MiB, converter version)
 *   (<gguf dir>/.amp-prune-cache/<name>-<key>/ only when the user cache cannot be written)
 *
 * The key changes when the file is replaced or touched, or when the converter's output changes,
 * so a stale conversion is never reused. Conversion is atomic: a folder that exists is complete.
 */
import { createHash } from 'node:crypto';
import { type Stats, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FileError } from '../errors.js';
import { type ConvertProgress, convertGgufToHf } from './gguf-to-hf.js';

/** Bump when converted folders change, so that caches made by older versions are not reused. */
export const CONVERTER_VERSION = 1;

const CACHE_FOLDER = '.amp-prune-cache';
const HEADER_BYTES = 1 << 20;
const GGUF_MAGIC = Buffer.from('GGUF', 'latin1');

async function readPrefix(file: string, length: number): Promise<Buffer> {
  const handle = await fs.open(file, 'r');
  try {
    const buffer = Buffer.alloc(length);
    const { bytesRead } = await handle.read(buffer, 0, length, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/** The cache key of a GGUF file: cheap (no full read), and different for any replaced file. */
function cacheKey(stat: Stats, header: Buffer): string {
  return createHash('sha256')
    .update(JSON.stringify({ size: stat.size, mtimeMs: stat.mtimeMs, converter: CONVERTER_VERSION }))
    .update(header)
    .digest('hex')
    .slice(0, 16);
}

async function isCompleteCheckpoint(dir: string): Promise<boolean> {
  return (await fs.stat(path.join(dir, 'config.json')).catch(() => undefined))?.isFile() ?? false;
}

/** Whether `root` exists (or can be made) and takes new folders. */
async function usableCacheRoot(root: string): Promise<boolean> {
  try {
    await fs.mkdir(root, { recursive: true });
    await fs.access(root, fs.constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

interface CacheLocation {
  roots: string[];
  folderName: string;
}

/** Where a GGUF file's conversion goes, or undefined when the file is not a GGUF. */
async function cacheLocation(pathOrGguf: string, cacheDir?: string): Promise<CacheLocation | undefined> {
  const stat = await fs.stat(pathOrGguf).catch(() => undefined);
  if (!stat?.isFile()) return undefined;
  const header = await readPrefix(pathOrGguf, HEADER_BYTES);
  const looksLikeGguf = pathOrGguf.toLowerCase().endsWith('.gguf') || header.subarray(0, 4).equals(GGUF_MAGIC);
  if (!looksLikeGguf) return undefined;
  // the user's cache first: nothing is written beside the input model unless the cache is unwritable
  const userCache = path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'amp-prune', 'gguf');
  const roots = cacheDir ? [cacheDir] : [userCache, path.join(path.dirname(pathOrGguf), CACHE_FOLDER)];
  return { roots, folderName: `${path.basename(pathOrGguf).replace(/\.gguf$/i, '')}-${cacheKey(stat, header)}` };
}

async function completeFolder(location: CacheLocation): Promise<string | undefined> {
  for (const root of location.roots) {
    const dir = path.join(root, location.folderName);
    if (await isCompleteCheckpoint(dir)) return dir;
  }
  return undefined;
}

/** The complete converted folder of this GGUF file version, if one is cached; converts nothing. */
export async function findConvertedCheckpoint(gguf: string, cacheDir?: string): Promise<string | undefined> {
  const location = await cacheLocation(gguf, cacheDir);
  return location && completeFolder(location);
}

/**
 * For a GGUF file (a .gguf name or the GGUF magic), the Hugging Face folder it converts to,
 * converting on first use; anything else (a model folder, a missing path) is returned unchanged
 * for the caller to open and report on as usual. The cache lives under ~/.cache/amp-prune/gguf,
 * or beside the file where that folder is read-only; `cacheDir` replaces both.
 */
export async function ensureHfCheckpoint(pathOrGguf: string, cacheDir?: string, progress?: ConvertProgress): Promise<string> {
  const location = await cacheLocation(pathOrGguf, cacheDir);
  if (!location) return pathOrGguf;
  const found = await completeFolder(location);
  if (found) return found;
  for (const root of location.roots) {
    if (!(await usableCacheRoot(root))) continue;
    const target = path.join(root, location.folderName);
    try {
      await convertGgufToHf(pathOrGguf, target, { progress });
    } catch (error) {
      // Another process may have converted the same file meanwhile: its complete folder will do.
      if (await isCompleteCheckpoint(target)) return target;
      throw error;
    }
    return target;
  }
  throw new FileError(location.roots[0], `cannot create a conversion cache folder here; convert explicitly with \`amp-prune convert ${pathOrGguf} --out DIR\``);
}
