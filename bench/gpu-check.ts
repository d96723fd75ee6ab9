// Standalone check for a real GPU (run by hand on an H100/H200, not in CI): validates every matmul variant
// against the CPU, sweeps tile configurations at 4096³ (f32 tiled, f16 subgroup-matrix), times the best at
// 1024³/2048³, a 256 MiB vec4 copy, and optionally `mm bench kernels`; writes everything as JSON to --out.
// usage: node dist/bench/gpu-check.js --out gpu.json [--budget 240] [--bench] [--quick]

import { writeFileSync } from 'node:fs';
import { openDevice, type GpuDevice } from '../runtime/device.js';
import { kernelCaps, type KernelCaps } from '../compiler/codegen/caps.js';
import { emitMatmul, type MatmulKernel, type MatmulOptions, type MatmulSpec } from '../compiler/codegen/matmul.js';
import { checkMatmul, operandLengths, pack, randomData, rng, unpack } from './matmul-check.js';
import { gbps, repsFor, timePasses } from './harness.js';
import { copyKernel } from './simple-kernels.js';

const argv = process.argv.slice(2);
const arg = (name: string): string | undefined => { const i = argv.indexOf(name); return i >= 0 ? argv[i + 1] : undefined; };
const outPath = arg('--out') ?? 'gpu-check.json';
const budgetS = Number(arg('--budget') ?? 300);
const BIG = Number(arg('--size') ?? 4096);            // --size 256 to try the script on lavapipe
const t0 = performance.now();
const elapsed = () => (performance.now() - t0) / 1000;
const log = (s: string) => console.log(`[${elapsed().toFixed(1)}s] ${s}`);
const result: Record<string, unknown> = { date: new Date().toISOString() };
const save = () => writeFileSync(outPath, JSON.stringify(result, null, 2));
const errText = (e: unknown) => String((e as Error)?.message ?? e).slice(0, 2000);

function mk(p: Partial<MatmulSpec> & { M: number; N: number; K: number }): MatmulSpec {
  const batch = p.batch ?? 1;
  return { name: 'chk', batch, transA: false, transB: false, inType: 'f32', outType: 'f32', aBatchStride: p.M * p.K, bBatchStride: p.K * p.N, ...p };
}

// H200 run 1 (4096³): 128×128×32 38.0 TFLOP/s, 64×128×8 33.4, 128×128×16 31.1, 64×64×16 29.5, 128×64×8 27.3.
const TILED: MatmulOptions[] = [
  { variant: 'tiled' }, { variant: 'tiled', tile: 'small' }, { variant: 'tiled', tile: 'large' },
  { variant: 'tiled', tile: { BM: 64, BN: 128, BK: 32, TM: 4, TN: 8 } },
  { variant: 'tiled', tile: { BM: 64, BN: 64, BK: 32, TM: 4, TN: 4 } },
];
// H200 run 2 (4096³ f16): 256×128 4×2sg 141 TFLOP/s, 128×128 4×2sg 117, 64×128 2×2sg 100, 64×64 67, 2×4sg layouts 39-60.
const SGCFG = [
  'large', 'medium', 'small', { BM: 256, BN: 128, BK: 64, SGM: 4, SGN: 2 }, { BM: 256, BN: 256, BK: 32, SGM: 4, SGN: 4 },
  { BM: 128, BN: 256, BK: 32, SGM: 2, SGN: 4 }, { BM: 64, BN: 128, BK: 32, SGM: 2, SGN: 2 },
] as const;

async function validate(gpu: GpuDevice, caps: KernelCaps, sgApi: 'new' | 'old', sgSub: boolean): Promise<unknown[]> {
  const shapes = [
    mk({ M: 256, N: 256, K: 256 }), mk({ M: 300, N: 200, K: 130 }), mk({ M: 77, N: 500, K: 96, transA: true, transB: true }),
    mk({ batch: 3, M: 128, N: 192, K: 64, transB: true, bBatchStride: 0 }),
  ];
  // On a software adapter (a dry run of this script) the big unrolled tiles take minutes to compile: skip them.
  const variants: MatmulOptions[] = caps.software ? [{ variant: 'reg4' }, TILED[1]!]
    : [{ variant: 'reg4' }, ...TILED, ...SGCFG.map((t) => ({ variant: 'sgmat' as const, sgmat: { api: sgApi, tile: t, enableSubgroups: sgSub } }))];
  const out: unknown[] = [];
  for (const v of variants) {
    log(`validating ${JSON.stringify(v)}`);
    for (const s0 of shapes) for (const types of [['f32', 'f32'], ['f16', 'f32'], ['f16', 'f16']] as const) {
      const s = { ...s0, inType: types[0], outType: types[1] };
      if (types[0] === 'f16' && !caps.f16) continue;
      if (v.variant === 'sgmat' && types[0] !== 'f16') continue;
      if (v.variant !== 'sgmat' && types[1] === 'f16' && s0 !== shapes[1]) continue;   // keep the run short
      let k: MatmulKernel | null = null;
      try {
        k = emitMatmul(s, caps, v);
        const r = await checkMatmul(gpu, s, k, types[0] === 'f16' ? 1e-2 : 1e-5, 11);
        out.push({ variant: k.variant, shape: `${s.batch}x${s.M}x${s.N}x${s.K}${s.transA ? 'T' : ''}${s.transB ? 'T' : ''}`, types, ok: r.bad === 0, ...r });
        if (r.bad) log(`FAIL ${k.variant} ${JSON.stringify(types)} ${s.M}x${s.N}x${s.K}: ${r.bad} bad, ${r.firstBad}`);
      } catch (e) {
        out.push({ variant: k?.variant ?? JSON.stringify(v), types, ok: false, error: errText(e) });
        log(`ERROR ${k?.variant ?? JSON.stringify(v)}: ${errText(e).slice(0, 400)}`);
        break;
      }
    }
  }
  return out;
}

