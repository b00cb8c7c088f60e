/**
 * The recovery pass: after planning, calibration hidden states stream through the model a second
 * time, layer by layer, and each layer's output projections (o_proj, down_proj) are repaired by
 * the chosen recovery method before the layer is written. With propagation `pruned`, layer i sees
 * what layers 0..i−1 produce after THEY were pruned and repaired (sequential calibration), and the
 * target is the dense layer's output on that same input; with `dense`, every layer sees the dense
 * model's activations (FLAP's published procedure).
 *
 * Per layer (sequential residual, propagation pruned), three half-layer runs (engine LayerSpan):
 * dense attention on h → Gram of the o_proj input → repair o_proj; pruned+repaired attention on h
 * → h1, with the dense MLP on h1 as far as the down_proj input → its Gram → repair down_proj;
 * the pruned MLP on h1 → next h. Parallel-residual families and dense propagation: one dense
 * layer run gives both Grams (a parallel MLP reads the layer input, not the attention output),
 * then the pruned layer (or, dense, that run's output) gives the next h. Memory: the calibration
 * hidden states (twice while h1 is alive), one layer's weights, one Gram matrix per projection
 * (the fitting tokens') and the held-out tokens' projection inputs (recover/held-rows.ts).
 *
 * Options: scoring on the propagated input (--score-on pruned) makes the first run a whole dense
 * layer with the scoring taps, and plans the layer from those scores before repairing it; a
 * model refit target (--refit-target model) runs the dense model's own stream one layer ahead
 * of the Gram runs and feeds its projection inputs to them for the cross moments (recover/cross.ts).
 */
import type { ArchSpec, LayerWeightName } from '../arch/spec.js';
import { collectGarbage } from '../collect-garbage.js';
import type { Checkpoint } from '../engine/checkpoint.js';
import { WeightReader } from '../engine/checkpoint.js';
import { padBatch, sequenceLengths } from '../engine/batch.js';
import { Gemm } from '../engine/gemm.js';
import { embed, LayerRunner } from '../engine/layer-runner.js';
import type { GramOutputs, GramProjection, GramWeighting, LayerSpan } from '../engine/layer.js';
import { PreparedBatch } from '../engine/prepared-batch.js';
import type { SessionOptions } from '../engine/session.js';
import { UserError } from '../errors.js';
import { firstNonFiniteValue } from '../io/finite.js';
import type { LayerPlan, LayerScores } from '../plan/types.js';
import { relativeErrors } from '../recover/error.js';
import type { ErrorPair } from '../recover/error.js';
import { addCrossBatch, emptyCross } from '../recover/cross.js';
import type { CrossStats } from '../recover/cross.js';
import { addBatch, emptyGram } from '../recover/gram.js';
import type { GramStats } from '../recover/gram.js';
import { HeldRowsBuilder } from '../recover/held-rows.js';
import type { HeldRows } from '../recover/held-rows.js';
import { RecoveryFailure } from '../recover/lsq.js';
import { none } from '../recover/none.js';
import type { ProjectionProblem, ProjectionRepair, RecoveryMethod } from '../recover/types.js';
import { keptIndices } from '../slice/select.js';
import { sliceFloat32 } from '../slice/select.js';
import { accumulate, emptyStats, finalize } from '../score/stats.js';
import type { LayerStats } from '../score/stats.js';
import type { Method } from '../score/types.js';
import { batchSequences, scoreLayer } from './score-pass.js';

export type Propagation = 'pruned' | 'dense';

export interface RecoverPassOptions {
  method: RecoveryMethod;
  damp: number;
  propagate: Propagation;
  /** How calibration tokens weigh in the fit and in the held-out error. */
  weighting: GramWeighting;
  /** Fitting and held-out calibration sequences. */
  fit: number[][];
  heldOut: number[][];
  /** Every layer's plan; empty when `scoreOn` plans each layer as the pass reaches it. */
  plans: LayerPlan[];
  /** What lsq refits to: the dense layer on the same input, or the dense model's own activations
   *  (a dense stream runs in lockstep; needs propagation `pruned`). */
  refitTarget?: 'layer' | 'model';
  /** Score each layer on its propagated inputs (--score-on pruned) and plan it from those scores. */
  scoreOn?: LayerScoring;
  /** The output model's spec (pruned widths, the biases the output declares). */
  outSpec: ArchSpec;
  session?: SessionOptions;
  maxBatchTokens?: number;
}

export interface LayerScoring {
  method: Method;
  seed: number;
  plan: (layer: number, scores: LayerScores) => LayerPlan;
}

export interface LayerRecoveryRecord {
  layer: number;
  /** Relative output error on held-out tokens, before (slicing only) and after the repair. */
  o_proj: ErrorPair;
  down_proj: ErrorPair;
}

