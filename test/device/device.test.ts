// The device layer on the real adapter (lavapipe in CI): capabilities, a kernel against the CPU with poisoned
// outputs, typed WGSL errors with line numbers, and a garbage-collection stress run in a child process.
import { beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { WgslError, type GpuDevice } from '../../runtime/device.js';
import { gpu, randomArray } from '../helpers/gpu.js';

let dev: GpuDevice;
beforeAll(async () => { dev = await gpu(); });

describe('device', () => {
  it('opens and reports its capabilities', () => {
    const c = dev.caps;
    expect(c.vendor.length).toBeGreaterThan(0);
    expect(c.limits.maxStorageBuffersPerShaderStage).toBeGreaterThanOrEqual(8);
    expect(c.limits.maxComputeInvocationsPerWorkgroup).toBeGreaterThanOrEqual(256);
    if (c.subgroups) expect(c.subgroupMinSize).toBeGreaterThan(0);
    // The capability record is what codegen reads: the device must really have what it claims.
    expect(dev.device.features.has('shader-f16')).toBe(c.f16);
  });

  it('runs a kernel whose output equals the CPU on random input (outputs poisoned first)', async () => {
    const n = 10_007;                             // not a multiple of the workgroup size
    const x = randomArray(n, 1), y = randomArray(n, 2);
    const wgsl = `@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> y: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) id: vec3u) {
  let i = id.x;
  if (i < arrayLength(&out)) { out[i] = x[i] * y[i] + exp(x[i]); }
}`;
    const pipe = await dev.pipeline('fma_exp', wgsl);
    const bx = dev.buffer(n * 4), by = dev.buffer(n * 4), bo = dev.buffer(n * 4);
    dev.write(bx, x); dev.write(by, y); dev.write(bo, new Float32Array(n).fill(NaN));
    const bind = dev.device.createBindGroup({ layout: pipe.getBindGroupLayout(0), entries: [bx, by, bo].map((buffer, binding) => ({ binding, resource: { buffer } })) });
    const enc = dev.device.createCommandEncoder();
    const pass = enc.beginComputePass();
    pass.setPipeline(pipe); pass.setBindGroup(0, bind); pass.dispatchWorkgroups(Math.ceil(n / 64)); pass.end();
    dev.device.queue.submit([enc.finish()]);
    const out = new Float32Array(await dev.read(bo));
    for (let i = 0; i < n; i++) {
      const want = x[i]! * y[i]! + Math.exp(x[i]!);
      expect(Math.abs(out[i]! - want)).toBeLessThanOrEqual(1e-5 * (1 + Math.abs(want)));
    }
  });

  it('reports a broken kernel as a WgslError with the line of the fault', async () => {
    const wgsl = '@compute @workgroup_size(1)\nfn main() {\n  let a: f32 = 1.0;\n  let b: f32 = a + missing_value;\n}';
    const err = await dev.pipeline('broken', wgsl).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WgslError);
    const w = err as WgslError;
    expect(w.kernel).toBe('broken');
    expect(w.messages[0]!.line).toBe(4);
    expect(w.message).toContain('broken.wgsl:4:');
    expect(w.message).toContain('missing_value');
  });

  it('caches pipelines by WGSL text', async () => {
    const wgsl = '@compute @workgroup_size(1) fn main() {}';
    const a = await dev.pipeline('k1', wgsl);
    const b = await dev.pipeline('k2', wgsl);
    expect(a).toBe(b);
  });

  it('survives many allocate/dispatch/read cycles with forced garbage collection', () => {
    const script = fileURLToPath(new URL('./gc-stress.ts', import.meta.url));
    const r = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', script, '200'], { encoding: 'utf8', timeout: 120_000 });
    expect(r.stderr.split('\n').filter((l) => !l.startsWith('Warning:') && l.trim()).join('\n')).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe('ok 200');
  });
});
