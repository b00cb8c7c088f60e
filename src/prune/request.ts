/** What a user asks `prune` for, already parsed from flags (the CLI) or given by a script (the library). */
import type { SamplingMode } from '../calib/types.js';
import type { SessionOptions } from '../engine/session.js';
import type { GqaMode } from '../plan/types.js';

export interface PruneRequest {
  model: string;
  /** Output folder; not needed for a dry run. */
  out?: string;
  /** Fraction of TOTAL parameters to remove; exactly one of ratio / layers. */
  ratio?: number;
  /** The paper's "N layers' worth" of parameters. */
  layers?: number;
  /** Importance method (see score/registry.ts). */
  method: string;
  /** 'uniform' | 'global' | a path to a per-layer JSON file. */
  allocation: string;
  gqa: GqaMode;
  align: number;
  skipLayers: number[];
  calib?: string;
  calibSamples?: number;
  calibSeqLen?: number;
  calibMode?: SamplingMode;
  seed: number;
  /** Training-free recovery (recover/registry.ts); default: the scoring method's own, else DEFAULT_RECOVERY. */
  recover?: string;
  /** Ridge strength of least-squares recovery, relative to the mean Gram diagonal. */
  recoverDamp?: number;
  /** Where each layer's recovery inputs come from: the pruned-and-repaired model (sequential) or the dense one. */
  calibPropagate?: 'pruned' | 'dense';
  /** How calibration tokens weigh in the refit (engine/layer.ts GramWeighting); default: the recovery method's. */
  recoverWeighting?: 'tokens' | 'residual';
  /** Activations each layer is scored on: the dense model's (default) or its propagated, pruned-model input. */
  scoreOn?: 'dense' | 'pruned';
  /** What lsq fits a pruned projection to: the dense layer on the same input (default) or the dense model's own output there. */
  refitTarget?: 'layer' | 'model';
  dryRun: boolean;
  force: boolean;
  session: SessionOptions;
  /** Split the output into shards of at most this many bytes; default: like the input. */
  maxShardBytes?: number;
}

export interface PruneProgress {
  phase(name: string, total: number): void;
  tick(detail?: string): void;
  done(): void;
}

export const SILENT_PROGRESS: PruneProgress = { phase() {}, tick() {}, done() {} };
