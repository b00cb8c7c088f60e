/**
 * ONNX ModelProto serialisation from a plain description of a graph. Field numbers follow
 * onnx/onnx.proto (IR version 8); only the parts amp-prune emits are covered.
 */
import { ProtoWriter } from './protobuf.js';

/** TensorProto.DataType values we use. */
export enum ElemType {
  FLOAT = 1,
  UINT8 = 2,
  INT8 = 3,
  INT32 = 6,
  INT64 = 7,
  BOOL = 9,
  FLOAT16 = 10,
  DOUBLE = 11,
  BFLOAT16 = 16,
}

export type Dim = number | string;

export interface ValueInfo {
  name: string;
  elemType: ElemType;
  /** Absent: shape unknown (subgraph outputs whose shape onnxruntime infers). */
  dims?: readonly Dim[];
}

export interface ExternalLocation {
  location: string;
  offset: number;
  length: number;
}

export interface TensorValue {
  name: string;
  elemType: ElemType;
  dims: readonly number[];
  /** Little-endian element bytes. Exactly one of raw / external is set. */
  raw?: Uint8Array;
  external?: ExternalLocation;
}

export type AttributeValue =
  | { kind: 'int'; value: number }
  | { kind: 'float'; value: number }
  | { kind: 'string'; value: string }
  | { kind: 'ints'; value: readonly number[] }
  | { kind: 'floats'; value: readonly number[] }
  | { kind: 'tensor'; value: TensorValue }
  | { kind: 'graph'; value: GraphDef };

export interface NodeDef {
  name: string;
  opType: string;
  domain?: string;
  inputs: readonly string[];
  outputs: readonly string[];
  attributes: Readonly<Record<string, AttributeValue>>;
}

export interface GraphDef {
  name: string;
  nodes: readonly NodeDef[];
  inputs: readonly ValueInfo[];
  outputs: readonly ValueInfo[];
  initializers: readonly TensorValue[];
}

export interface ModelDef {
  graph: GraphDef;
  opsets: Readonly<Record<string, number>>;
  producerName: string;
  producerVersion: string;
}

const IR_VERSION = 8;

const AttributeType = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, GRAPH: 5, FLOATS: 6, INTS: 7 } as const;

function encodeTensor(t: TensorValue): ProtoWriter {
  const w = new ProtoWriter();
  if (t.dims.length > 0) w.packedVarints(1, t.dims);
  w.varint(2, t.elemType);
  w.string(8, t.name);
  if (t.raw) {
    w.bytes(9, t.raw);
  } else if (t.external) {
    for (const [key, value] of [
      ['location', t.external.location],
      ['offset', String(t.external.offset)],
      ['length', String(t.external.length)],
    ]) {
      w.message(13, new ProtoWriter().string(1, key).string(2, value));
    }
    w.varint(14, 1); // data_location = EXTERNAL
  } else {
    throw new Error(`tensor ${t.name} has neither raw nor external data`);
  }
  return w;
}

function encodeValueInfo(v: ValueInfo): ProtoWriter {
  const tensorType = new ProtoWriter().varint(1, v.elemType);
  if (v.dims) {
    const shape = new ProtoWriter();
    for (const d of v.dims) {
      const dim = new ProtoWriter();
      if (typeof d === 'number') dim.varint(1, d);
      else dim.string(2, d);
      shape.message(1, dim);
    }
    tensorType.message(2, shape);
  }
  const type = new ProtoWriter().message(1, tensorType);
  return new ProtoWriter().string(1, v.name).message(2, type);
}

function encodeAttribute(name: string, a: AttributeValue): ProtoWriter {
  const w = new ProtoWriter().string(1, name);
  switch (a.kind) {
    case 'float':
      return w.float(2, a.value).varint(20, AttributeType.FLOAT);
    case 'int':
      return w.varint(3, a.value).varint(20, AttributeType.INT);
    case 'string':
      return w.string(4, a.value).varint(20, AttributeType.STRING);
    case 'tensor':
      return w.message(5, encodeTensor(a.value)).varint(20, AttributeType.TENSOR);
    case 'floats':
      return w.packedFloats(7, a.value).varint(20, AttributeType.FLOATS);
    case 'ints':
      return w.packedVarints(8, a.value).varint(20, AttributeType.INTS);
    case 'graph':
      return w.message(6, encodeGraph(a.value)).varint(20, AttributeType.GRAPH);
  }
}

function encodeNode(n: NodeDef): ProtoWriter {
  const w = new ProtoWriter();
  for (const i of n.inputs) w.string(1, i);
  for (const o of n.outputs) w.string(2, o);
  w.string(3, n.name).string(4, n.opType);
  for (const [name, a] of Object.entries(n.attributes)) w.message(5, encodeAttribute(name, a));
  if (n.domain) w.string(7, n.domain);
  return w;
}

function encodeGraph(g: GraphDef): ProtoWriter {
  const w = new ProtoWriter();
  for (const n of g.nodes) w.message(1, encodeNode(n));
  w.string(2, g.name);
  for (const t of g.initializers) w.message(5, encodeTensor(t));
  for (const i of g.inputs) w.message(11, encodeValueInfo(i));
  for (const o of g.outputs) w.message(12, encodeValueInfo(o));
  return w;
}

/** Serialise a model to ONNX protobuf bytes. */
export function encodeModel(m: ModelDef): Uint8Array {
  const w = new ProtoWriter().varint(1, IR_VERSION);
  w.string(2, m.producerName).string(3, m.producerVersion);
  w.message(7, encodeGraph(m.graph));
  for (const [domain, version] of Object.entries(m.opsets)) {
    const opset = new ProtoWriter();
    if (domain) opset.string(1, domain);
    opset.varint(2, version);
    w.message(8, opset);
  }
  return w.finish();
}
