// GPU timing for benchmarks. Two clocks: timestamp queries around a compute pass (GPU time only, when the
// device has 'timestamp-query'), and wall time from submit to onSubmittedWorkDone (what a peer library that
// owns its own command encoders can be timed with). Each sample runs `reps` dispatches; we report medians.

import type { GpuDevice } from '../runtime/device.js';

export interface Timing { ms: number; samples: number[]; clock: 'timestamp' | 'wall' }

export interface TimeOptions {
  reps?: number; samples?: number; warmup?: number; clock?: 'timestamp' | 'wall';
  /** Keep running warm-up samples until this much time has passed: an idle GPU's clocks take a while to rise
   *  (H200: the same kernel measured 6.5 then 37 TFLOP/s, cold then warm). */
  warmupMs?: number;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n === 0 ? NaN : n % 2 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
}

/** Milliseconds per `encode` call: `reps` calls in one compute pass per sample, median over samples. */
export async function timePasses(gpu: GpuDevice, encode: (pass: GPUComputePassEncoder) => void, opts: TimeOptions = {}): Promise<Timing> {
  const reps = opts.reps ?? 5, samples = opts.samples ?? 5, warmup = opts.warmup ?? 1;
  const d = gpu.device;
  const useTs = (opts.clock ?? 'timestamp') === 'timestamp' && gpu.caps.timestampQuery;
  const qs = useTs ? d.createQuerySet({ type: 'timestamp', count: 2 }) : null;
  const resolve = useTs ? d.createBuffer({ size: 16, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC }) : null;
  const readback = useTs ? d.createBuffer({ size: 16, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST }) : null;
  const out: number[] = [];
  const tWarm = performance.now() + (opts.warmupMs ?? 0);
  try {
    for (let s = 0; out.length < samples; s++) {
      const enc = d.createCommandEncoder();
      const pass = enc.beginComputePass(qs ? { timestampWrites: { querySet: qs, beginningOfPassWriteIndex: 0, endOfPassWriteIndex: 1 } } : {});
      for (let r = 0; r < reps; r++) encode(pass);
      pass.end();
      if (qs && resolve && readback) {
        enc.resolveQuerySet(qs, 0, 2, resolve, 0);
        enc.copyBufferToBuffer(resolve, 0, readback, 0, 16);
      }
      const t0 = performance.now();
      d.queue.submit([enc.finish()]);
      await d.queue.onSubmittedWorkDone();
      const wall = performance.now() - t0;
      let ms = wall;
      if (readback) {
        await readback.mapAsync(GPUMapMode.READ);
        const t = new BigUint64Array(readback.getMappedRange().slice(0));
        readback.unmap();
        const ns = Number(t[1]! - t[0]!);
        if (ns > 0) ms = ns / 1e6;       // a zero or negative span (driver quirk) falls back to wall time
      }
      if (s >= warmup && performance.now() >= tWarm) out.push(ms / reps);   // else still warming up
    }
    gpu.check();
  } finally { qs?.destroy(); resolve?.destroy(); readback?.destroy(); }
  return { ms: median(out), samples: out, clock: useTs ? 'timestamp' : 'wall' };
}

/** Wall milliseconds per `run` call: `reps` calls, then `sync` (which must wait for the GPU), median over samples. */
export async function timeWall(run: () => void, sync: () => Promise<void>, opts: TimeOptions = {}): Promise<Timing> {
  const reps = opts.reps ?? 5, samples = opts.samples ?? 5, warmup = opts.warmup ?? 1;
  const out: number[] = [];
  for (let s = 0; s < warmup + samples; s++) {
    await sync();
    const t0 = performance.now();
    for (let r = 0; r < reps; r++) run();
    await sync();
    if (s >= warmup) out.push((performance.now() - t0) / reps);
  }
  return { ms: median(out), samples: out, clock: 'wall' };
}

/** Chooses reps so one sample lasts about `targetMs` given a first estimate (at least 1, at most `max`). */
export function repsFor(estimateMs: number, targetMs: number, max = 50): number {
  return Math.max(1, Math.min(max, Math.round(targetMs / Math.max(estimateMs, 1e-3))));
}

export const gflops = (flops: number, ms: number): number => flops / (ms * 1e6);
export const gbps = (bytes: number, ms: number): number => bytes / (ms * 1e6);
