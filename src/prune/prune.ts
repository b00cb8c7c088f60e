/**
 * `prune` end to end: plan options -> (dry run: widths from the config) -> calibration ->
 * scoring pass over the dense model -> per-layer kept structures -> writing pass. Returns the
 * record that becomes amp_prune.json.
 */
import path from 'node:path';
import { specFromConfig } from '../arch/registry.js';
import type { ArchSpec } from '../arch/spec.js';
import { isUniform } from '../arch/common.js';
import { countParams } from '../arch/params.js';
import { buildCalibration, defaultSamples, defaultSamplingMode, loadCalibrationCorpus } from '../calib/index.js';
import type { CalibrationDescription } from '../calib/types.js';
import { openCheckpoint } from '../engine/checkpoint.js';
import type { Checkpoint } from '../engine/checkpoint.js';
import { VERSION } from '../engine/model.js';
import type { GramWeighting } from '../engine/layer.js';
import { UsageError } from '../errors.js';
import { resolveModel } from '../models/resolve.js';
import { StagedFolder } from '../export/staged-folder.js';
import type { PruneRecord } from '../export/amp-prune-record.js';
import { readModelConfig } from '../io/checkpoint.js';
import { loadTokenizer } from '../io/tokenizer.js';
import { readAllocationFile } from '../plan/allocation-file.js';
import { layerPlanner, planLayers, targetShapes } from '../plan/plan.js';
import { ratioForLayers } from '../plan/ratio.js';
import { planSummary, shapesSummary } from '../plan/summary.js';
import type { PlanSummary } from '../plan/summary.js';
import type { Allocation, LayerPlan, LayerScores, PlanOptions } from '../plan/types.js';
import { validatePlanOptions } from '../plan/validate.js';
import { methodByName } from '../score/registry.js';
import type { Method } from '../score/types.js';
import { none } from '../recover/none.js';
import { recoveryByName } from '../recover/registry.js';
import type { RecoveryMethod } from '../recover/types.js';
import { meanErrors, RecoverPass } from './recover-pass.js';
import type { LayerRecoveryRecord, Propagation } from './recover-pass.js';
import { batchSequences, scorePass } from './score-pass.js';
import { writePrunedCheckpoint } from './write-pass.js';
import type { PruneProgress, PruneRequest } from './request.js';
import { SILENT_PROGRESS } from './request.js';

export interface PruneOutcome {
  summary: PlanSummary;
  /** The contents of amp_prune.json (absent for a dry run). */
  record?: PruneRecord;
  /** Which runtimes can load the output, in one sentence. */
  loadableBy: string;
  ratioAsked: number;
  warnings: string[];
  /** Mean relative output error of the repaired projections on held-out tokens, before/after. */
  recovery?: { method: string; before: number; after: number };
}

async function parseAllocation(value: string, numLayers: number): Promise<Allocation> {
  if (value === 'uniform' || value === 'global') return { kind: value };
  if (value.endsWith('.json')) return readAllocationFile(value, numLayers);
  throw new UsageError(`unknown allocation '${value}' (choose uniform, global, or a per-layer .json file)`);
}

async function planOptions(req: PruneRequest, spec: ArchSpec): Promise<PlanOptions> {
  if ((req.ratio === undefined) === (req.layers === undefined)) throw new UsageError('give exactly one of --ratio or --layers');
  if (req.layers !== undefined && (!Number.isInteger(req.layers) || req.layers <= 0)) {
    throw new UsageError(`--layers must be a positive whole number (got ${req.layers})`);
  }
  const ratio = req.ratio ?? ratioForLayers(spec, req.layers!);
  validatePlanOptions(spec, { ratio, align: req.align, skipLayers: req.skipLayers });
  const allocation = await parseAllocation(req.allocation, spec.numLayers);
  return { ratio, allocation, gqa: req.gqa, align: req.align, skipLayers: req.skipLayers };
}

export function loadableBy(spec: ArchSpec): string {
  const heads = spec.layers[0].heads;
  if (isUniform(spec.layers) && spec.stockConfigNeedsHeadsDividingHidden && spec.hidden % heads !== 0) {
    return `uniform widths, but hidden_size ${spec.hidden} is not a multiple of the ${heads} kept heads: stock transformers (5.x) refuses this ${spec.architecture} config even with head_dim; amp-prune runs it (eval, bench, logits)`;
  }
  return isUniform(spec.layers)
    ? 'uniform widths: loads unchanged in Python transformers (a stock config, the format vLLM reads too) and amp-prune'
    : 'per-layer widths: stock transformers and vLLM cannot load this config (one width for all layers); amp-prune runs it (eval, bench, logits)';
}

