// `mm doctor`: what WebGPU adapter this machine gives us, its features and limits, and a self-test that
// runs real kernels: a vec4 copy (bandwidth) and a matmul from our code generator checked against the CPU.

import { parseFlags, type IO } from './io.js';
import { openDevice, type GpuDevice } from '../runtime/device.js';
import { emitMatmul, kernelCaps } from '../compiler/index.js';
import { adapterKey, readTuning, tuningPath } from '../runtime/tuning.js';

const HELP = `usage: mm doctor [--json]

Opens the WebGPU adapter (Dawn over Vulkan), prints its features, limits and subgroup-matrix configs,
then runs a self-test: a vec4 copy kernel (GB/s) and a matmul checked against the CPU.`;

interface SelfTest { name: string; ok: boolean; detail: string; value?: number; unit?: string }

export async function run(argv: string[], io: IO): Promise<number> {
  const { flags } = parseFlags(argv, { json: 'boolean', help: 'boolean' });
  if (flags.help) { io.stdout(HELP); return 0; }
  const dev = await openDevice();
  const tests = [await copyTest(dev), await matmulTest(dev)];
  const ok = tests.every((t) => t.ok);
  const path = tuningPath();
  const tuned = path ? Object.keys(readTuning(path)[adapterKey(dev.caps)] ?? {}).length : 0;
  const tuning = { path, shapes: tuned };
  if (flags.json) {
    io.stdout(JSON.stringify({ adapter: dev.caps, selfTest: tests, tuning, ok }, null, 2));
    return ok ? 0 : 2;
  }
  const c = dev.caps;
  const L = c.limits;
  io.stdout([
    `adapter      ${c.description || c.device} (vendor ${c.vendor}, ${c.architecture}, ${c.backend}${c.software && c.architecture !== 'software' ? ', software' : ''})`,
    `features     ${c.features.join(', ')}`,
    `f16          ${c.f16 ? 'yes' : 'no'}`,
    `subgroups    ${c.subgroups ? `yes, size ${c.subgroupMinSize}–${c.subgroupMaxSize}` : 'no'}`,
    `subgroup-matrix ${c.subgroupMatrixConfigs.length ? c.subgroupMatrixConfigs.map((m) => `${m.componentType}→${m.resultComponentType} ${m.M}×${m.N}×${m.K}`).join(', ') : 'none'}`,
    `limits       storage buffers/stage ${L.maxStorageBuffersPerShaderStage}, max binding ${fmtBytes(L.maxStorageBufferBindingSize ?? 0)}, ` +
      `workgroup memory ${fmtBytes(L.maxComputeWorkgroupStorageSize ?? 0)}, invocations ${L.maxComputeInvocationsPerWorkgroup}`,
    `tuning       ${path === null ? 'off (MM_TUNING=off)' : tuned ? `${tuned} matmul shapes tuned for this adapter (${path})` : `none stored for this adapter (\`mm bench tune\` fills ${path})`}`,
    '',
    'self-test',
    ...tests.map((t) => `  ${t.ok ? 'ok  ' : 'FAIL'} ${t.name.padEnd(22)} ${t.detail}`),
  ].join('\n'));
  return ok ? 0 : 2;
}

function fmtBytes(n: number): string {
  if (n >= 2 ** 30) return `${(n / 2 ** 30).toFixed(1)} GiB`;
  if (n >= 2 ** 20) return `${(n / 2 ** 20).toFixed(0)} MiB`;
  return `${(n / 2 ** 10).toFixed(0)} KiB`;
}

async function copyTest(dev: GpuDevice): Promise<SelfTest> {
  const n4 = (dev.caps.software ? 4 : 64) * 2 ** 20 / 16;     // vec4<f32> elements: 4 MiB on CPU, 64 MiB on a GPU
  const wgsl = `@group(0) @binding(0) var<storage, read> src: array<vec4f>;
@group(0) @binding(1) var<storage, read_write> dst: array<vec4f>;
@compute @workgroup_size(256) fn main(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let i = id.x + id.y * nw.x * 256u;
  if (i < arrayLength(&src)) { dst[i] = src[i]; }
}`;
  const pipe = await dev.pipeline('doctor_copy', wgsl);
  const src = dev.buffer(n4 * 16), dst = dev.buffer(n4 * 16);
  const data = new Float32Array(n4 * 4);
  for (let i = 0; i < data.length; i++) data[i] = i % 1013;
  dev.write(src, data);
  const bind = dev.device.createBindGroup({ layout: pipe.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer: src } }, { binding: 1, resource: { buffer: dst } }] });
  const groups = Math.ceil(n4 / 256);
  const gx = Math.min(groups, 65535), gy = Math.ceil(groups / gx);
  const dispatch = (reps: number) => {
    const enc = dev.device.createCommandEncoder();
    const pass = enc.beginComputePass();
    pass.setPipeline(pipe); pass.setBindGroup(0, bind);
    for (let r = 0; r < reps; r++) pass.dispatchWorkgroups(gx, gy);
    pass.end();
    dev.device.queue.submit([enc.finish()]);
  };
  dispatch(1); await dev.sync();
  const reps = dev.caps.software ? 3 : 50;
  const t0 = performance.now(); dispatch(reps); await dev.sync(); const dt = (performance.now() - t0) / 1e3;
  const out = new Float32Array(await dev.read(dst));
  let bad = 0;
  for (let i = 0; i < data.length; i++) if (out[i] !== data[i]) bad++;
  const gbs = (2 * n4 * 16 * reps) / dt / 1e9;
  src.destroy(); dst.destroy();
  return { name: 'vec4 copy', ok: bad === 0, value: gbs, unit: 'GB/s', detail: bad ? `${bad} wrong elements` : `${gbs.toFixed(1)} GB/s (read + write, ${fmtBytes(n4 * 16)})` };
}

async function matmulTest(dev: GpuDevice): Promise<SelfTest> {
  const M = 67, N = 45, K = 129;                              // odd sizes exercise the bounds checks
  const spec = { name: 'doctor_matmul', batch: 1, M, N, K, transA: false, transB: false, aBatchStride: M * K, bBatchStride: K * N, inType: 'f32' as const, outType: 'f32' as const };
  const { wgsl, workgroups, variant } = emitMatmul(spec, kernelCaps(dev.caps));
  const pipe = await dev.pipeline(spec.name, wgsl);
  const a = Float32Array.from({ length: M * K }, (_, i) => Math.sin(i * 0.37));
  const b = Float32Array.from({ length: K * N }, (_, i) => Math.cos(i * 0.11));
  const ba = dev.buffer(a.byteLength), bb = dev.buffer(b.byteLength), bo = dev.buffer(M * N * 4);
  dev.write(ba, a); dev.write(bb, b); dev.write(bo, new Float32Array(M * N).fill(NaN));
  const bind = dev.device.createBindGroup({ layout: pipe.getBindGroupLayout(0), entries: [ba, bb, bo].map((buffer, binding) => ({ binding, resource: { buffer } })) });
  const enc = dev.device.createCommandEncoder();
  const pass = enc.beginComputePass();
  pass.setPipeline(pipe); pass.setBindGroup(0, bind); pass.dispatchWorkgroups(...workgroups); pass.end();
  dev.device.queue.submit([enc.finish()]);
  const out = new Float32Array(await dev.read(bo));
  let maxErr = 0;
  for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) {
    let s = 0;
    for (let k = 0; k < K; k++) s += a[i * K + k]! * b[k * N + j]!;
    const e = Math.abs(out[i * N + j]! - s) / (1 + Math.abs(s));
    maxErr = Number.isNaN(e) ? Infinity : Math.max(maxErr, e);
  }
  ba.destroy(); bb.destroy(); bo.destroy();
  return { name: `matmul ${M}×${K}×${N}`, ok: maxErr < 1e-5, value: maxErr, detail: `max rel. error ${maxErr.toExponential(1)} vs CPU (variant ${variant})` };
}
