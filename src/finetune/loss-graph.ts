/**
 * The training loss on a chunk of tokens and its gradient w.r.t. the last layer's output, as one
 * ONNX graph, so no [tokens × vocab] array ever reaches JavaScript:
 *
 *   hidden [N, d] ─final norm─lm_head─▶ z [N, V]
 *     cross-entropy:  ℓ = −log softmax(z)[t];                  dℓ/dz = softmax(z) − onehot(t)
 *     distillation:   ℓ = τ²·KL(p_T ‖ p_S), p = softmax(·/τ);  dℓ/dz = τ·(p_S − p_T)
 *   loss = Σ_n w_n·ℓ_n (w: the caller's per-token weight, 0 for tokens outside the loss)
 *   grad_hidden = d loss / d hidden, back through lm_head and the final norm.
 *
 * With a teacher the teacher's own final norm and lm_head run here on its last hidden state, and
 * ℓ = (1 − λ)·KD + λ·CE for a CE mix λ. τ² keeps the gradient's size independent of τ (Hinton et al.).
 */
import type { ArchSpec, GlobalWeightName } from '../arch/spec.js';
import { ElemType, GraphBuilder, int } from '../engine/graph.js';
import { VERSION } from '../engine/model.js';
import { linear } from '../engine/ops/linear.js';
import { norm } from '../engine/ops/norm.js';
import { normBackward, normForward } from './grad-ops.js';

export interface LossOptions {
  /** Distil from this model (its vocabulary must be the student's). */
  teacher?: ArchSpec;
  temperature: number;
  /** λ: weight of cross-entropy next to distillation (teacher only). */
  ceMix: number;
  /** false: the loss alone, no grad_hidden (held-out evaluation). Default true. */
  gradient?: boolean;
}

/** Graph input names of a model's head weights: student `embed.weight`…, teacher `teacher.embed.weight`…. */
export const headInputName = (role: 'student' | 'teacher', name: GlobalWeightName): string => (role === 'student' ? name : `teacher.${name}`);

/** The global weights the loss graph reads (lm_head is the embedding when tied). */
export function headWeights(spec: ArchSpec): GlobalWeightName[] {
  const names = spec.globalWeights().map((w) => w.name).filter((n) => n !== 'embed.weight');
  return spec.tiedEmbeddings ? ['embed.weight', ...names] : names;
}