interface Batch {
  prepared: PreparedBatch;
  /** Real tokens per sequence (what the scoring statistics average over). */
  lengths: number[];
  heldOut: boolean;
  hidden: Float32Array;
  /** The dense model's hidden state at this layer (refit target `model`). */
  denseHidden?: Float32Array;
}

type Projection = GramProjection;

interface FitAndHeld {
  fit: GramStats;
  /** The held-out tokens' rows (the fitting ones' when nothing is held out). */
  held: HeldRows;
  /** Cross moments of the fitting inputs with the dense model's (refit target `model`). */
  target?: CrossStats;
}

/** Per projection, per batch: the dense model's own input to it ([B·T, F]). */
type DenseInputs = Partial<Record<Projection, Float32Array[]>>;

export class RecoverPass {
  private readonly reader: WeightReader;
  private readonly gemm: Gemm;
  private readonly dense: LayerRunner;
  private readonly mixed: LayerRunner;
  private readonly pruned: LayerRunner;
  private readonly mixedSpec: ArchSpec;
  private next = 0;
  private readonly heldOutExists: boolean;
  readonly records: LayerRecoveryRecord[] = [];
  /** Each layer's plan (given, or made as the pass scores it) and, scoring here, its scores. */
  readonly plans: LayerPlan[];
  readonly scores: LayerScores[] = [];

  private constructor(
    private readonly ckpt: Checkpoint,
    private readonly opts: RecoverPassOptions,
    private readonly batches: Batch[],
  ) {
    const { spec } = ckpt;
    this.plans = [...opts.plans];
    this.heldOutExists = batches.some((b) => b.heldOut);
    this.reader = new WeightReader(ckpt.store);
    // the Gram matrices live in JavaScript: sessions keeping their own peaks besides them doubled the pass's memory
    const session = { ...opts.session, memoryArena: false };
    this.gemm = new Gemm(session);
    // pruned attention, dense MLP: where down_proj's refit inputs come from in sequential blocks
    this.mixedSpec = opts.outSpec.withLayers(opts.outSpec.layers.map((s, i) => ({ ...s, intermediate: spec.layers[i].intermediate })));
    this.dense = new LayerRunner(spec, session);
    this.mixed = new LayerRunner(this.mixedSpec, session);
    this.pruned = new LayerRunner(opts.outSpec, session);
  }

  static async start(ckpt: Checkpoint, opts: RecoverPassOptions): Promise<RecoverPass> {
    const { spec } = ckpt;
    const table = (await new WeightReader(ckpt.store).globals(spec)).get('embed.weight')!;
    const batches: Batch[] = [];
    for (const [seqs, heldOut] of [[opts.fit, false], [opts.heldOut, true]] as const) {
      for (const group of seqs.length > 0 ? batchSequences(seqs, spec, opts.maxBatchTokens) : []) {
        const prepared = new PreparedBatch(spec, padBatch(group));
        const hidden = embed(table, prepared.tokens.ids, spec.hidden);
        batches.push({ prepared, lengths: sequenceLengths(prepared.tokens), heldOut, hidden, denseHidden: opts.refitTarget === 'model' ? hidden : undefined });
      }
    }
    return new RecoverPass(ckpt, opts, batches);
  }

