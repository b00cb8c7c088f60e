/**
 * amp_prune.json (written by `prune` next to the pruned weights) reduced to what the per-layer
 * charts need: kept head and neuron indices and their scores. Widths before pruning come from the
 * score lists, which have one entry per original unit.
 */
import { FileError } from '../errors.js';
import { isIndexArray, isNumberArray, isObject, numberAt, stringAt } from './json-input.js';

export interface PrunedUnits {
  kept: number[];
  /** One per unit before pruning; null when the record has none. */
  scores: number[] | null;
  /** Units before pruning: the score count, or (without scores) one past the largest kept index. */
  before: number;
}

export interface PrunedLayer {
  layer: number;
  heads: PrunedUnits;
  neurons: PrunedUnits;
}

export interface PruneRecord {
  file: string;
  method: string | null;
  ratioAsked: number | null;
  ratioAchieved: number | null;
  /** The dense model it was pruned from (folder name), if recorded. */
  sourceModel: string | null;
  layers: PrunedLayer[];
}

function notAPlan(file: string, problem: string): FileError {
  return new FileError(file, `not an amp_prune.json pruning record (${problem}); \`amp-prune prune\` writes one next to the pruned model`);
}

function parseUnits(file: string, where: string, value: unknown): PrunedUnits {
  if (!isObject(value) || !isIndexArray(value.kept)) throw notAPlan(file, `${where}.kept is not a list of indices`);
  const scores = value.scores === undefined || value.scores === null ? null : value.scores;
  if (scores !== null && !isNumberArray(scores)) throw notAPlan(file, `${where}.scores is not a list of numbers`);
  const before = scores ? scores.length : value.kept.reduce((max, i) => Math.max(max, i + 1), 0);
  const outside = value.kept.find((i) => i >= before);
  if (outside !== undefined) throw notAPlan(file, `${where}.kept has index ${outside} but only ${before} scores`);
  return { kept: value.kept, scores, before };
}

export function parsePruneRecord(file: string, value: unknown): PruneRecord {
  if (!isObject(value)) throw notAPlan(file, 'not a JSON object');
  if (!Array.isArray(value.layers)) throw notAPlan(file, 'layers is missing');
  const layers = value.layers.map((entry: unknown, i): PrunedLayer => {
    if (!isObject(entry)) throw notAPlan(file, `layers[${i}] is not an object`);
    return {
      layer: numberAt(entry, 'layer') ?? i,
      heads: parseUnits(file, `layers[${i}].heads`, entry.heads),
      neurons: parseUnits(file, `layers[${i}].neurons`, entry.neurons),
    };
  });
  return {
    file,
    method: stringAt(value, 'method'),
    ratioAsked: numberAt(value, 'ratio.asked'),
    ratioAchieved: numberAt(value, 'ratio.achieved'),
    sourceModel: stringAt(value, 'source.model'),
    layers,
  };
}