export function buildLossGraph(student: ArchSpec, opts: LossOptions): Uint8Array {
  const g = new GraphBuilder('amp-prune-loss');
  const V = student.vocab;
  const declare = (spec: ArchSpec, role: 'student' | 'teacher') => {
    const shapes = new Map(spec.globalWeights().map((w) => [w.name, w.shape]));
    const inputs = new Map(headWeights(spec).map((n) => [n, g.input(headInputName(role, n), ElemType.FLOAT, shapes.get(n)!)]));
    return (n: GlobalWeightName) => inputs.get(n);
  };
  const hidden = g.input('hidden', ElemType.FLOAT, ['tokens', student.hidden]);
  const targets = g.input('targets', ElemType.INT64, ['tokens']);
  const tokenWeight = g.input('token_weight', ElemType.FLOAT, ['tokens']);
  const sw = declare(student, 'student');

  const finalNorm = normForward(g, student.norm.kind, '/student/norm', hidden, sw('final_norm.weight')!, sw('final_norm.bias'), student.norm.eps);
  const lmHead = student.tiedEmbeddings ? sw('embed.weight')! : sw('lm_head.weight')!;
  const logits = linear(g, '/student/lm_head', finalNorm.out, lmHead, sw('lm_head.bias'));
  const column = g.op('/targets/Unsqueeze', 'Unsqueeze', [targets, g.i64([1])]);
  const sumVocab = (path: string, t: string) => g.op(`${path}/ReduceSum`, 'ReduceSum', [t, g.i64([1])], { keepdims: int(0) });

  // cross-entropy per token and its logit gradient
  const logProbs = g.op('/ce/LogSoftmax', 'LogSoftmax', [logits], { axis: int(1) });
  const ce = g.op('/ce/Neg', 'Neg', [g.op('/ce/Squeeze', 'Squeeze', [g.op('/ce/GatherElements', 'GatherElements', [logProbs, column], { axis: int(1) }), g.i64([1])])]);
  // gradients are built only when asked for: an evaluation graph carries no dead [N × V] nodes
  const dCe = () => {
    const oneHot = g.op('/ce/OneHot', 'OneHot', [targets, g.i64([V]), g.op('/ce/values/Constant', 'Constant', [], { value: { kind: 'tensor', value: { name: 'values', elemType: ElemType.FLOAT, dims: [2], raw: new Uint8Array(new Float32Array([0, 1]).buffer) } } })], { axis: int(-1) });
    return g.op('/ce/grad/Sub', 'Sub', [g.op('/ce/Exp', 'Exp', [logProbs]), oneHot]);
  };

  let perToken: string;
  let dLogits: () => string;
  if (opts.teacher) {
    const t = opts.teacher;
    if (t.vocab !== V) throw new Error(`teacher vocabulary ${t.vocab} != student vocabulary ${V}`);
    const tw = declare(t, 'teacher');
    const teacherHidden = g.input('teacher_hidden', ElemType.FLOAT, ['tokens', t.hidden]);
    const tNormed = norm(g, t.norm.kind, '/teacher/norm', teacherHidden, tw('final_norm.weight')!, tw('final_norm.bias'), t.norm.eps);
    const tLogits = linear(g, '/teacher/lm_head', tNormed, t.tiedEmbeddings ? tw('embed.weight')! : tw('lm_head.weight')!, tw('lm_head.bias'));
    const tau = opts.temperature;
    const soft = (path: string, z: string) => g.op(`${path}/LogSoftmax`, 'LogSoftmax', [g.op(`${path}/Div`, 'Div', [z, g.f32(tau)])], { axis: int(1) });
    const logPs = soft('/kd/student', logits);
    const logPt = soft('/kd/teacher', tLogits);
    const pt = g.op('/kd/teacher/Exp', 'Exp', [logPt]);
    const kl = sumVocab('/kd/kl', g.op('/kd/kl/Mul', 'Mul', [pt, g.op('/kd/kl/Sub', 'Sub', [logPt, logPs])]));
    const kd = g.op('/kd/Mul', 'Mul', [kl, g.f32(tau * tau)]);
    const dKd = () => g.op('/kd/grad/Mul', 'Mul', [g.op('/kd/grad/Sub', 'Sub', [g.op('/kd/student/Exp', 'Exp', [logPs]), pt]), g.f32(tau)]);
    if (opts.ceMix > 0) {
      const mix = (path: string, a: string, b: string) =>
        g.op(`${path}/Add`, 'Add', [g.op(`${path}/Mul`, 'Mul', [a, g.f32(1 - opts.ceMix)]), g.op(`${path}/Mul_1`, 'Mul', [b, g.f32(opts.ceMix)])]);
      perToken = mix('/mix/loss', kd, ce);
      dLogits = () => mix('/mix/grad', dKd(), dCe());
    } else {
      perToken = kd;
      dLogits = dKd;
    }
  } else {
    perToken = ce;
    dLogits = dCe;
  }

  const loss = g.op('/loss/ReduceSum', 'ReduceSum', [g.op('/loss/Mul', 'Mul', [perToken, tokenWeight])], { keepdims: int(0) });
  g.output(loss, 'loss', ElemType.FLOAT, []);
  if (opts.gradient === false) return g.toBytes(VERSION);
  const dz = g.op('/grad/weight/Mul', 'Mul', [dLogits(), g.op('/grad/weight/Unsqueeze', 'Unsqueeze', [tokenWeight, g.i64([1])])]);
  const dNormed = g.op('/grad/lm_head/MatMul', 'MatMul', [dz, lmHead]);
  const dHidden = normBackward(g, student.norm.kind, '/grad/norm', finalNorm, dNormed);
  g.output(dHidden, 'grad_hidden', ElemType.FLOAT, ['tokens', student.hidden]);
  return g.toBytes(VERSION);
}
