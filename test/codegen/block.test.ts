// A LLaMA-style transformer block (rmsnorm, attention with rope and grouped KV, SwiGLU) on the real adapter:
// forward kernel count and values; backward (A's autodiff) gradients equal the reference's; f16 precision.
import { beforeAll, describe, expect, it } from 'vitest';
import { Graph } from '../../compiler/ir/graph.js';
import { grad } from '../../compiler/autodiff/grad.js';
import { compileProgram } from '../../compiler/codegen/compile.js';
import { programKernelsText } from '../../compiler/codegen/program.js';
import { kernelCaps } from '../../compiler/codegen/caps.js';
import { openDevice, type GpuDevice } from '../../runtime/device.js';
import { check, randomFeeds } from './harness.js';
import { block, BLOCK_FWD_KERNELS, BLOCK_STEP_KERNELS } from './models.js';

let dev: GpuDevice;
beforeAll(async () => { dev = await openDevice(); });


const ar = (n: number): Float64Array => Float64Array.from({ length: n }, (_, i) => i);

describe('transformer block', () => {
  it(`forward fuses into ${BLOCK_FWD_KERNELS} kernels and matches the reference`, async () => {
    const g = new Graph();
    const { y } = block(g);
    g.output('y', y);
    const prog = compileProgram(g, { outputs: ['y'], caps: kernelCaps(dev.caps) });
    expect(prog.kernels.length, programKernelsText(prog)).toBeLessThanOrEqual(BLOCK_FWD_KERNELS);
    await check(dev, g, ['y'], randomFeeds(g, 1, 4, { pos: ar(12) }));
  });

  it('backward: every parameter gradient and dx equal the reference', async () => {
    const g = new Graph();
    const { x, y, params } = block(g);
    const r = g.input('r', y.shape);
    const loss = g.sum(g.mul(y, r), [0, 1, 2]);
    g.output('loss', loss);
    const grads = grad(g, loss, [x, ...params]);
    const names = ['loss'];
    for (const [n, gn] of grads) { g.output(`grad:${n.name}`, gn); names.push(`grad:${n.name}`); }
    const res = await check(dev, g, names, randomFeeds(g, 1, 4, { pos: ar(12) }));
    expect(res.program.kernels.length).toBeLessThanOrEqual(BLOCK_STEP_KERNELS);
    expect(res.program.peakBytes).toBeLessThan(res.program.tempBytesUnplanned + res.program.buffers.filter((b) => b.kind !== 'temp').reduce((a, b) => a + b.bytes, 0));
    console.log(`block fwd+bwd: ${res.program.kernels.length} kernels, peak ${res.program.peakBytes} B (unplanned temps ${res.program.tempBytesUnplanned} B)`);
  });

  it('f16 precision: activations in f16, f32 accumulation, within 1e-2', async () => {
    if (!dev.caps.f16) throw new Error('adapter lacks shader-f16');
    const g = new Graph();
    const { y } = block(g);
    g.output('y', y);
    const res = await check(dev, g, ['y'], randomFeeds(g, 1, 4, { pos: ar(12) }), 1e-2, 'f16');
    expect(res.program.precision).toBe('f16');
    expect(res.program.buffers.some((b) => b.dtype === 'f16' && b.kind === 'temp')).toBe(true);
    expect(res.program.buffers.filter((b) => b.kind === 'param').every((b) => b.dtype === 'f32')).toBe(true);
  });
});
