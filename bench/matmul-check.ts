// Runs one emitted matmul kernel on a GpuDevice and compares it with a float64 CPU matmul. Shared by the
// tests (test/codegen-matmul), the benchmark and bench/gpu-check.ts, so all three check the same thing:
// output poisoned with NaN first (an unwritten element fails), error measured relative to Σ|a·b| per element.

import { f16round, getFloat16 } from '@petamoriken/float16';
import type { GpuDevice } from '../runtime/device.js';
import type { MatmulKernel, MatmulSpec } from '../compiler/codegen/matmul.js';

export function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return s / 2 ** 32; };
}

export function operandLengths(spec: MatmulSpec): { a: number; b: number; out: number } {
  const a = (spec.batch - 1) * spec.aBatchStride + spec.M * spec.K;
  const b = (spec.batch - 1) * spec.bBatchStride + spec.K * spec.N;
  return { a, b, out: spec.batch * spec.M * spec.N };
}

/** Random values in [-1, 1), rounded to f16 when the kernel reads f16 (so CPU and GPU see the same inputs). */
export function randomData(n: number, r: () => number, f16: boolean): Float64Array {
  const d = new Float64Array(n);
  for (let i = 0; i < n; i++) { const v = r() * 2 - 1; d[i] = f16 ? f16round(v) : Math.fround(v); }
  return d;
}

/** out[bi, m, n] = Σ_k A[bi, m, k] B[bi, k, n] in f64; also Σ|A·B| per element (the error scale). */
export function cpuMatmul(spec: MatmulSpec, A: Float64Array, B: Float64Array): { out: Float64Array; mag: Float64Array } {
  const { batch, M, N, K } = spec;
  const out = new Float64Array(batch * M * N), mag = new Float64Array(batch * M * N);
  for (let bi = 0; bi < batch; bi++) {
    const ao = bi * spec.aBatchStride, bo = bi * spec.bBatchStride;
    for (let m = 0; m < M; m++) for (let n = 0; n < N; n++) {
      let s = 0, t = 0;
      for (let k = 0; k < K; k++) {
        const a = A[ao + (spec.transA ? k * M + m : m * K + k)]!;
        const b = B[bo + (spec.transB ? n * K + k : k * N + n)]!;
        s += a * b; t += Math.abs(a * b);
      }
      out[(bi * M + m) * N + n] = s; mag[(bi * M + m) * N + n] = t;
    }
  }
  return { out, mag };
}

const f32 = new Float32Array(1), f32bits = new Uint32Array(f32.buffer);

/** IEEE half bits of `v` (via f32, round to nearest even): DataView.setFloat16's polyfill took 25 s per 16M values. */
export function toHalfBits(v: number): number {
  f32[0] = v;
  const x = f32bits[0]!, sign = (x >>> 16) & 0x8000, exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 112;                                  // rebias 127 → 15
  if (e >= 0x1f) return sign | 0x7c00;
  let shift = 13, h: number;
  if (e <= 0) {                                         // subnormal half
    if (e < -10) return sign;
    mant |= 0x800000; shift = 14 - e; h = mant >>> shift;
  } else h = (e << 10) | (mant >>> 13);
  const rem = mant & ((1 << shift) - 1), halfway = 1 << (shift - 1);
  if (rem > halfway || (rem === halfway && (h & 1))) h++;  // a carry into the exponent is still correct
  return sign | h;
}

export function pack(data: Float64Array, type: 'f32' | 'f16'): Uint8Array {
  const bytes = new Uint8Array(Math.ceil((data.length * (type === 'f16' ? 2 : 4)) / 16) * 16);
  if (type === 'f16') {
    const h = new Uint16Array(bytes.buffer);
    for (let i = 0; i < data.length; i++) h[i] = toHalfBits(data[i]!);
  } else new Float32Array(bytes.buffer, 0, data.length).set(data);
  return bytes;
}

export function unpack(buf: ArrayBuffer, n: number, type: 'f32' | 'f16'): Float64Array {
  const view = new DataView(buf), out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = type === 'f16' ? getFloat16(view, i * 2, true) : view.getFloat32(i * 4, true);
  return out;
}

export interface MatmulBuffers { a: GPUBuffer; b: GPUBuffer; out: GPUBuffer; extra: GPUBuffer[]; bindGroup: GPUBindGroup; pipeline: GPUComputePipeline }