/** Widths and parameter counts from config.json alone: no weights are read. */
export async function dryRun(request: PruneRequest): Promise<PruneOutcome> {
  const req = { ...request, model: await resolveModel(request.model) };
  const config = await readModelConfig(req.model);
  const spec = specFromConfig(config, path.join(req.model, 'config.json'));
  recoveryChoice(req, methodByName(req.method));
  const opts = await planOptions(req, spec);
  const summary = shapesSummary(spec, targetShapes(spec, opts));
  return { summary, loadableBy: loadableBy(summary.pruned), ratioAsked: opts.ratio, warnings: [] };
}

export async function prune(request: PruneRequest, progress: PruneProgress = SILENT_PROGRESS): Promise<PruneOutcome> {
  if (request.dryRun) return dryRun(request);
  if (!request.out) throw new UsageError('--out is required (or use --dry-run to see the plan)');
  // a built-in model's name or a .gguf input becomes a cached Hugging Face folder; so is the pruned output
  const out = request.out;
  const req = { ...request, out, model: await resolveModel(request.model), sourceName: request.model };
  const method = methodByName(req.method);
  const ckpt = await openCheckpoint(req.model);
  try {
    const { spec } = ckpt;
    const opts = await planOptions(req, spec);
    const recovery = recoveryChoice(req, method);
    if (opts.allocation.kind !== 'global') targetShapes(spec, opts); // fail on impossible widths before any compute
    await (await StagedFolder.create(req.out, { force: req.force, inputDir: req.model })).discard();

    const calibration = method.needsCalibration || recovery.method !== none ? await calibrate(req, ckpt) : undefined;
    // scoring on the propagated inputs happens layer by layer inside the recovery pass
    const planner = recovery.scoreOn === 'pruned' ? layerPlanner(spec, opts) : undefined;
    let scores: LayerScores[] = [];
    if (!planner) {
      progress.phase('scoring', spec.numLayers * Math.max(1, calibration ? calibration.batches : 1));
      ({ scores } = await scorePass(ckpt, {
        method,
        sequences: method.needsCalibration ? (calibration?.sequences ?? []) : [],
        seed: req.seed,
        session: req.session,
        onProgress: ({ layer, batch, batches }) => progress.tick(`layer ${layer + 1}/${spec.numLayers} batch ${batch}/${batches}`),
      }));
      progress.done();
    }

    let plans = planner ? [] : planLayers(spec, scores, opts);
    let summary = planner ? shapesSummary(spec, targetShapes(spec, opts)) : planSummary(spec, plans);
    const warnings: string[] = [];
    let outConfig = spec.configFor(summary.shapes);
    if (recovery.method !== none) {
      outConfig = withOutputBiases(spec, outConfig, warnings);
      summary = withBiasParams(summary, specFromConfig(outConfig, 'config.json'));
    }
    const outSpec = specFromConfig(outConfig, 'config.json');
    const pass = recovery.method === none || !calibration
      ? undefined
      : await RecoverPass.start(ckpt, {
          method: recovery.method,
          damp: recovery.damp,
          propagate: recovery.propagate,
          weighting: recovery.weighting,
          ...splitHeldOut(calibration.sequences),
          plans,
          refitTarget: recovery.refitTarget,
          scoreOn: planner ? { method, seed: req.seed, plan: planner } : undefined,
          outSpec,
          session: req.session,
        });
    if (pass && planner) [plans, scores] = [pass.plans, pass.scores]; // filled as the pass scores each layer
    try {
      const scoring = planner ? 'scoring, ' : '';
      progress.phase(pass ? `${scoring}recovering (${recovery.method.name}) and writing` : 'writing', spec.numLayers);
      const record = () => pruneRecord(req, ckpt, opts, plans, scores, summary, calibration?.description, recovery, pass?.records);
      let json: PruneRecord | undefined;
      await writePrunedCheckpoint(ckpt, {
        outDir: req.out,
        force: req.force,
        outConfig,
        plans,
        layerTensors: pass ? (layer) => pass.layer(layer) : undefined,
        json: () => (json = record()),
        maxShardBytes: req.maxShardBytes ?? (await inputShardBytes(ckpt)),
        onProgress: () => progress.tick(),
      });
      progress.done();
      const recoverySummary = pass ? { method: recovery.method.name, ...meanErrors(pass.records) } : undefined;
      return { summary, record: json, loadableBy: loadableBy(summary.pruned), ratioAsked: opts.ratio, warnings, recovery: recoverySummary };
    } finally {
      await pass?.close();
    }
  } finally {
    await ckpt.store.close();
  }
}

