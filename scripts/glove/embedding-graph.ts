/**
 * The ONNX graph of a bag-of-words embedding model shaped like a BERT encoder, so that the
 * transformers.js `feature-extraction` pipeline (and anything else that feeds a BERT model)
 * can run it:
 *
 *   input_ids, attention_mask, token_type_ids: int64 [batch, sequence]
 *   last_hidden_state: float32 [batch, sequence, hidden]
 *
 *   rows  = Cast(Gather(int8 table, input_ids)) * Gather(row scales, input_ids)   (dequantise)
 *   last_hidden_state = rows * Unsqueeze(Cast(attention_mask), 2)                   (padding -> 0)
 *
 * token_type_ids is declared because BERT tokenizers always produce it and callers pass it; the
 * graph does not read it. There is no attention and no position information: each token's
 * output is its word vector, so mean pooling gives the (SIF-weighted) mean of the word vectors.
 */
import { OnnxType, encodeOnnxModel, float32Bytes, int64Bytes, type OnnxModel } from '../onnx/onnx-model.js';
import type { QuantizedRows } from './word-weights.js';

export interface GraphInfo {
  dims: number;
  producerVersion: string;
  /** Free-text provenance stored in the model's metadata_props. */
  metadata: readonly (readonly [string, string])[];
}

export function embeddingGraph(table: QuantizedRows, info: GraphInfo): OnnxModel {
  const vocab = table.scales.length;
  const tokens = ['batch_size', 'sequence_length'] as const;
  return {
    // IR 7 / opset 13: old enough for any onnxruntime of the last years, new enough for
    // Unsqueeze taking its axes as an input.
    irVersion: 7,
    opsetVersion: 13,
    producerName: 'modelmora-build-glove-model',
    producerVersion: info.producerVersion,
    docString: 'Bag-of-words sentence embedding: SIF-weighted GloVe word vectors, int8 per-row quantised, masked by attention_mask.',
    metadata: info.metadata,
    graph: {
      name: 'glove_bag_of_words',
      initializers: [
        { name: 'word_vectors_int8', dataType: OnnxType.INT8, dims: [vocab, info.dims], raw: new Uint8Array(table.values.buffer, table.values.byteOffset, table.values.byteLength) },
        { name: 'word_vector_scales', dataType: OnnxType.FLOAT, dims: [vocab, 1], raw: float32Bytes(table.scales) },
        { name: 'mask_axis', dataType: OnnxType.INT64, dims: [1], raw: int64Bytes([2]) },
      ],
      inputs: [
        { name: 'input_ids', elemType: OnnxType.INT64, shape: tokens },
        { name: 'attention_mask', elemType: OnnxType.INT64, shape: tokens },
        { name: 'token_type_ids', elemType: OnnxType.INT64, shape: tokens },
      ],
      outputs: [{ name: 'last_hidden_state', elemType: OnnxType.FLOAT, shape: [...tokens, info.dims] }],
      nodes: [
        { opType: 'Gather', name: 'gather_rows', inputs: ['word_vectors_int8', 'input_ids'], outputs: ['rows_int8'], attributes: [{ name: 'axis', int: 0 }] },
        { opType: 'Gather', name: 'gather_scales', inputs: ['word_vector_scales', 'input_ids'], outputs: ['row_scales'], attributes: [{ name: 'axis', int: 0 }] },
        { opType: 'Cast', name: 'rows_to_float', inputs: ['rows_int8'], outputs: ['rows_float'], attributes: [{ name: 'to', int: OnnxType.FLOAT }] },
        { opType: 'Mul', name: 'dequantize', inputs: ['rows_float', 'row_scales'], outputs: ['rows'] },
        { opType: 'Cast', name: 'mask_to_float', inputs: ['attention_mask'], outputs: ['mask_float'], attributes: [{ name: 'to', int: OnnxType.FLOAT }] },
        { opType: 'Unsqueeze', name: 'mask_per_token', inputs: ['mask_float', 'mask_axis'], outputs: ['mask_3d'] },
        { opType: 'Mul', name: 'apply_mask', inputs: ['rows', 'mask_3d'], outputs: ['last_hidden_state'] },
      ],
    },
  };
}

export function encodeEmbeddingGraph(table: QuantizedRows, info: GraphInfo): Uint8Array {
  return encodeOnnxModel(embeddingGraph(table, info));
}
