/** `amp-prune prune`: flags -> PruneRequest -> prune() -> summary table (or JSON). */
import type { LayerShape } from '../../arch/spec.js';
import { parseDevice } from '../../engine/session.js';
import { UsageError } from '../../errors.js';
import type { PruneOutcome } from '../../prune/prune.js';
import type { GqaMode } from '../../plan/types.js';
import type { SamplingMode } from '../../calib/types.js';
import { prepareModel } from '../model-arg.js';
import { type ExportedFiles, pruneWithExports } from '../prune-exports.js';
import type { GlobalOptions } from '../program.js';
import { terminalProgress } from '../progress.js';

export interface PruneFlags {
  model: string;
  out?: string;
  ratio?: number;
  layers?: number;
  method: string;
  allocation: string;
  gqa: string;
  align: number;
  skipLayers?: number[];
  calib?: string;
  calibSamples?: number;
  calibSeqLen?: number;
  calibMode?: string;
  seed: number;
  recover?: string;
  recoverDamp?: number;
  calibPropagate?: 'pruned' | 'dense';
  recoverWeighting?: 'tokens' | 'residual';
  scoreOn?: 'dense' | 'pruned';
  refitTarget?: 'layer' | 'model';
  dryRun?: boolean;
  force?: boolean;
  json?: boolean;
  /** Training data: fine-tune after pruning (the --finetune-* options hold the rest). */
  finetune?: string;
  /** Formats to write besides the folder, and their dtypes (see ../prune-exports.ts). */
  export?: string;
  exportDtype?: string;
}

function oneOf<T extends string>(flag: string, value: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(value)) throw new UsageError(`${flag} must be one of ${allowed.join(', ')} (got '${value}')`);
  return value as T;
}

export async function pruneCommand(flags: PruneFlags, global: GlobalOptions): Promise<void> {
  if (flags.finetune !== undefined) {
    // the exports would be of the pruned model, not the fine-tuned one that --out receives
    if (flags.export !== undefined || flags.exportDtype !== undefined) throw new UsageError('--finetune with --export: export the fine-tuned folder afterwards with `amp-prune export` (prune --export writes the pruned model, before fine-tuning)');
    const { pruneThenFinetune } = await import('./prune-finetune.js');
    await pruneThenFinetune(flags, global);
    return;
  }
  const outcome = await runPrune(flags, global);
  for (const w of outcome.warnings) console.error(`amp-prune: warning: ${w}`);
  if (flags.json) {
    console.log(JSON.stringify({ ...jsonSummary(flags, outcome), ...(outcome.exported ? { exported: outcome.exported } : {}) }, null, 2));
    return;
  }
  printSummary(flags, outcome);
  printExported(outcome.exported ?? {});
}

/** prune() on the flags (with --export, the exports too), with progress bars unless --json. */
export async function runPrune(flags: PruneFlags, global: GlobalOptions): Promise<PruneOutcome & { exported?: ExportedFiles }> {
  await prepareModel(flags.model); // fetch / convert with progress bars; prune() then finds the cached folder
  return pruneWithExports(
    flags,
    {
      model: flags.model,
      out: flags.out,
      ratio: flags.ratio,
      layers: flags.layers,
      method: flags.method,
      allocation: flags.allocation,
      gqa: oneOf<GqaMode>('--gqa', flags.gqa, ['group', 'query']),
      align: flags.align,
      skipLayers: flags.skipLayers ?? [],
      calib: flags.calib,
      calibSamples: flags.calibSamples,
      calibSeqLen: flags.calibSeqLen,
      calibMode: flags.calibMode === undefined ? undefined : oneOf<SamplingMode>('--calib-mode', flags.calibMode, ['prompts', 'windows']),
      seed: flags.seed,
      recover: flags.recover,
      recoverDamp: flags.recoverDamp,
      calibPropagate: flags.calibPropagate,
      recoverWeighting: flags.recoverWeighting,
      scoreOn: flags.scoreOn,
      refitTarget: flags.refitTarget,
      dryRun: flags.dryRun ?? false,
      force: flags.force ?? false,
      session: { device: parseDevice(global.device), threads: global.threads },
    },
    flags.json ? undefined : terminalProgress(),
  );
}

