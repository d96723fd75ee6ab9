// Autodiff semantics: accumulation over repeated uses (tied embeddings), stop_gradient, integer paths,
// seeding of non-scalar losses, zero gradients for unused nodes, missing rules, and a check that the
// finite-difference checker itself catches a wrong VJP.

import { describe, expect, it } from 'vitest';
import { Graph, IRError } from '../../compiler/ir/index.js';
import { defineOp } from '../../compiler/ops/index.js';
import { grad, gradGraphText } from '../../compiler/autodiff/grad.js';
import { evaluate } from '../../runtime/reference.js';
import { checkGrad, expectClose, randn, rng } from './helpers.js';

const r = rng(6);

describe('grad', () => {
  it('accumulates the gradient of a node used twice (tied embedding: gather + output projection)', () => {
    const ls = [
      { name: 'E', shape: [5, 3], data: randn([5, 3], r) },
      { name: 'ids', shape: [4], data: Float64Array.of(1, 3, 3, 0), dtype: 'i32' as const },
    ];
    expect(checkGrad(ls, (g, [E, ids]) => g.matmul(g.gather(E!, ids!), E!, { transB: true }))).toBeLessThan(1e-6);
    const g = new Graph();
    const E = g.param('E', [5, 3], { kind: 'zeros' }), ids = g.input('ids', [4], 'i32');
    const loss = g.sum(g.matmul(g.gather(E, ids), E, { transB: true }), [0, 1]);
    const dE = grad(g, loss, [E]).get(E)!;
    expect(dE.op).toBe('add');
    expect(gradGraphText(g, new Map([[E, dE]]))).toMatch(/grad:E = %\d+/);
  });
  it('respects stop_gradient and skips integer paths', () => {
    const g = new Graph();
    const x = g.input('x', [4]);
    // f = Σ x·sg(x) + Σ x·float(int(x)): df/dx = x + trunc(x)
    const f = g.add(g.sum(g.mul(x, g.stopGradient(x)), [0]), g.sum(g.mul(x, g.cast(g.cast(x, 'i32'), 'f32')), [0]));
    const dx = grad(g, f, [x]).get(x)!;
    const d = Float64Array.of(1.5, -2.25, 0.5, 3.75);
    expectClose(evaluate(g, new Map([['x', d]]), [dx]).get(dx)!.data, d.map((v) => v + Math.trunc(v)));
  });
  it('seeds a non-scalar loss with ones, or with a given cotangent', () => {
    const g = new Graph();
    const x = g.input('x', [3]);
    const y = g.mul(x, x);
    const d = Float64Array.of(1, 2, 3);
    const d1 = grad(g, y, [x]).get(x)!;
    expectClose(evaluate(g, new Map([['x', d]]), [d1]).get(d1)!.data, [2, 4, 6]);
    const seed = g.constant('seed', [3], Float64Array.of(1, 0, -1));
    const d2 = grad(g, y, [x], seed).get(x)!;
    expectClose(evaluate(g, new Map([['x', d]]), [d2]).get(d2)!.data, [2, 0, -6]);
  });
  it('gives zeros for a node the loss does not depend on', () => {
    const g = new Graph();
    const x = g.input('x', [2]), w = g.param('w', [2, 2], { kind: 'ones' });
    const dw = grad(g, g.sum(x, [0]), [w]).get(w)!;
    expect(dw.shape).toEqual([2, 2]);
    expect(Array.from(evaluate(g, new Map([['x', Float64Array.of(1, 2)]]), [dw]).get(dw)!.data)).toEqual([0, 0, 0, 0]);
  });
  it('reports an op without a gradient rule', () => {
    defineOp({ name: 'test_no_vjp', kind: 'elementwise', infer: (ins) => ({ shape: ins[0]!.shape, dtype: ins[0]!.dtype }), ref: (ins) => ins[0]!.data });
    const g = new Graph();
    const x = g.input('x', [2]);
    expect(() => grad(g, g.sum(g.op('test_no_vjp', [x]), [0]), [x])).toThrow(IRError);
  });
  it('the finite-difference checker catches a wrong VJP', () => {
    defineOp({
      name: 'test_bad_square', kind: 'elementwise',
      infer: (ins) => ({ shape: ins[0]!.shape, dtype: ins[0]!.dtype }),
      ref: (ins) => ins[0]!.data.map((v) => v * v),
      vjp: (g, node, gy) => [g.mul(gy, g.mul(node.inputs[0]!, g.scalar(2.00001)))],   // off by 5e-6 relative
    });
    expect(() => checkGrad([{ name: 'x', shape: [3], data: randn([3], r) }], (g, [x]) => g.op('test_bad_square', [x!]))).toThrow(/rel err/);
  });
});
