/** Checking that a score set fits the model before any ranking uses it. */
import type { ArchSpec } from '../arch/spec.js';
import { assertFinite } from './order.js';
import type { LayerScores } from './types.js';

export function checkScores(spec: ArchSpec, scores: readonly LayerScores[]): void {
  if (scores.length !== spec.numLayers) throw new Error(`scores for ${scores.length} layers; the model has ${spec.numLayers}`);
  scores.forEach((s, i) => checkLayerScores(spec, i, s));
}

export function checkLayerScores(spec: ArchSpec, i: number, s: LayerScores): void {
  const shape = spec.layers[i];
  if (s.heads.length !== shape.heads || s.neurons.length !== shape.intermediate) {
    throw new Error(`layer ${i}: ${s.heads.length} head / ${s.neurons.length} neuron scores for ${shape.heads} heads / ${shape.intermediate} neurons`);
  }
  assertFinite(s.heads, i, 'head');
  assertFinite(s.neurons, i, 'neuron');
}
