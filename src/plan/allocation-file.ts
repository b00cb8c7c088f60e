/**
 * Allocation from a per-layer JSON file of kept widths:
 *   {"layers": [{"heads": 24, "intermediate": 8192}, ...]}   (one entry per layer, in order)
 * `readAllocationFile` checks the file on its own; `fileShapes` checks it against the model.
 * GQA rule for `heads`: group mode removes whole KV groups, so heads must be a multiple of the
 * group size (H / H_kv) and H_kv shrinks to heads / groupSize; query mode keeps every KV head, so
 * heads must be a multiple of H_kv (each group keeps heads / H_kv). Multi-head attention: any count.
 */
import { readFile } from 'node:fs/promises';
import type { ArchSpec, LayerShape } from '../arch/spec.js';
import { FileError } from '../errors.js';
import { unitLayout } from './attention-units.js';
import type { Allocation, GqaMode } from './types.js';

export type FileAllocation = Extract<Allocation, { kind: 'file' }>;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function positiveInt(file: string, layer: number, entry: Record<string, unknown>, key: string): number {
  const v = entry[key];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) {
    throw new FileError(file, `layer ${layer}: "${key}" must be a positive integer (kept width), got ${JSON.stringify(v)}`);
  }
  return v;
}

/** Parse and check the file's text (structure and counts; widths are checked by `fileShapes`). */
export function parseAllocation(text: string, file: string, numLayers: number): FileAllocation {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new FileError(file, `not valid JSON (${(e as Error).message})`);
  }
  if (!isObject(json) || !Array.isArray(json.layers)) {
    throw new FileError(file, 'expected {"layers": [{"heads": kept, "intermediate": kept}, ...]}');
  }
  if (json.layers.length !== numLayers) {
    throw new FileError(file, `has ${json.layers.length} layer entries; the model has ${numLayers} layers`);
  }
  const layers = json.layers.map((entry: unknown, i) => {
    if (!isObject(entry)) throw new FileError(file, `layer ${i}: expected {"heads": kept, "intermediate": kept}, got ${JSON.stringify(entry)}`);
    return { heads: positiveInt(file, i, entry, 'heads'), intermediate: positiveInt(file, i, entry, 'intermediate') };
  });
  return { kind: 'file', file, layers };
}

export async function readAllocationFile(file: string, numLayers: number): Promise<FileAllocation> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new FileError(file, code === 'ENOENT' ? 'allocation file not found' : `cannot read (${code ?? (e as Error).message})`);
  }
  return parseAllocation(text, file, numLayers);
}

/**
 * The file's widths as layer shapes for this model and GQA mode. A layer in `skipLayers` must be
 * kept whole: the file and the flag disagreeing is an error rather than a silent override.
 */
export function fileShapes(spec: ArchSpec, allocation: FileAllocation, gqa: GqaMode, skipLayers: readonly number[] = []): LayerShape[] {
  const { file } = allocation;
  const fail = (layer: number, problem: string): never => {
    throw new FileError(file, `layer ${layer}: ${problem}`);
  };
  if (allocation.layers.length !== spec.numLayers) {
    throw new FileError(file, `has ${allocation.layers.length} layer entries; the model has ${spec.numLayers} layers`);
  }
  return allocation.layers.map(({ heads, intermediate }, i) => {
    const shape = spec.layers[i];
    if (heads > shape.heads) fail(i, `heads ${heads} is more than the model's ${shape.heads}`);
    if (intermediate > shape.intermediate) fail(i, `intermediate ${intermediate} is more than the model's ${shape.intermediate}`);
    if (skipLayers.includes(i) && (heads !== shape.heads || intermediate !== shape.intermediate)) {
      fail(i, `the file prunes it but --skip-layers keeps it whole`);
    }
    const layout = unitLayout(shape, gqa);
    if (heads % layout.headsPerUnit !== 0) {
      const why = layout.mode === 'group' ? 'KV group size; group mode removes whole groups' : 'KV head count; query mode keeps the same number in every group';
      fail(i, `heads ${heads} is not a multiple of ${layout.headsPerUnit} (the ${why})`);
    }
    const kvHeads = layout.mode === 'group' ? heads / layout.groupSize : shape.kvHeads;
    return { heads, kvHeads, intermediate };
  });
}