/** Times a set of kernels on one square problem; buffers made once; spot-checks 64 elements of each output. */
async function sweep(gpu: GpuDevice, caps: KernelCaps, n: number, inType: 'f32' | 'f16', opts: MatmulOptions[], targetMs = 60): Promise<{ variant: string; ms: number; tflops: number; spotErr: number }[]> {
  const spec = mk({ M: n, N: n, K: n, inType, outType: 'f32' });
  const len = operandLengths(spec), r = rng(9);
  const A = randomData(len.a, r, inType === 'f16'), B = randomData(len.b, r, inType === 'f16');
  const bytes = (x: number, t: string) => Math.ceil(x * (t === 'f16' ? 2 : 4) / 16) * 16;
  const a = gpu.buffer(bytes(len.a, inType)), b = gpu.buffer(bytes(len.b, inType)), o = gpu.buffer(bytes(len.out, 'f32'));
  gpu.write(a, pack(A, inType)); gpu.write(b, pack(B, inType));
  const rows: { variant: string; ms: number; tflops: number; spotErr: number }[] = [];
  for (const v of opts) {
    if (elapsed() > budgetS) { log('budget spent: sweep cut short'); break; }
    let k: MatmulKernel | null = null;
    try {
      k = emitMatmul(spec, caps, v);
      const pipeline = await gpu.pipeline(`sweep.${k.variant}`, k.wgsl);
      const bg = gpu.device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: [a, b, o].map((buffer, binding) => ({ binding, resource: { buffer } })) });
      const kk = k;
      const enc = (p: GPUComputePassEncoder) => { p.setPipeline(pipeline); p.setBindGroup(0, bg); p.dispatchWorkgroups(...kk.workgroups); };
      const first = await timePasses(gpu, enc, { reps: 1, samples: 1, warmup: 1, warmupMs: 300 });
      const t = await timePasses(gpu, enc, { reps: repsFor(first.ms, targetMs), samples: 5, warmup: 0 });
      const got = unpack(await gpu.read(o), len.out, 'f32');
      let spotErr = 0;
      const pr = rng(3);
      for (let i = 0; i < 64; i++) {
        const m = Math.floor(pr() * n), c = Math.floor(pr() * n);
        let s = 0, mag = 0;
        for (let q = 0; q < n; q++) { const p = A[m * n + q]! * B[q * n + c]!; s += p; mag += Math.abs(p); }
        spotErr = Math.max(spotErr, Math.abs(got[m * n + c]! - s) / (mag + 1e-6));
      }
      const tflops = 2 * n ** 3 / (t.ms * 1e9);
      rows.push({ variant: k.variant, ms: t.ms, tflops, spotErr });
      log(`${n}³ ${inType}: ${k.variant} ${tflops.toFixed(2)} TFLOP/s (${t.clock}, ${t.ms.toFixed(3)} ms) spot err ${spotErr.toExponential(1)}`);
    } catch (e) {
      rows.push({ variant: k?.variant ?? JSON.stringify(v), ms: NaN, tflops: 0, spotErr: NaN, ...{ error: errText(e) } });
      log(`ERROR ${k?.variant ?? JSON.stringify(v)}: ${errText(e).slice(0, 400)}`);
    }
  }
  a.destroy(); b.destroy(); o.destroy();
  return rows;
}

async function copyBandwidth(gpu: GpuDevice, per = 1, reps = 20): Promise<{ GBps: number; ms: number }> {
  // 256 MiB, or the largest binding the adapter allows (lavapipe: 128 MiB).
  const bytes = Math.min(256 * 2 ** 20, gpu.caps.limits.maxStorageBufferBindingSize ?? 256 * 2 ** 20);
  const k = copyKernel(bytes / 16, gpu.caps.limits.maxComputeWorkgroupsPerDimension, per);
  const x = gpu.buffer(bytes), y = gpu.buffer(bytes);
  const pipeline = await gpu.pipeline('copy', k.wgsl);
  const bg = gpu.device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: [x, y].map((buffer, binding) => ({ binding, resource: { buffer } })) });
  const t = await timePasses(gpu, (p) => { p.setPipeline(pipeline); p.setBindGroup(0, bg); p.dispatchWorkgroups(...k.workgroups); }, { reps, samples: 5 });
  x.destroy(); y.destroy();
  return { GBps: gbps(2 * bytes, t.ms), ms: t.ms };
}

