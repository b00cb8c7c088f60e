/**
 * `prune ... --out OUT --export gguf,onnx [--export-dtype q8_0,fp16]`: besides the pruned folder
 * OUT, the file OUT.gguf and the folder OUT-onnx/, written by the same code as `amp-prune export`
 * (so they equal running prune, then export, byte for byte).
 *
 *   check flags, targets, and each format's refusals on the config prune will write ─▶ prune into
 *   a hidden staging folder ─▶ export from it into the same folder ─▶ move all outputs into place
 *
 * All or nothing: a refusal is one line before any pruning; a failure later leaves none of the
 * outputs (and, with --force, the previous ones where they were).
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { specFromConfig } from '../arch/registry.js';
import { FileError, UsageError } from '../errors.js';
import { GGUF_DTYPES, type GgufDtype, type GgufExportSummary, checkGgufExportable, checkGgufTarget, exportHfToGguf } from '../export/gguf/hf-to-gguf.js';
import { type OnnxExportSummary, checkOnnxExportable, exportHfToOnnx } from '../export/onnx/hf-to-onnx.js';
import { ONNX_DTYPES, type OnnxDtype } from '../export/onnx/weights.js';
import { StagedFolder } from '../export/staged-folder.js';
import { removeOnInterrupt } from '../interrupt.js';
import { tempSibling } from '../io/atomic.js';
import { readModelConfig } from '../io/checkpoint.js';
import { resolveModel } from '../models/resolve.js';
import { dryRun, prune, type PruneOutcome } from '../prune/prune.js';
import type { PruneProgress, PruneRequest } from '../prune/request.js';
import { terminalProgress } from './progress.js';

export interface PruneExports {
  gguf?: GgufDtype;
  onnx?: OnnxDtype;
}

export interface ExportedFiles {
  gguf?: GgufExportSummary;
  onnx?: OnnxExportSummary;
}

/** Where the exports of the pruned folder `out` go: OUT.gguf and OUT-onnx beside it. */
export function exportPaths(out: string): { gguf: string; onnx: string } {
  const base = path.join(path.dirname(out), path.basename(out));
  return { gguf: `${base}.gguf`, onnx: `${base}-onnx` };
}

/** --export and --export-dtype as formats with their dtypes; undefined without --export. */
export function parsePruneExports(formats: string | undefined, dtypes: string | undefined): PruneExports | undefined {
  if (formats === undefined) {
    if (dtypes !== undefined) throw new UsageError('--export-dtype needs --export (gguf, onnx or gguf,onnx)');
    return undefined;
  }
  const exports: PruneExports = {};
  const names = formats.split(',').map((f) => f.trim());
  for (const name of names) {
    if (name !== 'gguf' && name !== 'onnx') throw new UsageError(`--export ${formats}: '${name}' is not an export format (choose gguf, onnx or gguf,onnx)`);
    if (name in exports) throw new UsageError(`--export ${formats}: ${name} is listed twice`);
    if (name === 'gguf') exports.gguf = 'f32';
    else exports.onnx = 'fp32';
  }
  const given = new Set<string>();
  for (const dtype of dtypes === undefined ? [] : dtypes.split(',').map((d) => d.trim())) {
    // GGUF's and ONNX's dtype names are disjoint, so each names its format.
    const format = (GGUF_DTYPES as readonly string[]).includes(dtype) ? 'gguf' : (ONNX_DTYPES as readonly string[]).includes(dtype) ? 'onnx' : undefined;
    if (!format) throw new UsageError(`--export-dtype ${dtypes}: '${dtype}' is not an export type (gguf: ${GGUF_DTYPES.join(', ')}; onnx: ${ONNX_DTYPES.join(', ')})`);
    if (!(format in exports)) throw new UsageError(`--export-dtype ${dtypes}: ${dtype} is a dtype for ${format}, but --export ${formats} writes no ${format}`);
    if (given.has(format)) throw new UsageError(`--export-dtype ${dtypes}: two types for ${format}`);
    given.add(format);
    if (format === 'gguf') exports.gguf = dtype as GgufDtype;
    else exports.onnx = dtype as OnnxDtype;
  }
  return exports;
}

/**
 * Everything that can refuse before pruning: the output paths, and each format's checks on the
 * config.json prune will write (its widths from the plan, its tokenizer the input's).
 */
