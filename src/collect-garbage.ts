/**
 * A full garbage collection, where V8 allows one. The recovery pass frees a layer's Gram matrices
 * and weights, and each batch's float32 Gram, hundreds of MB at a time, as typed arrays V8 reclaims
 * only when its own heap (a few MB of objects here) asks for a collection; collecting at those
 * points keeps the pass's peak at what one layer needs (at Llama-3.2-1B's layer shape, the batches'
 * dead 256 MB Gram sums otherwise piled up beside the live one).
 */
import v8 from 'node:v8';
import vm from 'node:vm';

let gc: (() => void) | undefined | null = null;

export function collectGarbage(): void {
  if (gc === null) {
    try {
      v8.setFlagsFromString('--expose-gc');
      gc = vm.runInNewContext('gc') as () => void;
    } catch {
      gc = undefined;
    }
  }
  gc?.();
}
