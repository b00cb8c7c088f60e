/**
 * An output folder that appears whole or not at all: everything is written into a hidden sibling
 * (`.<name>.tmp-<pid>-<rand>`) and renamed into place by `commit()`. A failure at any point leaves
 * the previous folder (or none) and no temporary folder.
 */

import { randomBytes } from 'node:crypto';
import { type Stats, promises as fs } from 'node:fs';
import path from 'node:path';
import { FileError } from '../errors.js';
import { tempSibling } from '../io/atomic.js';
import { removeOnInterrupt, throwIfInterrupted } from '../interrupt.js';
import { describeSystemError, errnoCode } from './write-failures.js';

export interface StagedFolderOptions {
  /** Replace an existing non-empty folder. */
  force?: boolean;
  /** The model being pruned: the output may not be it, inside it, or around it. */
  inputDir?: string;
}

export class StagedFolder {
  private discarded = false;
  /** Deletes the staging folder if the process is stopped first (see src/interrupt.ts). */
  private readonly forgetOnInterrupt: () => void;

  private constructor(
    /** As the caller wrote it; error messages name this. */
    readonly outDir: string,
    private readonly target: string,
    /** Where files are written until commit. */
    readonly stagingDir: string,
    private readonly force: boolean,
  ) {
    this.forgetOnInterrupt = removeOnInterrupt(stagingDir);
  }

  /** Refuses an unsafe or occupied output (FileError naming `outDir`), then creates the staging folder. */
  static async create(outDir: string, options: StagedFolderOptions = {}): Promise<StagedFolder> {
    const target = path.resolve(outDir);
    const refuse = (problem: string): FileError => new FileError(outDir, problem);
    if (path.dirname(target) === target) throw refuse('is the root folder; choose a folder to create');
    if (options.inputDir !== undefined) await refuseOverlap(target, options.inputDir, refuse);
    await refuseOccupied(target, options.force ?? false, refuse);
    const stagingDir = tempSibling(target);
    try {
      await fs.mkdir(stagingDir);
    } catch (error) {
      throw refuse(describeParentProblem(path.dirname(target), error));
    }
    return new StagedFolder(outDir, target, stagingDir, options.force ?? false);
  }

  /**
   * Moves the staged folder into place. With `force`, an existing folder is first renamed aside
   * (restored if the move fails) and deleted only once the new one is in place.
   */
  async commit(): Promise<void> {
    if (this.discarded) throw new Error(`${this.outDir}: commit() after discard()`);
    await syncFolder(this.stagingDir);
    throwIfInterrupted(); // the last moment at which stopping leaves nothing
    const aside = this.force && (await exists(this.target)) ? siblingName(this.target, 'old') : undefined;
    if (aside) await fs.rename(this.target, aside);
    try {
      // Without force, rename(2) itself refuses a folder that became non-empty since create().
      await fs.rename(this.stagingDir, this.target);
    } catch (error) {
      if (aside) await restore(aside, this.target, this.outDir);
      throw error;
    }
    this.discarded = true; // nothing staged any more: discard() is now a no-op
    this.forgetOnInterrupt();
    await syncFolder(path.dirname(this.target));
    if (aside) {
      try {
        await fs.rm(aside, { recursive: true, force: true });
      } catch (error) {
        throw new FileError(this.outDir, `written, but the previous output moved to ${aside} could not be deleted: ${describeSystemError(error)}`);
      }
    }
  }

  /** Deletes the staging folder; safe to call twice and after commit. */
  async discard(): Promise<void> {
    if (this.discarded) return;
    this.discarded = true;
    await fs.rm(this.stagingDir, { recursive: true, force: true });
    this.forgetOnInterrupt();
  }
}

async function refuseOverlap(target: string, inputDir: string, refuse: (problem: string) => FileError): Promise<void> {
  // Real paths, so that a symlink or `..` cannot disguise the input folder.
  const realOut = await realPathAllowingMissing(target);
  const realInput = await realPathAllowingMissing(path.resolve(inputDir));
  if (realOut === realInput) throw refuse('is the input model folder; choose another output folder');
  if (isInside(realInput, realOut)) throw refuse(`is inside the input model folder ${inputDir}; choose a folder outside it`);
  if (isInside(realOut, realInput)) throw refuse(`contains the input model folder ${inputDir}; choose a folder outside it`);
}

async function refuseOccupied(target: string, force: boolean, refuse: (problem: string) => FileError): Promise<void> {
  let stat: Stats;
  try {
    stat = await fs.stat(target);
  } catch (error) {
    // Missing, or under a file: creating the staging folder next says what is wrong with the parent.
    if (errnoCode(error) === 'ENOENT' || errnoCode(error) === 'ENOTDIR') return;
    throw refuse(`cannot check the output folder: ${describeSystemError(error)}`);
  }
  if (!stat.isDirectory()) throw refuse('exists and is not a folder');
  if (!force && (await fs.readdir(target)).length > 0) throw refuse('exists and is not empty (use --force to replace it)');
}

function describeParentProblem(parent: string, error: unknown): string {
  switch (errnoCode(error)) {
    case 'ENOENT':
      return `parent folder ${parent} does not exist`;
    case 'ENOTDIR':
      return `parent ${parent} is not a folder`;
    case 'EACCES':
    case 'EPERM':
      return `cannot create a folder in ${parent}: permission denied`;
    default:
      return `cannot create a folder in ${parent}: ${describeSystemError(error)}`;
  }
}

/** realpath of the longest existing prefix, with the missing rest appended. */
async function realPathAllowingMissing(absolute: string): Promise<string> {
  const missing: string[] = [];
  let existing = absolute;
  for (;;) {
    try {
      return path.join(await fs.realpath(existing), ...missing);
    } catch (error) {
      const parent = path.dirname(existing);
      if (parent === existing || !['ENOENT', 'ENOTDIR'].includes(errnoCode(error) ?? '')) return absolute;
      missing.unshift(path.basename(existing));
      existing = parent;
    }
  }
}

function isInside(folder: string, candidate: string): boolean {
  const relative = path.relative(folder, candidate);
  return relative !== '' && relative !== '..' && !relative.startsWith(`..${path.sep}`) && !path.isAbsolute(relative);
}

function siblingName(target: string, kind: string): string {
  return path.join(path.dirname(target), `.${path.basename(target)}.${kind}-${process.pid}-${randomBytes(4).toString('hex')}`);
}

async function restore(aside: string, target: string, outDir: string): Promise<void> {
  try {
    await fs.rename(aside, target);
  } catch (error) {
    throw new FileError(outDir, `replacing failed and the previous output could not be moved back from ${aside}: ${describeSystemError(error)}`);
  }
}

async function exists(file: string): Promise<boolean> {
  try {
    await fs.lstat(file);
    return true;
  } catch {
    return false;
  }
}

/** fsync on a folder makes its renames and new entries durable, not just the files' contents. */
async function syncFolder(folder: string): Promise<void> {
  try {
    const handle = await fs.open(folder, 'r');
    await handle.sync().finally(() => handle.close());
  } catch {
    // Some file systems (or permissions) refuse this; durability is best effort, the data is written.
  }
}