export async function checkPruneExports(exports: PruneExports, request: PruneRequest): Promise<void> {
  if (request.out === undefined) return; // prune itself asks for --out
  const paths = exportPaths(request.out);
  const modelDir = await resolveModel(request.model);
  // prune writes into a staging folder, so the checks it makes of --out are made here
  await (await StagedFolder.create(request.out, { force: request.force, inputDir: modelDir })).discard();
  if (exports.gguf) await checkGgufTarget(paths.gguf, request.force);
  if (exports.onnx) await (await StagedFolder.create(paths.onnx, { force: request.force, inputDir: modelDir })).discard();
  const configPath = path.join(modelDir, 'config.json');
  const spec = specFromConfig(await readModelConfig(modelDir), configPath);
  // pruning changes widths, not the rotary embedding ONNX export checks
  if (exports.onnx) checkOnnxExportable(spec, configPath);
  if (exports.gguf) {
    // Widths of any kind export (per-layer ones as llama.cpp's deci); what GGUF refuses (family,
    // rotary, tokenizer) pruning does not change, so a global allocation, whose widths only
    // scoring decides, is checked on the input's config.
    const config = request.allocation === 'global' ? await readModelConfig(modelDir) : spec.configFor((await dryRun({ ...request, dryRun: true })).summary.shapes);
    await checkGgufExportable(modelDir, config, "--export gguf (the pruned model's config.json)");
  }
}

/**
 * `prune(request)`, and with --export the exports too: the flags checked and each format's
 * refusals found before pruning, then pruneAndExport. `exported` is set when --export is given.
 */
export async function pruneWithExports(
  flags: { export?: string; exportDtype?: string },
  request: PruneRequest,
  progress: PruneProgress | undefined,
): Promise<PruneOutcome & { exported?: ExportedFiles }> {
  const exports = parsePruneExports(flags.export, flags.exportDtype);
  if (!exports) return prune(request, progress);
  await checkPruneExports(exports, request);
  if (request.dryRun || request.out === undefined) return { ...(await prune(request, progress)), exported: {} };
  const { outcome, exported } = await pruneAndExport(exports, { ...request, out: request.out }, (out) => prune({ ...request, out }, progress), {
    showProgress: progress !== undefined,
  });
  return { ...outcome, exported };
}

/**
 * Runs `prune` (given the folder to write) into a staging folder beside `request.out`, exports
 * from the pruned folder, then moves every output into place.
 */
export async function pruneAndExport(
  exports: PruneExports,
  request: PruneRequest & { out: string },
  runPrune: (out: string) => Promise<PruneOutcome>,
  options: { showProgress: boolean },
): Promise<{ outcome: PruneOutcome; exported: ExportedFiles }> {
  const finals = { model: request.out, ...exportPaths(request.out) };
  const stage = tempSibling(path.resolve(request.out));
  const forget = removeOnInterrupt(stage);
  try {
    await fs.mkdir(stage);
    const staged = { model: path.join(stage, 'model'), gguf: path.join(stage, 'model.gguf'), onnx: path.join(stage, 'model-onnx') };
    const outcome = await runPrune(staged.model);
    const exported: ExportedFiles = {};
    const bar = options.showProgress ? terminalProgress() : undefined;
    const progress = (name: string) => ({ start: (total: number) => bar?.phase(name, total), tensorDone: (tensor: string) => bar?.tick(tensor) });
    try {
      if (exports.gguf) exported.gguf = { ...(await exportHfToGguf(staged.model, staged.gguf, { dtype: exports.gguf, progress: progress('gguf') })), out: finals.gguf };
      if (exports.onnx) exported.onnx = { ...(await exportHfToOnnx(staged.model, staged.onnx, { dtype: exports.onnx, progress: progress('onnx') })), out: finals.onnx };
    } finally {
      bar?.done();
    }
    const moves: [string, string][] = [[staged.model, finals.model]];
    if (exports.gguf) moves.push([staged.gguf, finals.gguf]);
    if (exports.onnx) moves.push([staged.onnx, finals.onnx]);
    await moveAllIntoPlace(moves, request.force);
    return { outcome, exported };
  } finally {
    await fs.rm(stage, { recursive: true, force: true });
    forget();
  }
}

/**
 * Renames each staged path onto its target; an existing target (checked empty or absent before
 * pruning unless --force) is first set aside and deleted only once all are in place, and put back
 * if a later rename fails.
 */
async function moveAllIntoPlace(moves: readonly [string, string][], force: boolean): Promise<void> {
  const done: { from: string; to: string; aside?: string }[] = [];
  try {
    for (const [from, to] of moves) {
      const existing = await fs.stat(to).catch(() => undefined);
      let aside: string | undefined;
      if (existing?.isFile() || (existing?.isDirectory() && (force || (await fs.readdir(to)).length > 0))) {
        if (!force) throw new FileError(to, 'appeared while pruning (use --force to replace it)');
        aside = tempSibling(path.resolve(to));
        await fs.rename(to, aside);
      } else if (existing) {
        await fs.rmdir(to); // an empty folder, as prune accepts one
      }
      done.push({ from, to, aside });
      await fs.rename(from, to);
    }
  } catch (error) {
    for (const { from, to, aside } of done.reverse()) {
      await fs.rename(to, from).catch(() => undefined);
      if (aside) await fs.rename(aside, to).catch(() => undefined);
    }
    throw error;
  }
  for (const { aside } of done) if (aside) await fs.rm(aside, { recursive: true, force: true });
}