  /** Repaired tensors of layer `layer` (logical names of the output spec); call for 0, 1, 2, … in order. */
  async layer(layer: number): Promise<Map<LayerWeightName, Float32Array>> {
    if (layer !== this.next) throw new Error(`recovery pass: layer ${layer} asked before layer ${this.next}`);
    this.next++;
    collectGarbage(); // the previous layer's Gram matrices and weights (and, at layer 0, the scoring pass's)
    const { spec } = this.ckpt;
    const denseWeights = await this.reader.layer(spec, layer);
    const scoring = this.opts.scoreOn;
    const stats = scoring ? emptyStats(spec.layers[layer].heads, spec.headDim, spec.layers[layer].intermediate) : undefined;
    const planned = () => {
      if (scoring) {
        const scores = scoreLayer(scoring.method, { spec, layer, stats: finalize(stats!), weights: denseWeights, seed: scoring.seed });
        this.scores.push(scores);
        this.plans.push(scoring.plan(layer, scores));
      }
      return { plan: this.plans[layer], out: this.slicedLayer(layer, denseWeights) };
    };

    const toward = this.opts.refitTarget === 'model' ? await this.denseStream(layer, denseWeights) : {};

    if (!spec.parallelResidual && this.opts.propagate === 'pruned') {
      // dense attention on h → o_proj's Gram (the dense MLP's output is not needed, except for
      // the scoring statistics when this layer is scored on its propagated input)
      const oTaps = { ...(stats ? {} : { span: 'attention' as const }), gram: ['o' as const] };
      const oGram = (await this.gramRun(this.dense, layer, denseWeights, oTaps, { stats, toward })).o!;
      delete toward.o; // free the dense o_proj inputs before the mixed run
      const { plan, out } = planned();
      const o = await this.repairInto(out, layer, 'o', denseWeights, keptIndices(spec, 'o.weight', plan).cols!, oGram);
      // pruned+repaired attention on h → h1, and the dense MLP on h1 as far as down_proj's input → its Gram
      const mixedWeights = new Map(out);
      for (const name of ['gate.weight', 'gate.bias', 'up.weight', 'up.bias', 'down.weight', 'down.bias'] as const) {
        const w = denseWeights.get(name) ?? zerosFor(this.mixedSpec, layer, name);
        if (w) mixedWeights.set(name, w);
        else mixedWeights.delete(name);
      }
      const h1: Float32Array[] = [];
      const downGram = (await this.gramRun(this.mixed, layer, mixedWeights, { span: 'attention', gram: ['down'] }, { outputs: h1, toward })).down!;
      const down = await this.repairInto(out, layer, 'down', denseWeights, plan.neurons, downGram);
      this.records.push({ layer, o_proj: o, down_proj: down });
      // the pruned MLP on h1 (the pruned attention's output, just computed) → the next layer's input
      for (const [b, batch] of this.batches.entries()) {
        batch.hidden = (await this.pruned.run(layer, h1[b], batch.prepared, out, { span: 'mlp' })).hidden;
      }
      return out;
    }

    // parallel residual (the MLP reads the layer input, so both Grams come from one dense run) or
    // dense propagation (the dense layer's output is the next input)
    const denseOut: Float32Array[] = [];
    const grams = await this.gramRun(this.dense, layer, denseWeights, { gram: ['o', 'down'] }, { outputs: denseOut, stats, toward });
    const { plan, out } = planned();
    const o = await this.repairInto(out, layer, 'o', denseWeights, keptIndices(spec, 'o.weight', plan).cols!, grams.o!);
    const down = await this.repairInto(out, layer, 'down', denseWeights, plan.neurons, grams.down!);
    this.records.push({ layer, o_proj: o, down_proj: down });
    if (this.opts.propagate === 'pruned') {
      for (const batch of this.batches) batch.hidden = (await this.pruned.run(layer, batch.hidden, batch.prepared, out)).hidden;
    } else {
      denseOut.forEach((h, b) => (this.batches[b].hidden = h));
    }
    return out;
  }

  /**
   * Runs every batch, summing each tapped projection's Gram over the fitting batches as they come
   * (one batch's float32 Gram alive at a time) and keeping the held-out batches' rows. Options: `outputs` receives each
   * batch's hidden output; `stats` the scoring statistics of every batch (fitting and held-out
   * alike, as the dense scoring pass sees every calibration sequence); `toward` the dense model's
   * inputs whose cross moments with the fitting inputs a model-target refit needs.
   */
  private async gramRun(
    runner: LayerRunner,
    layer: number,
    weights: Map<LayerWeightName, Float32Array>,
    taps: { span?: LayerSpan; gram: GramProjection[] },
    extra: { outputs?: Float32Array[]; stats?: LayerStats; toward?: DenseInputs } = {},
  ): Promise<Partial<Record<Projection, FitAndHeld>>> {
    const { outputs, stats, toward = {} } = extra;
    const cross = taps.gram.filter((p) => toward[p]);
    const fits: Partial<Record<Projection, { fit: GramStats; target?: CrossStats }>> = {};
    const held: Partial<Record<Projection, HeldRowsBuilder>> = {};
    for (const [b, batch] of this.batches.entries()) {
      // held-out batches give rows, not sums; with none held out, the fitting ones give both
      const gramOutputs: GramOutputs = batch.heldOut ? 'rows' : this.heldOutExists ? 'sums' : 'both';
      const batchCross = batch.heldOut ? [] : cross;
      const crossInputs = Object.fromEntries(batchCross.map((p) => [p, toward[p]![b]]));
      const r = await runner.run(layer, batch.hidden, batch.prepared, weights, { ...taps, cross: batchCross, stats: stats !== undefined, gramWeighting: this.opts.weighting, gramOutputs }, crossInputs);
      outputs?.push(r.hidden);
      if (stats) accumulate(stats, r.stats!, batch.lengths);
      for (const p of taps.gram) {
        const tap = r.gram![p]!;
        if (tap.rows) (held[p] ??= new HeldRowsBuilder(tap.rows.rows.dims[1])).add(tap.rows.rows, tap.rows.root);
        if (!tap.gram || !tap.sum) continue;
        const F = tap.sum.data.length;
        const s = (fits[p] ??= { fit: emptyGram(F), target: cross.includes(p) ? emptyCross(F) : undefined });
        addBatch(s.fit, tap.gram, tap.sum, tap.weight);
        if (s.target) addCrossBatch(s.target, tap.cross!.gram, tap.cross!.sum);
      }
      collectGarbage(); // this batch's F × F float32 sums, before the next batch's arrive
    }
    const out: Partial<Record<Projection, FitAndHeld>> = {};
    for (const p of taps.gram) {
      const F = fits[p]?.fit.features ?? held[p]!.features;
      out[p] = { fit: fits[p]?.fit ?? emptyGram(F), held: held[p]?.build() ?? { features: F, tokens: 0, data: new Float32Array(0) }, target: fits[p]?.target };
    }
    return out;
  }

