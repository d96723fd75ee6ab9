// GPU buffer pool: programs allocate their buffers here and give them back on destroy, so compiling a new
// program (a different batch shape, an eval graph) on the same device reuses memory instead of growing.
// Also the f16 <-> f32 conversions for reading and writing f16 storage.

import type { GpuDevice } from './device.js';
import type { DType } from '../compiler/ir/node.js';

export class BufferPool {
  private readonly free = new Map<number, GPUBuffer[]>();
  constructor(private readonly dev: GpuDevice) {}

  acquire(bytes: number, label?: string): GPUBuffer {
    const size = Math.max(4, Math.ceil(bytes / 4) * 4);
    const hit = this.free.get(size)?.pop();
    return hit ?? this.dev.buffer(size, label);
  }

  release(buf: GPUBuffer): void {
    const l = this.free.get(buf.size) ?? [];
    l.push(buf);
    this.free.set(buf.size, l);
  }

  destroy(): void {
    for (const l of this.free.values()) for (const b of l) b.destroy();
    this.free.clear();
  }
}

const pools = new WeakMap<GpuDevice, BufferPool>();
export function poolFor(dev: GpuDevice): BufferPool {
  let p = pools.get(dev);
  if (!p) { p = new BufferPool(dev); pools.set(dev, p); }
  return p;
}

/** IEEE half → float. */
export function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1, e = (h >> 10) & 0x1f, m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

/** float → IEEE half (round to nearest even). */
export function floatToHalf(v: number): number {
  const f = new Float32Array(1), u = new Uint32Array(f.buffer);
  f[0] = v;
  const x = u[0]!;
  const sign = (x >>> 16) & 0x8000;
  let e = ((x >>> 23) & 0xff) - 127 + 15;
  let m = x & 0x7fffff;
  if (((x >>> 23) & 0xff) === 0xff) return sign | 0x7c00 | (m ? 0x200 : 0);
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    m = (m | 0x800000) >> (1 - e);
    return sign | ((m + 0xfff + ((m >> 13) & 1)) >> 13);
  }
  const r = (e << 10) | (m >> 13);
  const rem = m & 0x1fff;
  return sign | (rem > 0x1000 || (rem === 0x1000 && (r & 1)) ? r + 1 : r);
}

/** Typed data → bytes in the buffer's storage dtype. */
export function encode(dtype: DType, data: ArrayLike<number>, bytes: number): ArrayBuffer {
  const out = new ArrayBuffer(bytes);
  if (dtype === 'f32') new Float32Array(out).set(data);
  else if (dtype === 'i32') new Int32Array(out).set(data);
  else if (dtype === 'u32') new Uint32Array(out).set(data);
  else { const h = new Uint16Array(out); for (let i = 0; i < data.length; i++) h[i] = floatToHalf(data[i]!); }
  return out;
}

/** Bytes in storage dtype → Float32Array (floats) or Int32Array (ints), `n` elements. */
export function decode(dtype: DType, buf: ArrayBuffer, n: number): Float32Array | Int32Array {
  if (dtype === 'f32') return new Float32Array(buf, 0, n);
  if (dtype === 'i32') return new Int32Array(buf, 0, n);
  if (dtype === 'u32') return Int32Array.from(new Uint32Array(buf, 0, n));
  const h = new Uint16Array(buf, 0, n);
  return Float32Array.from(h, halfToFloat);
}
