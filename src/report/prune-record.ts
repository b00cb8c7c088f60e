/**
 * amp_prune.json (read and checked by export/amp-prune-record.ts) reduced to what the per-layer
 * charts need: kept head and neuron indices and their scores. Widths before pruning come from the
 * score lists, which have one entry per original unit.
 */
import { isPruneRecord } from '../export/amp-prune-record.js';
import type { AmpPruneRecord, KeptUnits } from '../export/amp-prune-record.js';

export interface PrunedUnits {
  kept: number[];
  /** One per unit before pruning. */
  scores: number[];
  /** Units before pruning: the score count. */
  before: number;
}

export interface PrunedLayer {
  layer: number;
  heads: PrunedUnits;
  neurons: PrunedUnits;
}

export interface PrunedModel {
  file: string;
  method: string;
  ratioAsked: number;
  ratioAchieved: number;
  /** The dense model it was pruned from (folder or built-in name). */
  sourceModel: string;
  layers: PrunedLayer[];
}

const units = ({ kept, scores }: KeptUnits): PrunedUnits => ({ kept, scores, before: scores.length });

/** The chart data of a record read from `file`; null for a model that was finetuned but not pruned. */
export function prunedModel(file: string, record: AmpPruneRecord): PrunedModel | null {
  if (!isPruneRecord(record)) return null;
  return {
    file,
    method: record.method,
    ratioAsked: record.ratio.asked,
    ratioAchieved: record.ratio.achieved,
    sourceModel: record.source.model,
    layers: record.layers.map((l) => ({ layer: l.layer, heads: units(l.heads), neurons: units(l.neurons) })),
  };
}