  /** One dense layer on the dense model's own hidden states: its o_proj and down_proj inputs, and the next dense state. */
  private async denseStream(layer: number, weights: Map<LayerWeightName, Float32Array>): Promise<DenseInputs> {
    const inputs = { o: [] as Float32Array[], down: [] as Float32Array[] };
    for (const batch of this.batches) {
      const r = await this.dense.run(layer, batch.denseHidden!, batch.prepared, weights, { raw: true });
      inputs.o.push(r.raw!.oProjInput.data);
      inputs.down.push(r.raw!.downProjInput.data);
      batch.denseHidden = r.hidden;
    }
    return inputs;
  }

  /** Repairs projection `p` into the output layer `out`; returns its held-out errors. */
  private async repairInto(
    out: Map<LayerWeightName, Float32Array>,
    layer: number,
    p: Projection,
    dense: Map<LayerWeightName, Float32Array>,
    kept: readonly number[],
    gram: FitAndHeld,
  ): Promise<ErrorPair> {
    const weightName = `${p}.weight` as const;
    const shape = this.ckpt.spec.layerWeights(layer).find((w) => w.name === weightName)!.shape;
    const problem: ProjectionProblem = {
      weight: dense.get(weightName)!,
      outFeatures: shape[0],
      inFeatures: shape[1],
      bias: dense.get(`${p}.bias`),
      kept,
      biasWritable: this.opts.outSpec.layerWeights(layer).some((w) => w.name === `${p}.bias`),
      fit: gram.fit,
      fitDisposable: true, // read by this repair alone
      damp: this.opts.damp,
      target: gram.target,
    };
    let after: ProjectionRepair;
    try {
      after = await this.opts.method.repair(problem, this.gemm);
    } catch (e) {
      if (e instanceof RecoveryFailure) throw new UserError(`layer ${layer} ${p}_proj: ${e.message}`);
      throw e;
    }
    // (checked in place: spreading the weights into one array would copy them as boxed numbers)
    if (firstNonFiniteValue(after.weight) || (after.bias && firstNonFiniteValue(after.bias))) {
      throw new UserError(`layer ${layer} ${p}_proj: recovery produced non-finite weights (raise --recover-damp, or check the calibration data)`);
    }
    out.set(`${p}.weight`, after.weight);
    if (after.bias) out.set(`${p}.bias`, after.bias);
    const before = await none.repair(problem, this.gemm);
    return relativeErrors(this.gemm, problem, { before, after }, gram.held);
  }

  /** Every weight of the output layer, sliced from the dense one (zeros for newly declared biases). */
  private slicedLayer(layer: number, dense: Map<LayerWeightName, Float32Array>): Map<LayerWeightName, Float32Array> {
    const { spec } = this.ckpt;
    const plan = this.plans[layer];
    const out = new Map<LayerWeightName, Float32Array>();
    for (const w of this.opts.outSpec.layerWeights(layer)) {
      const input = spec.layerWeights(layer).find((x) => x.name === w.name);
      const data = dense.get(w.name);
      out.set(w.name, input && data ? sliceFloat32(data, input.shape, keptIndices(spec, w.name, plan)) : zeros(w.shape));
    }
    return out;
  }

  async close(): Promise<void> {
    await Promise.all([this.dense.close(), this.mixed.close(), this.pruned.close(), this.gemm.close()]);
  }
}

function zerosFor(spec: ArchSpec, layer: number, name: LayerWeightName): Float32Array | undefined {
  const w = spec.layerWeights(layer).find((x) => x.name === name);
  return w ? zeros(w.shape) : undefined;
}

function zeros(shape: readonly number[]): Float32Array {
  return new Float32Array(shape.reduce((a, b) => a * b, 1));
}

/** Mean of each error over layers, for the summary line. */
export function meanErrors(records: readonly LayerRecoveryRecord[]): { before: number; after: number } {
  const all = records.flatMap((r) => [r.o_proj, r.down_proj]);
  const mean = (f: (e: ErrorPair) => number) => (all.length ? all.reduce((a, e) => a + f(e), 0) / all.length : 0);
  return { before: mean((e) => e.before), after: mean((e) => e.after) };
}
