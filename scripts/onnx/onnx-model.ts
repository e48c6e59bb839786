/**
 * Describe a small ONNX model as plain data and encode it as a ModelProto. Covers what the
 * project's generated models use (dense initializers in raw_data, int/ints/float/string
 * attributes, tensor inputs and outputs with fixed or named dimensions); field numbers follow
 * onnx/onnx.proto3.
 */
import { ProtoWriter } from './protobuf-writer.js';

/** TensorProto.DataType values. */
export const OnnxType = {
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  INT32: 6,
  INT64: 7,
  BOOL: 9,
} as const;
export type OnnxTypeCode = (typeof OnnxType)[keyof typeof OnnxType];

export interface OnnxTensor {
  name: string;
  dataType: OnnxTypeCode;
  dims: readonly number[];
  /** Little-endian element bytes, row-major. */
  raw: Uint8Array;
  /**
   * Stored outside the model (data_location EXTERNAL): `raw` is then not written, the tensor
   * names a file relative to the model instead (used to build hostile fixtures too).
   */
  external?: { location: string; offset?: number; length?: number };
}

/** A dimension is a fixed size or a symbolic name such as "batch". */
export type OnnxDim = number | string;

export interface OnnxValueInfo {
  name: string;
  elemType: OnnxTypeCode;
  shape: readonly OnnxDim[];
}

export type OnnxAttribute =
  | { name: string; int: number }
  | { name: string; ints: readonly number[] }
  | { name: string; float: number }
  | { name: string; string: string };

export interface OnnxNode {
  opType: string;
  name: string;
  inputs: readonly string[];
  outputs: readonly string[];
  attributes?: readonly OnnxAttribute[];
}

export interface OnnxGraph {
  name: string;
  nodes: readonly OnnxNode[];
  initializers: readonly OnnxTensor[];
  inputs: readonly OnnxValueInfo[];
  outputs: readonly OnnxValueInfo[];
}

export interface OnnxModel {
  irVersion: number;
  opsetVersion: number;
  producerName: string;
  producerVersion: string;
  docString?: string;
  /** Written in the given order, so callers control byte layout. */
  metadata?: readonly (readonly [string, string])[];
  graph: OnnxGraph;
}

// AttributeProto.AttributeType values.
const ATTR_FLOAT = 1;
const ATTR_INT = 2;
const ATTR_STRING = 3;
const ATTR_INTS = 7;

export function encodeOnnxModel(model: OnnxModel): Uint8Array {
  const w = new ProtoWriter();
  w.varint(1, model.irVersion);
  w.string(2, model.producerName);
  w.string(3, model.producerVersion);
  if (model.docString !== undefined) w.string(6, model.docString);
  w.message(7, (g) => writeGraph(g, model.graph));
  w.message(8, (o) => o.string(1, '').varint(2, model.opsetVersion));
  for (const [key, value] of model.metadata ?? []) {
    w.message(14, (e) => e.string(1, key).string(2, value));
  }
  return w.finish();
}

function writeGraph(w: ProtoWriter, graph: OnnxGraph): void {
  for (const node of graph.nodes) w.message(1, (n) => writeNode(n, node));
  w.string(2, graph.name);
  for (const tensor of graph.initializers) w.message(5, (t) => writeTensor(t, tensor));
  for (const input of graph.inputs) w.message(11, (v) => writeValueInfo(v, input));
  for (const output of graph.outputs) w.message(12, (v) => writeValueInfo(v, output));
}

function writeNode(w: ProtoWriter, node: OnnxNode): void {
  for (const input of node.inputs) w.string(1, input);
  for (const output of node.outputs) w.string(2, output);
  w.string(3, node.name);
  w.string(4, node.opType);
  for (const attr of node.attributes ?? []) w.message(5, (a) => writeAttribute(a, attr));
}

function writeAttribute(w: ProtoWriter, attr: OnnxAttribute): void {
  w.string(1, attr.name);
  if ('int' in attr) w.varint(3, attr.int).varint(20, ATTR_INT);
  else if ('ints' in attr) {
    for (const v of attr.ints) w.varint(8, v);
    w.varint(20, ATTR_INTS);
  } else if ('float' in attr) w.float(2, attr.float).varint(20, ATTR_FLOAT);
  else w.string(4, attr.string).varint(20, ATTR_STRING);
}

function writeTensor(w: ProtoWriter, tensor: OnnxTensor): void {
  const elements = tensor.dims.reduce((a, b) => a * b, 1);
  const width = elementWidth(tensor.dataType);
  if (tensor.raw.length !== elements * width) {
    throw new Error(`tensor ${tensor.name}: ${tensor.raw.length} bytes for ${elements} elements of width ${width}`);
  }
  for (const d of tensor.dims) w.varint(1, d);
  w.varint(2, tensor.dataType);
  w.string(8, tensor.name);
  if (tensor.external) {
    const { location, offset, length } = tensor.external;
    const entries: [string, string][] = [['location', location]];
    if (offset !== undefined) entries.push(['offset', String(offset)]);
    if (length !== undefined) entries.push(['length', String(length)]);
    for (const [key, value] of entries) w.message(13, (e) => e.string(1, key).string(2, value));
    w.varint(14, 1); // DataLocation.EXTERNAL
  } else {
    w.bytes(9, tensor.raw);
  }
}

function writeValueInfo(w: ProtoWriter, info: OnnxValueInfo): void {
  w.string(1, info.name);
  w.message(2, (type) =>
    type.message(1, (tensorType) => {
      tensorType.varint(1, info.elemType);
      tensorType.message(2, (shape) => {
        for (const dim of info.shape) {
          shape.message(1, (d) => (typeof dim === 'number' ? d.varint(1, dim) : d.string(2, dim)));
        }
      });
    }),
  );
}

function elementWidth(type: OnnxTypeCode): number {
  switch (type) {
    case OnnxType.FLOAT:
    case OnnxType.INT32:
      return 4;
    case OnnxType.INT64:
      return 8;
    case OnnxType.UINT8:
    case OnnxType.INT8:
    case OnnxType.BOOL:
      return 1;
  }
}

/** Little-endian bytes of a float32 array, independent of the host's byte order. */
export function float32Bytes(values: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i] ?? 0, true);
  return out;
}

export function int64Bytes(values: readonly number[]): Uint8Array {
  const out = new Uint8Array(values.length * 8);
  const view = new DataView(out.buffer);
  values.forEach((v, i) => view.setBigInt64(i * 8, BigInt(v), true));
  return out;
}