export function jsonSummary(flags: PruneFlags, o: PruneOutcome) {
  return {
    dryRun: flags.dryRun ?? false,
    out: flags.dryRun ? null : flags.out,
    method: flags.method,
    ratio: { asked: o.ratioAsked, achieved: o.summary.achievedRatio },
    parameters: { before: o.summary.before, after: o.summary.after },
    layers: o.summary.shapes.map((s) => ({ heads: s.heads, kvHeads: s.kvHeads, intermediate: s.intermediate })),
    loadableBy: o.loadableBy,
    recovery: o.recovery ?? null,
    keep: o.record?.layers,
  };
}

const fmt = (n: number) => n.toLocaleString('en-US');
const pct = (x: number) => `${(100 * x).toFixed(2)}%`;

function widthRuns(shapes: LayerShape[]): string[] {
  const lines: string[] = [];
  let start = 0;
  for (let i = 1; i <= shapes.length; i++) {
    const a = shapes[start];
    const b = shapes[i];
    if (b && a.heads === b.heads && a.kvHeads === b.kvHeads && a.intermediate === b.intermediate) continue;
    const range = start === i - 1 ? `layer ${start}` : `layers ${start}-${i - 1}`;
    lines.push(`  ${range.padEnd(14)} ${String(a.heads).padStart(4)} heads  ${String(a.kvHeads).padStart(4)} KV heads  ${String(a.intermediate).padStart(7)} neurons`);
    start = i;
  }
  return lines;
}

export function printSummary(flags: PruneFlags, o: PruneOutcome, heading?: string): void {
  const { before, after, achievedRatio, shapes } = o.summary;
  const rows: [string, number, number][] = [
    ['attention', before.attention, after.attention],
    ['MLP', before.mlp, after.mlp],
    ['embeddings', before.embeddings, after.embeddings],
    ['norms', before.norms, after.norms],
    ['lm_head', before.lmHead, after.lmHead],
    ['total', before.total, after.total],
  ];
  console.log(heading ?? (flags.dryRun ? 'Plan (dry run: nothing written)' : `Pruned model written to ${flags.out}`));
  console.log(`  method ${flags.method}, allocation ${flags.allocation}, ratio asked ${pct(o.ratioAsked)}, achieved ${pct(achievedRatio)}`);
  console.log(`\n  ${'parameters'.padEnd(12)} ${'before'.padStart(15)} ${'after'.padStart(15)}`);
  for (const [name, b, a] of rows) console.log(`  ${name.padEnd(12)} ${fmt(b).padStart(15)} ${fmt(a).padStart(15)}`);
  console.log('\n  kept per layer');
  for (const line of widthRuns(shapes)) console.log(line);
  if (o.recovery) {
    const e = (x: number) => x.toFixed(4);
    console.log(`\n  recovery ${o.recovery.method}: mean relative output error of o_proj/down_proj on held-out tokens ${e(o.recovery.before)} -> ${e(o.recovery.after)}`);
  }
  console.log(`\n  ${o.loadableBy}`);
}

function printExported({ gguf, onnx }: ExportedFiles): void {
  if (gguf) console.log(`  exported ${gguf.out} (GGUF ${gguf.dtype}, architecture ${gguf.architecture}, ${fmt(gguf.bytes)} bytes)`);
  for (const line of gguf?.advice ?? []) console.log(`  note: ${line}`);
  if (onnx) console.log(`  exported ${onnx.out} (ONNX ${onnx.dtype}, ${onnx.model}, ${fmt(onnx.bytes)} bytes)`);
}