async function main(): Promise<number> {
  const gpu = await openDevice();
  const caps = kernelCaps(gpu.caps);
  result.device = gpu.caps;
  log(`device: ${gpu.caps.vendor} ${gpu.caps.device} ${gpu.caps.description}; subgroups ${caps.subgroupMinSize}-${caps.subgroupMaxSize}; f16 ${caps.f16}; sgmat configs ${caps.subgroupMatrixConfigs.length}; wg storage ${caps.limits.maxComputeWorkgroupStorageSize}`);
  // Which subgroup-matrix builtin spelling does this Dawn take?
  let sgApi: 'new' | 'old' = 'new', sgSub = false;
  if (caps.subgroupMatrixConfigs.length > 0) {
    const s = mk({ M: 64, N: 64, K: 32, inType: 'f16' });
    const tries: Record<string, string> = {};
    for (const [api, sub] of [['new', false], ['old', false], ['new', true], ['old', true]] as const) {
      const key = `${api}${sub ? '+subgroups' : ''}`;
      try { const k = emitMatmul(s, caps, { variant: 'sgmat', sgmat: { api, tile: 'small', enableSubgroups: sub } }); await gpu.pipeline(`probe.${key}`, k.wgsl); tries[key] = 'ok'; }
      catch (e) { tries[key] = errText(e); }
    }
    result.sgmatApi = tries;
    const first = Object.keys(tries).find((k) => tries[k] === 'ok') ?? 'new';
    sgApi = first.startsWith('old') ? 'old' : 'new'; sgSub = first.includes('+subgroups');
    log(`subgroup-matrix API: ${JSON.stringify(tries).slice(0, 600)}`);
  }
  result.validation = await validate(gpu, caps, sgApi, sgSub); save();
  const v = result.validation as { ok: boolean }[];
  log(`validation: ${v.filter((x) => x.ok).length}/${v.length} ok`);
  // Warm the clocks first (run 1 measured 1.2 TB/s cold vs 3.2 warm for the same copy).
  try { await copyBandwidth(gpu, 1, 400); } catch { /* reported below */ }
  const copies: Record<string, unknown> = {};
  for (const per of [1, 2, 4, 8]) {
    try { copies[`per${per}`] = await copyBandwidth(gpu, per); log(`vec4 copy ${Math.min(256, (gpu.caps.limits.maxStorageBufferBindingSize ?? 2 ** 28) / 2 ** 20)} MiB, ${per}/thread: ${(copies[`per${per}`] as { GBps: number }).GBps.toFixed(0)} GB/s (read + write)`); }
    catch (e) { copies[`per${per}`] = { error: errText(e) }; }
  }
  result.copy = copies;
  save();
  const quick = argv.includes('--quick');
  const f32 = await sweep(gpu, caps, BIG, 'f32', quick || caps.software ? TILED.slice(0, 2) : TILED);
  result[`f32_${BIG}`] = f32; save();
  let f16: typeof f32 = [];
  if (caps.f16) {
    const sg = caps.subgroupMatrixConfigs.length ? SGCFG.map((t) => ({ variant: 'sgmat' as const, sgmat: { api: sgApi, tile: t, enableSubgroups: sgSub } })) : [];
    f16 = await sweep(gpu, caps, BIG, 'f16', [...(quick ? sg.slice(0, 2) : sg), { variant: 'tiled', tile: 'large' }]);
    result[`f16_${BIG}`] = f16; save();
  }
  const best = (rows: typeof f32) => rows.filter((r) => r.tflops > 0 && r.spotErr < 1e-2).sort((p, q) => q.tflops - p.tflops)[0];
  const optsOf = (variant: string | undefined, pool: MatmulOptions[]) => pool.filter((o) => { try { return emitMatmul(mk({ M: BIG, N: BIG, K: BIG, inType: o.variant === 'sgmat' ? 'f16' : 'f32' }), caps, o).variant === variant; } catch { return false; } });
  const sgPool: MatmulOptions[] = SGCFG.map((t) => ({ variant: 'sgmat', sgmat: { api: sgApi, tile: t, enableSubgroups: sgSub } }));
  for (const n of [BIG / 4, BIG / 2]) {
    result[`f32_${n}`] = await sweep(gpu, caps, n, 'f32', [{}, ...optsOf(best(f32)?.variant, TILED)]);
    if (caps.f16) result[`f16_${n}`] = await sweep(gpu, caps, n, 'f16', [{}, ...optsOf(best(f16)?.variant, [...sgPool, { variant: 'tiled', tile: 'large' }])]);
    save();
  }
  result.summary = { size: BIG, f32_best: best(f32), f16_best: best(f16), copy: result.copy };
  if (argv.includes('--bench') && elapsed() < budgetS) {
    const { benchKernels } = await import('./kernels.js');
    try { result.bench = await benchKernels(gpu, { quick: true, log }); } catch (e) { result.bench = { error: errText(e) }; }
  }
  save();
  log(`wrote ${outPath}`);
  return 0;
}

main().then((c) => process.exit(c), (e) => { result.fatal = errText(e); save(); console.error(e); process.exit(2); });