/** Buffers sized for `spec` (rounded up to 16 bytes for vec4 bindings), the pipeline and its bind group. */
export async function prepare(gpu: GpuDevice, spec: MatmulSpec, kernel: MatmulKernel, extra: Uint8Array[] = []): Promise<MatmulBuffers> {
  const len = operandLengths(spec);
  const size = (n: number, t: 'f32' | 'f16') => Math.ceil((n * (t === 'f16' ? 2 : 4)) / 16) * 16;
  const a = gpu.buffer(size(len.a, spec.inType), `${spec.name}.a`);
  const b = gpu.buffer(size(len.b, spec.inType), `${spec.name}.b`);
  const out = gpu.buffer(size(len.out, spec.outType), `${spec.name}.out`);
  const ex = extra.map((d, i) => { const buf = gpu.buffer(d.byteLength, `${spec.name}.x${i}`); gpu.write(buf, d); return buf; });
  const pipeline = await gpu.pipeline(`${spec.name}.${kernel.variant}`, kernel.wgsl);
  const bindGroup = gpu.device.createBindGroup({
    layout: pipeline.getBindGroupLayout(0),
    entries: [a, b, out, ...ex].map((buffer, binding) => ({ binding, resource: { buffer } })),
  });
  return { a, b, out, extra: ex, bindGroup, pipeline };
}

export function encodeDispatch(pass: GPUComputePassEncoder, bufs: MatmulBuffers, kernel: MatmulKernel): void {
  pass.setPipeline(bufs.pipeline);
  pass.setBindGroup(0, bufs.bindGroup);
  pass.dispatchWorkgroups(...kernel.workgroups);
}

export function destroy(bufs: MatmulBuffers): void {
  for (const b of [bufs.a, bufs.b, bufs.out, ...bufs.extra]) b.destroy();
}

export interface CheckResult { maxErr: number; bad: number; firstBad: string | null }

/**
 * Runs `kernel` on random inputs and compares with the CPU. `epilogue` (optional) gives the extra buffers'
 * contents and a CPU version of the epilogue expression.
 */
export async function checkMatmul(gpu: GpuDevice, spec: MatmulSpec, kernel: MatmulKernel, tol: number, seed = 1,
  epilogue?: { buffers: Float64Array[]; cpu: (acc: number, bi: number, row: number, col: number) => number }): Promise<CheckResult> {
  const r = rng(seed), len = operandLengths(spec), f16 = spec.inType === 'f16';
  const A = randomData(len.a, r, f16), B = randomData(len.b, r, f16);
  const bufs = await prepare(gpu, spec, kernel, (epilogue?.buffers ?? []).map((d) => pack(d, 'f32')));
  try {
    gpu.write(bufs.a, pack(A, spec.inType));
    gpu.write(bufs.b, pack(B, spec.inType));
    gpu.write(bufs.out, pack(new Float64Array(len.out).fill(NaN), spec.outType));
    const enc = gpu.device.createCommandEncoder();
    const pass = enc.beginComputePass();
    encodeDispatch(pass, bufs, kernel);
    pass.end();
    gpu.device.queue.submit([enc.finish()]);
    const got = unpack(await gpu.read(bufs.out), len.out, spec.outType);
    const { out: want, mag } = cpuMatmul(spec, A, B);
    let maxErr = 0, bad = 0, firstBad: string | null = null;
    for (let i = 0; i < len.out; i++) {
      const row = Math.floor(i / spec.N) % spec.M, col = i % spec.N, bi = Math.floor(i / (spec.M * spec.N));
      let w = want[i]!, scale = mag[i]! + 1e-6;
      if (epilogue) { const e = epilogue.cpu(w, bi, row, col); scale += Math.abs(e - w); w = e; }
      const err = Math.abs(got[i]! - w) / scale;
      if (!(err <= tol)) {
        bad++;
        if (!firstBad) firstBad = `[${bi},${row},${col}] got ${got[i]} want ${w}`;
      }
      if (!(err <= maxErr)) maxErr = Number.isNaN(err) ? Infinity : Math.max(maxErr, err);
    }
    return { maxErr, bad, firstBad };
  } finally { destroy(bufs); }
}
