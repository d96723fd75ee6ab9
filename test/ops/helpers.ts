// Test helpers for the op suite: seeded random tensors, an N-d array with multi-index access (so the
// independent expected values are written as plain per-element loops), running one op through the
// reference interpreter, and a generic VJP checker against central finite differences in f64.

import { expect } from 'vitest';
import { Graph } from '../../compiler/ir/index.js';
import type { DType, Node, Shape } from '../../compiler/ir/index.js';
import { grad } from '../../compiler/autodiff/grad.js';
import { evaluate, type RefTensor } from '../../runtime/reference.js';
import { rng } from '../helpers/random.js';
export { rng };


export const size = (s: Shape): number => s.reduce((a, b) => a * b, 1);

export function randn(shape: Shape, r: () => number, scale = 1): Float64Array {
  return Float64Array.from({ length: size(shape) }, () => scale * Math.sqrt(-2 * Math.log(r() + 1e-12)) * Math.cos(2 * Math.PI * r()));
}
export function randInt(shape: Shape, r: () => number, lo: number, hi: number): Float64Array {
  return Float64Array.from({ length: size(shape) }, () => lo + Math.floor(r() * (hi - lo)));
}

/** An N-d array read and written by multi-index. */
export class Nd {
  readonly strides: number[];
  constructor(readonly shape: readonly number[], readonly data: Float64Array = new Float64Array(size(shape))) {
    this.strides = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
  }
  off(idx: readonly number[]): number { return idx.reduce((o, v, i) => o + v * this.strides[i]!, 0); }
  get(...idx: number[]): number { return this.data[this.off(idx)]!; }
  set(v: number, ...idx: number[]): void { this.data[this.off(idx)] = v; }
  /** Every multi-index in row-major order. */
  *indices(): Generator<number[]> {
    const n = size(this.shape);
    for (let i = 0; i < n; i++) {
      const idx: number[] = [];
      let r = i;
      for (let a = this.shape.length - 1; a >= 0; a--) { idx[a] = r % this.shape[a]!; r = Math.floor(r / this.shape[a]!); }
      yield idx;
    }
  }
  static from(shape: readonly number[], f: (idx: number[]) => number): Nd {
    const nd = new Nd(shape);
    for (const idx of nd.indices()) nd.set(f(idx), ...idx);
    return nd;
  }
}

export interface Leaf { name: string; shape: Shape; data: Float64Array; dtype?: DType; kind?: 'input' | 'param' }

/** Build inputs as graph leaves, apply `f`, evaluate in f64. */
export function run(leaves: readonly Leaf[], f: (g: Graph, xs: Node[]) => Node): { out: RefTensor; node: Node; g: Graph } {
  const g = new Graph();
  const xs = leaves.map((l) => (l.kind === 'param' ? g.param(l.name, l.shape, { kind: 'zeros' }) : g.input(l.name, l.shape, l.dtype ?? 'f32')));
  const node = f(g, xs);
  const feeds = new Map(leaves.map((l) => [l.name, l.data] as const));
  return { out: evaluate(g, feeds, [node]).get(node)!, node, g };
}

export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol = 1e-12): void {
  expect(actual.length).toBe(expected.length);
  let worst = 0, at = -1;
  for (let i = 0; i < actual.length; i++) {
    const e = expected[i]!, a = actual[i]!;
    const err = Math.abs(a - e) / Math.max(1, Math.abs(e));
    if (!(err <= worst)) { worst = err; at = i; }
  }
  if (!(worst <= tol)) expect.fail(`element ${at}: got ${actual[at]}, expected ${expected[at]} (err ${worst})`);
}

/**
 * Check every VJP along the path from the float leaves to `f`'s output: loss = Σ out·W for random W,
 * autodiff gradients vs central differences (h = 1e-5) on every element of every float leaf.
 * Returns the worst relative error (max |a − fd| over the leaf / max(max |fd|, 1e-3)).
 */
export function checkGrad(leaves: readonly Leaf[], f: (g: Graph, xs: Node[]) => Node, opts: { seed?: number; tol?: number; h?: number } = {}): number {
  const g = new Graph();
  const xs = leaves.map((l) => g.input(l.name, l.shape, l.dtype ?? 'f32'));
  const out = f(g, xs);
  const r = rng(opts.seed ?? 99);
  const w = g.constant('__w', out.shape, randn(out.shape, r));
  const loss = g.sum(g.mul(out, w), out.shape.map((_, i) => i));
  const wrt = xs.filter((x) => x.dtype === 'f32' || x.dtype === 'f16');
  const grads = grad(g, loss, wrt);
  const feeds = new Map<string, Float64Array>(leaves.map((l) => [l.name, Float64Array.from(l.data)]));
  const gvals = evaluate(g, feeds, [...grads.values()]);
  const h = opts.h ?? 1e-5;
  let worst = 0;
  for (const x of wrt) {
    const data = feeds.get(x.name!)!;
    const an = gvals.get(grads.get(x)!)!.data;
    const fd = new Float64Array(data.length);
    for (let i = 0; i < data.length; i++) {
      const v = data[i]!;
      data[i] = v + h; const lp = evaluate(g, feeds, [loss]).get(loss)!.data[0]!;
      data[i] = v - h; const lm = evaluate(g, feeds, [loss]).get(loss)!.data[0]!;
      data[i] = v;
      fd[i] = (lp - lm) / (2 * h);
    }
    let maxDiff = 0, maxFd = 1e-3;
    for (let i = 0; i < fd.length; i++) { maxDiff = Math.max(maxDiff, Math.abs(an[i]! - fd[i]!)); maxFd = Math.max(maxFd, Math.abs(fd[i]!)); }
    const err = maxDiff / maxFd;
    if (!(err < (opts.tol ?? 1e-6))) expect.fail(`gradient of ${x.name}: rel err ${err} (analytic ${Array.from(an.slice(0, 6))}, fd ${Array.from(fd.slice(0, 6))})`);
    worst = Math.max(worst, err);
  }
  return worst;
}
