import { InferenceSession, Tensor } from 'onnxruntime-node';
import { ModelMoraError } from '../../domain/errors.js';

/**
 * Float tensors in and out of onnxruntime, in whatever float type a graph declares: diffusion
 * repos ship fp32 and fp16 exports. The pipeline works in float32 and converts at the edges.
 */

export type TensorMetadata = InferenceSession.TensorValueMetadata;

export function inputOf(session: InferenceSession, name: string, part: string): TensorMetadata {
  const meta = session.inputMetadata.find((m) => m.name === name);
  if (!meta || !meta.isTensor) throw new ModelMoraError('MODEL_LOAD_FAILED', `${part}/model.onnx has no '${name}' input`);
  return meta;
}

export function floatTensor(type: Tensor.Type, data: Float32Array, dims: readonly number[]): Tensor {
  switch (type) {
    case 'float32':
      return new Tensor('float32', data, dims);
    case 'float16':
      return new Tensor('float16', toHalf(data), dims);
    default:
      throw new ModelMoraError('INFERENCE_FAILED', `Unsupported float input type '${type}'`);
  }
}

/** A number tensor of the graph's type: timesteps may be float or int64, ids int32 or int64. */
export function numberTensor(type: Tensor.Type, values: ArrayLike<number>, dims: readonly number[]): Tensor {
  switch (type) {
    case 'int64':
      // numpy's astype(int64) truncates toward zero, as diffusers' ONNX pipeline does for timesteps.
      return new Tensor('int64', BigInt64Array.from(Array.from(values, (v) => BigInt(Math.trunc(v)))), dims);
    case 'int32':
      return new Tensor('int32', Int32Array.from(Array.from(values, (v) => Math.trunc(v))), dims);
    default:
      return floatTensor(type, Float32Array.from(values), dims);
  }
}

export function floatData(tensor: Tensor): Float32Array {
  if (tensor.type === 'float32') return tensor.data as Float32Array;
  if (tensor.type === 'float16') {
    const data = tensor.data as unknown;
    if (data instanceof Uint16Array) return fromHalf(data);
    return Float32Array.from(data as ArrayLike<number>);
  }
  throw new ModelMoraError('INFERENCE_FAILED', `Unexpected output type '${tensor.type}'`);
}

const scratch = new DataView(new ArrayBuffer(4));

/** float32 -> IEEE half bits, round to nearest even. */
export function toHalf(values: Float32Array): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) {
    scratch.setFloat32(0, values[i]!);
    const x = scratch.getUint32(0);
    const sign = (x >>> 16) & 0x8000;
    const exp = (x >>> 23) & 0xff;
    let mant = x & 0x7fffff;
    if (exp === 0xff) {
      out[i] = sign | 0x7c00 | (mant ? 0x200 : 0);
      continue;
    }
    const e = exp - 127 + 15;
    if (e >= 0x1f) {
      out[i] = sign | 0x7c00;
      continue;
    }
    if (e <= 0) {
      if (e < -10) {
        out[i] = sign;
        continue;
      }
      mant |= 0x800000;
      const shift = 14 - e;
      let half = mant >>> shift;
      const rest = mant & ((1 << shift) - 1);
      const halfway = 1 << (shift - 1);
      if (rest > halfway || (rest === halfway && (half & 1))) half++;
      out[i] = sign | half;
      continue;
    }
    let half = (e << 10) | (mant >>> 13);
    const rest = mant & 0x1fff;
    if (rest > 0x1000 || (rest === 0x1000 && (half & 1))) half++;
    out[i] = sign | half;
  }
  return out;
}

export function fromHalf(bits: Uint16Array): Float32Array {
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) {
    const h = bits[i]!;
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >>> 10) & 0x1f;
    const mant = h & 0x3ff;
    if (exp === 0) out[i] = sign * mant * 2 ** -24;
    else if (exp === 0x1f) out[i] = mant ? NaN : sign * Infinity;
    else out[i] = sign * (1 + mant / 1024) * 2 ** (exp - 15);
  }
  return out;
}
