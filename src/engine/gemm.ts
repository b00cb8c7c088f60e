/**
 * Dense matrix products on onnxruntime, for the linear algebra of recovery (Gram solves, output
 * errors): row-major A [m, k] · B [k, n], optionally with B transposed. One session per precision
 * serves every shape (dims are symbolic), so a blocked factorisation pays session start-up once.
 */
import { ElemType, GraphBuilder } from './graph.js';
import { int, ints } from './graph.js';
import { VERSION } from './model.js';
import { OrtSession } from './session.js';
import type { SessionOptions } from './session.js';

type Precision = 'float32' | 'float64';
type Matrix<P extends Precision> = P extends 'float64' ? Float64Array : Float32Array;

function gemmGraph(precision: Precision, transB: boolean): Uint8Array {
  const t = precision === 'float64' ? ElemType.DOUBLE : ElemType.FLOAT;
  const g = new GraphBuilder(`amp-prune-gemm-${precision}${transB ? '-bt' : ''}`);
  const a = g.input('a', t, ['m', 'k']);
  const b = g.input('b', t, transB ? ['n', 'k'] : ['k', 'n']);
  // MatMul rather than Gemm: Gemm's float64 kernel is absent from some onnxruntime builds
  const bk = transB ? g.op('/gemm/b/Transpose', 'Transpose', [b], { perm: ints([1, 0]) }) : b;
  g.output(g.op('/gemm/MatMul', 'MatMul', [a, bk]), 'c', t, ['m', 'n']);
  return g.toBytes(VERSION);
}

export class Gemm {
  private readonly sessions = new Map<string, Promise<OrtSession>>();

  constructor(private readonly opts: SessionOptions = {}) {}

  private session(precision: Precision, transB: boolean): Promise<OrtSession> {
    const key = `${precision}/${transB}`;
    let s = this.sessions.get(key);
    if (!s) {
      s = OrtSession.create(gemmGraph(precision, transB), this.opts);
      this.sessions.set(key, s);
    }
    return s;
  }

  /** A [m, k] · B [k, n] (or A · Bᵀ with B [n, k] when transB). */
  async matmul<P extends Precision>(precision: P, a: Matrix<P>, m: number, k: number, b: Matrix<P>, n: number, transB = false): Promise<Matrix<P>> {
    if (a.length !== m * k || b.length !== k * n) throw new Error(`gemm: operand sizes ${a.length}, ${b.length} do not match [${m}, ${k}] x [${k}, ${n}]`);
    if (m === 0 || n === 0 || k === 0) return (precision === 'float64' ? new Float64Array(m * n) : new Float32Array(m * n)) as Matrix<P>;
    const session = await this.session(precision, transB);
    const feed = (data: Float32Array | Float64Array, dims: number[]) =>
      precision === 'float64' ? { type: 'float64' as const, data: data as Float64Array, dims } : { type: 'float32' as const, data: data as Float32Array, dims };
    const out = await session.run({ a: feed(a, [m, k]), b: feed(b, transB ? [n, k] : [k, n]) });
    return out.c.data as unknown as Matrix<P>;
  }

  async close(): Promise<void> {
    for (const s of this.sessions.values()) await (await s).release();
    this.sessions.clear();
  }
}