interface CalibrationRun {
  sequences: number[][];
  description: CalibrationDescription;
  batches: number;
}

async function calibrate(req: PruneRequest, ckpt: Checkpoint): Promise<CalibrationRun> {
  const tokenizer = await loadTokenizer(req.model);
  const corpus = await loadCalibrationCorpus(req.calib);
  const mode = req.calibMode ?? defaultSamplingMode(corpus.format);
  const { sequences, description } = buildCalibration(corpus, tokenizer, {
    samples: req.calibSamples ?? defaultSamples(mode),
    seqLen: req.calibSeqLen,
    seed: req.seed,
    mode,
  });
  return { sequences, description, batches: batchSequences(sequences, ckpt.spec).length };
}

/**
 * Recovery may write o_proj/down_proj biases: the output config declares them where the family's
 * stock modules can hold them (ArchSpec.outputBiasConfig); elsewhere the refit goes without a bias.
 */
function withOutputBiases(spec: ArchSpec, config: Record<string, unknown>, warnings: string[]): Record<string, unknown> {
  const outConfig = { ...config, ...spec.outputBiasConfig };
  const names = new Set(specFromConfig(outConfig, 'config.json').layerWeights(0).map((w) => w.name));
  for (const [bias, what] of [['o.bias', 'o_proj'], ['down.bias', 'down_proj']] as const) {
    if (!names.has(bias)) warnings.push(`${spec.architecture} has no ${what} bias in a stock config: its recovery refits the weights without a bias`);
  }
  return outConfig;
}

// Measured on SmolLM2-135M, AMP 20%, built-in text, WikiText-2 ppl (README): with the default
// 50 x 128-token windows none 236, bias 279, lsq 164 (damp 0.1); with 64 x 512 windows lsq 145.
// lsq wins on perplexity at every ratio and calibration measured (not on zero-shot accuracy in
// the first grid row: README), and its biases load in transformers, llama.cpp (GGUF export) and
// transformers.js (ONNX export), so it is the default; it costs prune time (README).
export const DEFAULT_RECOVERY = 'lsq';
export const DEFAULT_RECOVER_DAMP = 0.1;

interface RecoveryChoice {
  method: RecoveryMethod;
  damp: number;
  propagate: Propagation;
  weighting: GramWeighting;
  scoreOn: 'dense' | 'pruned';
  refitTarget: 'layer' | 'model';
}

/** --recover, --recover-damp, --calib-propagate, --recover-weighting, --score-on, --refit-target with their defaults (the scoring method's published recovery first). */
function recoveryChoice(req: PruneRequest, method: Method): RecoveryChoice {
  const allocation = req.allocation;
  const rec = recoveryByName(req.recover ?? method.defaultRecovery?.recover ?? DEFAULT_RECOVERY);
  const damp = req.recoverDamp ?? DEFAULT_RECOVER_DAMP;
  if (!Number.isFinite(damp) || damp <= 0) throw new UsageError(`--recover-damp must be a positive number (got ${req.recoverDamp})`);
  const propagate = req.calibPropagate ?? (req.recover === undefined ? method.defaultRecovery?.propagate : undefined) ?? 'pruned';
  if (propagate !== 'pruned' && propagate !== 'dense') throw new UsageError(`--calib-propagate must be pruned or dense (got '${propagate}')`);
  // residual weighting measured level with uniform on SmolLM2 (README): the plain fit is the default
  const weighting = req.recoverWeighting ?? 'tokens';
  if (weighting !== 'tokens' && weighting !== 'residual') throw new UsageError(`--recover-weighting must be tokens or residual (got '${weighting}')`);
  const scoreOn = req.scoreOn ?? 'dense';
  if (scoreOn !== 'dense' && scoreOn !== 'pruned') throw new UsageError(`--score-on must be dense or pruned (got '${scoreOn}')`);
  if (scoreOn === 'pruned') {
    if (rec === none) throw new UsageError('--score-on pruned needs a recovery method (--recover bias or lsq): with none, nothing is propagated to score on');
    if (propagate !== 'pruned') throw new UsageError('--score-on pruned needs --calib-propagate pruned: with dense propagation every layer sees the dense activations');
    if (allocation === 'global') throw new UsageError("--score-on pruned cannot use --allocation global: global ranks every layer's scores at once, before any layer is pruned (use uniform or a per-layer file)");
  }
  const refitTarget = req.refitTarget ?? 'layer';
  if (refitTarget !== 'layer' && refitTarget !== 'model') throw new UsageError(`--refit-target must be layer or model (got '${refitTarget}')`);
  if (refitTarget === 'model') {
    if (rec.name !== 'lsq') throw new UsageError('--refit-target model needs --recover lsq (only a least-squares refit has a target)');
    if (propagate !== 'pruned') throw new UsageError('--refit-target model needs --calib-propagate pruned: with dense propagation the dense layer and the dense model see the same input');
  }
  return { method: rec, damp, propagate, weighting, scoreOn, refitTarget };
}

