// How the optimizer compiles: AdamW's parameter, m and v updates are one in-place kernel (parameters of any
// sizes may share it), with the clipped gradient, m̂ and v̂ recomputed inside rather than written out.
// Counted on a graph of four parameters and nothing else around them; a shared kernel over parameters of
// different sizes is checked against the reference interpreter on the adapter.
import { beforeAll, describe, expect, it } from 'vitest';
import { Graph } from '../../compiler/ir/graph.js';
import { buildTrainStep } from '../../compiler/optim/adamw.js';
import { compileProgram } from '../../compiler/codegen/compile.js';
import { programKernelsText } from '../../compiler/codegen/program.js';
import { CPU_SAFE_CAPS, kernelCaps } from '../../compiler/codegen/caps.js';
import { openDevice, type GpuDevice } from '../../runtime/device.js';
import { check, randomFeeds } from './harness.js';

let dev: GpuDevice;
beforeAll(async () => { dev = await openDevice(); });

describe('AdamW kernels', () => {
  it('one in-place kernel per parameter (or fewer), no intermediate kernels', () => {
    const g = new Graph();
    const x = g.input('x', [4, 8]);
    const P = 4;                                  // > 3: the clip scale is shared enough to get a buffer, as in a model
    let loss = null;
    for (let i = 0; i < P; i++) {
      const w = g.param(`w${i}`, [8, 8], { kind: 'normal', std: 0.1 });
      const y = g.matmul(x, w);
      const s = g.sum(g.mul(y, y), [0, 1]);
      loss = loss ? g.add(loss, s) : s;
    }
    buildTrainStep(g, loss!, { betas: [0.9, 0.95], eps: 1e-8, weightDecay: 0.1, clip: 1, accumulate: 1 });
    const p = compileProgram(g, { outputs: ['grad_norm'], caps: { ...CPU_SAFE_CAPS, limits: { ...CPU_SAFE_CAPS.limits, maxStorageBuffersPerShaderStage: 16 } } });
    const text = programKernelsText(p);
    const updates = p.kernels.filter((k) => k.name.endsWith('_inplace'));
    // Every assign is done in place: no copies after the kernels.
    expect(p.assigns.every((a) => a.inPlace), text).toBe(true);
    // Each parameter's p, m and v are written by one kernel (several parameters may share it).
    for (let i = 0; i < P; i++) {
      const writers = ['w', 'adam.m.w', 'adam.v.w'].map((n) => updates.findIndex((k) => k.bindings.slice(0, 9).includes(p.leaves[`${n}${i}`]!)));
      expect(writers[0], text).toBeGreaterThanOrEqual(0);
      expect(new Set(writers).size, text).toBe(1);
    }
    expect(updates.length, text).toBeLessThanOrEqual(P);
    // No other kernel touches the moments: the new m and v are not computed and written out separately.
    const moments = new Set(Object.entries(p.leaves).filter(([n]) => n.startsWith('adam.')).map(([, id]) => id));
    expect(p.kernels.filter((k) => !k.name.endsWith('_inplace') && k.bindings.some((b) => moments.has(b))).map((k) => k.name), text).toEqual([]);
  });

  it('parameters of different sizes share one update kernel, and its updates equal the reference', async () => {
    const g = new Graph();
    const x = g.input('x', [3, 8]);
    let loss = null;
    for (const [i, cols] of [8, 16, 4, 8].entries()) {            // 64, 128, 32 and 64 elements
      const w = g.param(`w${i}`, [8, cols], { kind: 'normal', std: 0.3 });
      const y = g.matmul(x, w);
      const s = g.sum(g.mul(y, y), [0, 1]);
      loss = loss ? g.add(loss, s) : s;
    }
    buildTrainStep(g, loss!, { betas: [0.9, 0.95], eps: 1e-8, weightDecay: 0.1, clip: 1, accumulate: 1 });
    // With the adapter's binding limit (16 on lavapipe), as the harness compiles it.
    const p = compileProgram(g, { outputs: ['grad_norm'], caps: kernelCaps(dev.caps) });
    const sizesPerKernel = p.kernels.filter((k) => k.name.endsWith('_inplace'))
      .map((k) => [0, 1, 2, 3].filter((i) => k.bindings.includes(p.leaves[`w${i}`]!)).map((i) => p.buffers[p.leaves[`w${i}`]!]!.bytes));
    expect(sizesPerKernel.some((s) => new Set(s).size > 1), programKernelsText(p)).toBe(true);
    // Parameters, m and v after one step equal the reference's (the harness compares every assign).
    const v = Object.fromEntries([8, 16, 4, 8].map((c, i) => [`adam.v.w${i}`, Float64Array.from({ length: 8 * c }, (_, j) => 0.01 * ((j * 7) % 5 + 1))]));
    await check(dev, g, ['grad_norm'], randomFeeds(g, 3, 4, { lr: Float64Array.from([0.01]), bc1: Float64Array.from([0.1]), bc2: Float64Array.from([0.05]), loss_scale: Float64Array.from([1]), ...v }));
  });
});
