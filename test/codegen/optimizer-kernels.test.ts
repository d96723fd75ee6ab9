// How the optimizer compiles: per parameter, AdamW is three in-place kernels (parameter first, then m and v),
// with the clipped gradient, m̂ and v̂ recomputed inside them rather than written out; the gradient norm adds one
// reduction per parameter. Counted on a graph with closed-form parameters (no model around them).
import { describe, expect, it } from 'vitest';
import { Graph } from '../../compiler/ir/graph.js';
import { buildTrainStep } from '../../compiler/optim/adamw.js';
import { compileProgram } from '../../compiler/codegen/compile.js';
import { programKernelsText } from '../../compiler/codegen/program.js';
import { CPU_SAFE_CAPS } from '../../compiler/codegen/caps.js';

describe('AdamW kernels', () => {
  it('three in-place kernels per parameter, the parameter updated before its moments', () => {
    const g = new Graph();
    const x = g.input('x', [4, 8]);
    const P = 3;
    let loss = null;
    for (let i = 0; i < P; i++) {
      const w = g.param(`w${i}`, [8, 8], { kind: 'normal', std: 0.1 });
      const s = g.sum(g.mul(g.matmul(x, w), g.matmul(x, w)), [0, 1]);
      loss = loss ? g.add(loss, s) : s;
    }
    buildTrainStep(g, loss!, { betas: [0.9, 0.95], eps: 1e-8, weightDecay: 0.1, clip: 1, accumulate: 1 });
    const p = compileProgram(g, { outputs: ['grad_norm'], caps: { ...CPU_SAFE_CAPS, limits: { ...CPU_SAFE_CAPS.limits, maxStorageBuffersPerShaderStage: 16 } } });
    const text = programKernelsText(p);
    const updates = p.kernels.filter((k) => k.name.endsWith('_inplace'));
    expect(updates, text).toHaveLength(3 * P);
    // Every assign is done in place: no copies after the kernels.
    expect(p.assigns.every((a) => a.inPlace), text).toBe(true);
    // No separate kernel writes the clipped gradient or the new moments.
    const assignTargets = new Set(p.assigns.map((a) => a.target));
    for (const k of p.kernels) if (!k.name.endsWith('_inplace')) expect(assignTargets.has(k.bindings[0]!)).toBe(false);
    for (let i = 0; i < P; i++) {
      const order = ['w', 'adam.m.w', 'adam.v.w'].map((n) => p.kernels.findIndex((k) => k.name.endsWith('_inplace') && k.bindings[0] === p.leaves[`${n}${i}`]));
      expect(order.every((j) => j >= 0), text).toBe(true);
      expect(order[0]! < order[1]! && order[0]! < order[2]!, text).toBe(true);
    }
  });
});