/** Every 8th calibration sequence is held out to measure the repaired layers' output error. */
function splitHeldOut(sequences: number[][]): { fit: number[][]; heldOut: number[][] } {
  if (sequences.length < 2) return { fit: sequences, heldOut: [] };
  const heldOut = sequences.filter((_, i) => i % 8 === 7 || (sequences.length < 8 && i === sequences.length - 1));
  return { fit: sequences.filter((s) => !heldOut.includes(s)), heldOut };
}

/** The parameter count of what is really written (FLAP's added bias vectors included). */
function withBiasParams(summary: PlanSummary, written: ArchSpec): PlanSummary {
  const after = countParams(written);
  return { ...summary, pruned: written, after, achievedRatio: 1 - after.total / summary.before.total };
}

/** Keep the input's sharding: its largest shard size, or one file when the input is one file. */
async function inputShardBytes(ckpt: Checkpoint): Promise<number | undefined> {
  const files = new Map<string, number>();
  for (const name of ckpt.store.names()) {
    const info = ckpt.store.info(name);
    files.set(info.file, (files.get(info.file) ?? 0) + info.byteLength);
  }
  return files.size > 1 ? Math.max(...files.values()) : undefined;
}

const round = (x: number) => Number(x.toPrecision(9));
const roundErrors = (e: { before: number; after: number }) => ({ before: round(e.before), after: round(e.after) });

function pruneRecord(
  req: PruneRequest & { sourceName?: string },
  ckpt: Checkpoint,
  opts: PlanOptions,
  plans: LayerPlan[],
  scores: LayerScores[],
  summary: PlanSummary,
  calibration: CalibrationDescription | undefined,
  recovery: RecoveryChoice,
  layerRecovery: LayerRecoveryRecord[] | undefined,
): PruneRecord {
  return {
    tool: { name: 'amp-prune', version: VERSION },
    method: req.method,
    allocation: opts.allocation.kind === 'file' ? { kind: 'file', file: opts.allocation.file } : { kind: opts.allocation.kind },
    gqa: opts.gqa,
    align: opts.align,
    skip_layers: [...opts.skipLayers],
    seed: req.seed,
    ratio: { asked: opts.ratio, achieved: summary.achievedRatio, layers_worth: req.layers ?? null },
    parameters: { before: summary.before, after: summary.after },
    source: { model: path.basename(path.resolve(req.sourceName ?? req.model)), architecture: ckpt.spec.architecture, layers: ckpt.spec.numLayers },
    calibration: calibration ?? null,
    recovery: {
      method: recovery.method.name,
      rewrites: [...recovery.method.rewrites],
      damp: recovery.method.name === 'lsq' ? recovery.damp : null,
      propagate: recovery.method === none ? null : recovery.propagate,
      token_weighting: recovery.method === none ? null : recovery.weighting,
      score_on: recovery.scoreOn,
      refit_target: recovery.method.name === 'lsq' ? recovery.refitTarget : null,
      held_out: 'every 8th calibration sequence',
      mean_error: layerRecovery ? roundErrors(meanErrors(layerRecovery)) : null,
    },
    layers: plans.map((p, i) => ({
      layer: i,
      heads: { kept: p.heads, scores: Array.from(scores[i].heads, round) },
      kv_heads: { kept: p.kvHeads },
      neurons: { kept: p.neurons, scores: Array.from(scores[i].neurons, round) },
      ...(layerRecovery ? { recovery: { o_proj: roundErrors(layerRecovery[i].o_proj), down_proj: roundErrors(layerRecovery[i].down_proj) } } : {}),
    })),
  };
}
