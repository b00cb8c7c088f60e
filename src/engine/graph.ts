/**
 * GraphBuilder: emits ONNX nodes with path-like names (`/model/layers.0/attn/q_proj/Gemm`), each
 * output named `<node>/output_0`, constants created once and reused. Layer and model graphs are
 * written against this small API only; nothing here knows about transformers.
 */
import { ElemType, encodeModel } from './onnx/model.js';
import type { AttributeValue, Dim, GraphDef, NodeDef, TensorValue, ValueInfo } from './onnx/model.js';

export { ElemType };

export const OPSET = 17;

/** Version of each non-default operator domain a graph may use (onnxruntime's contrib ops). */
const DOMAIN_OPSETS: Readonly<Record<string, number>> = { 'com.microsoft': 1 };

/** Attribute shorthands, so call sites say which ONNX attribute type they mean. */
export const int = (value: number): AttributeValue => ({ kind: 'int', value });
export const float = (value: number): AttributeValue => ({ kind: 'float', value });
export const ints = (value: readonly number[]): AttributeValue => ({ kind: 'ints', value });
export const graph = (value: GraphDef): AttributeValue => ({ kind: 'graph', value });

export class GraphBuilder {
  private readonly nodes: NodeDef[] = [];
  private readonly inputs: ValueInfo[] = [];
  private readonly outputs: ValueInfo[] = [];
  private readonly initializers: TensorValue[] = [];
  private readonly names: Set<string>;
  private readonly constants: Map<string, string>;
  private readonly domains: Set<string>;
  /** The top-level graph: owns names, constants and initializers that branches share. */
  private readonly root: GraphBuilder;

  /** `opset`: the default domain's version (17 unless a graph needs a newer op). */
  constructor(
    readonly name: string,
    readonly opset = OPSET,
    parent?: GraphBuilder,
  ) {
    this.root = parent?.root ?? this;
    this.names = parent ? this.root.names : new Set();
    this.constants = parent ? this.root.constants : new Map();
    this.domains = parent ? this.root.domains : new Set();
  }

  private claim(name: string): string {
    if (this.names.has(name)) throw new Error(`duplicate graph name ${name}`);
    this.names.add(name);
    return name;
  }

  /**
   * A branch body for If: nodes built by `build` (which may read any value of the enclosing
   * graph, constants included) and returns the values the branch yields, in order.
   */
  subgraph(name: string, build: (branch: GraphBuilder) => readonly string[]): GraphDef {
    const branch = new GraphBuilder(name, this.opset, this);
    build(branch).forEach((value, i) => {
      const out = `${name}/yield_${i}`;
      branch.op(out, 'Identity', [value], {}, { outputNames: [out] });
      branch.outputs.push({ name: out, elemType: ElemType.FLOAT });
    });
    return { name, nodes: branch.nodes, inputs: [], outputs: branch.outputs, initializers: [] };
  }

  input(name: string, elemType: ElemType, dims: readonly Dim[]): string {
    this.inputs.push({ name: this.claim(name), elemType, dims });
    return name;
  }

  /** Expose `value` as graph output `name` (through an Identity when the names differ). */
  output(value: string, name: string, elemType: ElemType, dims: readonly Dim[]): void {
    if (value !== name) this.op(name, 'Identity', [value], {}, { outputNames: [name] });
    this.outputs.push({ name, elemType, dims });
  }

  initializer(tensor: TensorValue): string {
    this.root.initializers.push({ ...tensor, name: this.claim(tensor.name) });
    return tensor.name;
  }

  /** An int64 constant, shared by every node that needs the same values. */
  i64(values: readonly number[]): string {
    return this.constant(`/const/i64/${values.join('_')}`, ElemType.INT64, [values.length], () => {
      const b = new BigInt64Array(values.map((v) => BigInt(v)));
      return new Uint8Array(b.buffer);
    });
  }

  /** An int64 scalar constant (rank 0), shared likewise (Range and Gather indices want rank 0). */
  i64Scalar(value: number): string {
    return this.constant(`/const/i64s/${value}`, ElemType.INT64, [], () => new Uint8Array(new BigInt64Array([BigInt(value)]).buffer));
  }

  /** A float32 scalar constant (rank 0), shared likewise. */
  f32(value: number): string {
    return this.constant(`/const/f32/${value}`, ElemType.FLOAT, [], () => {
      return new Uint8Array(new Float32Array([value]).buffer);
    });
  }

  private constant(name: string, elemType: ElemType, dims: number[], bytes: () => Uint8Array): string {
    const existing = this.constants.get(name);
    if (existing) return existing;
    this.initializer({ name, elemType, dims, raw: bytes() });
    this.constants.set(name, name);
    return name;
  }

  /**
   * Emit one node named `path`; returns its first output (`<path>/output_0`). Pass
   * `outputCount` for multi-output ops and read the rest with `outputsOf`.
   */
  op(
    path: string,
    opType: string,
    inputs: readonly string[],
    attributes: Readonly<Record<string, AttributeValue>> = {},
    opts: { outputCount?: number; outputNames?: string[]; domain?: string } = {},
  ): string {
    const outputs =
      opts.outputNames ?? Array.from({ length: opts.outputCount ?? 1 }, (_, i) => `${path}/output_${i}`);
    for (const o of outputs) this.claim(o);
    if (opts.domain) {
      if (!(opts.domain in DOMAIN_OPSETS)) throw new Error(`unknown operator domain ${opts.domain}`);
      this.domains.add(opts.domain);
    }
    this.nodes.push({ name: this.claim(`node:${path}`).slice(5), opType, domain: opts.domain, inputs, outputs, attributes });
    return outputs[0];
  }

  outputsOf(path: string, count: number): string[] {
    return Array.from({ length: count }, (_, i) => `${path}/output_${i}`);
  }

  toBytes(producerVersion: string): Uint8Array {
    return encodeModel({
      graph: {
        name: this.name,
        nodes: this.nodes,
        inputs: this.inputs,
        outputs: this.outputs,
        initializers: this.initializers,
      },
      opsets: { '': this.opset, ...Object.fromEntries([...this.domains].map((d) => [d, DOMAIN_OPSETS[d]])) },
      producerName: 'amp-prune',
      producerVersion,
    });
  }
}
