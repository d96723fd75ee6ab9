// How the optimizer compiles: AdamW's parameter, m and v updates are one in-place kernel (parameters of the same
// size may share it), with the clipped gradient, m̂ and v̂ recomputed inside rather than written out.
// Counted on a graph of four parameters and nothing else around them.
import { describe, expect, it } from 'vitest';
import { Graph } from '../../compiler/ir/graph.js';
import { buildTrainStep } from '../../compiler/optim/adamw.js';
import { compileProgram } from '../../compiler/codegen/compile.js';
import { programKernelsText } from '../../compiler/codegen/program.js';
import { CPU_SAFE_CAPS } from '../../compiler/codegen/caps.js';

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
});
