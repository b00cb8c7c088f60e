/** Activations as ONNX subgraphs, matching transformers' ACT2FN definitions. */
import type { GraphBuilder } from '../graph.js';
import type { Activation } from '../../arch/spec.js';

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

export function activation(g: GraphBuilder, kind: Activation, path: string, x: string): string {
  switch (kind) {
    case 'silu':
      return g.op(`${path}/Mul`, 'Mul', [x, g.op(`${path}/Sigmoid`, 'Sigmoid', [x])]);
    case 'relu':
      return g.op(`${path}/Relu`, 'Relu', [x]);
    case 'gelu': {
      // 0.5 · x · (1 + erf(x / √2))
      const erf = g.op(`${path}/Erf`, 'Erf', [g.op(`${path}/Div`, 'Div', [x, g.f32(Math.SQRT2)])]);
      const onePlus = g.op(`${path}/Add`, 'Add', [erf, g.f32(1)]);
      return g.op(`${path}/Mul_1`, 'Mul', [g.op(`${path}/Mul`, 'Mul', [x, g.f32(0.5)]), onePlus]);
    }
    case 'gelu_new':
    case 'gelu_pytorch_tanh':
    case 'gelu_fast': {
      // 0.5 · x · (1 + tanh(√(2/π) · (x + 0.044715 · x³)))
      const cube = g.op(`${path}/Pow`, 'Pow', [x, g.f32(3)]);
      const inner = g.op(`${path}/Add`, 'Add', [x, g.op(`${path}/Mul`, 'Mul', [cube, g.f32(0.044715)])]);
      const tanh = g.op(`${path}/Tanh`, 'Tanh', [g.op(`${path}/Mul_1`, 'Mul', [inner, g.f32(SQRT_2_OVER_PI)])]);
      const onePlus = g.op(`${path}/Add_1`, 'Add', [tanh, g.f32(1)]);
      return g.op(`${path}/Mul_3`, 'Mul', [g.op(`${path}/Mul_2`, 'Mul', [x, g.f32(0.5)]), onePlus]);
    }
  }
}
