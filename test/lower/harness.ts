// Test harness for the lowerings: seeded random feeds for every param/input, evaluation on the CPU reference
// interpreter (f64), and a finite-difference gradient check of `grad` over chosen leaves.

import { expect } from 'vitest';
import { grad } from '../../compiler/autodiff/grad.js';
import type { Graph } from '../../compiler/ir/graph.js';
import { numel, type Node } from '../../compiler/ir/node.js';
import { evaluate } from '../../runtime/reference.js';
import { rng } from '../helpers/random.js';
export { rng };


export function normals(r: () => number, n: number, std = 1, mean = 0): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = mean + std * Math.sqrt(-2 * Math.log(r() + 1e-12)) * Math.cos(2 * Math.PI * r());
  return out;
}

export type Feeds = Map<string, Float64Array>;

/**
 * Random values for every param (weights N(0, std²); norm weights near 1, biases near 0 but not exactly, so
 * their gradients are exercised), keyed by name. Deterministic in `seed`, independent of declaration order.
 */
export function randomParams(g: Graph, seed: number, std = 0.3, feeds: Feeds = new Map()): Feeds {
  for (const p of g.params()) {
    const info = g.leaves.get(p)!;
    let h = seed;
    for (const c of p.name!) h = Math.imul(h ^ c.charCodeAt(0), 0x01000193);
    const r = rng(h);
    const n = numel(p.shape);
    if (info.init?.kind === 'ones') feeds.set(p.name!, normals(r, n, 0.1, 1));
    else if (info.init?.kind === 'zeros') feeds.set(p.name!, normals(r, n, 0.1));
    else feeds.set(p.name!, normals(r, n, std));
  }
  return feeds;
}

export function run(g: Graph, feeds: Feeds, outs: readonly Node[]): Float64Array[] {
  const v = evaluate(g, feeds, outs);
  return outs.map((o) => v.get(o)!.data);
}

export const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
};

export function expectClose(a: ArrayLike<number>, b: ArrayLike<number>, tol = 1e-9): void {
  const d = maxAbsDiff(a, b);
  expect(d, `max |a − b| = ${d}`).toBeLessThanOrEqual(tol);
}

/**
 * Compare grad(g, loss, leaves) with central finite differences at `samples` random coordinates of each leaf
 * (all coordinates when it is small). f64 throughout, so a relative tolerance of ~1e-6 is comfortable.
 */
export function gradCheck(g: Graph, loss: Node, feeds: Feeds, leaves: readonly Node[], opts: { samples?: number; eps?: number; tol?: number; seed?: number } = {}): void {
  const { samples = 3, eps = 1e-5, tol = 1e-6, seed = 7 } = opts;
  const grads = grad(g, loss, leaves);
  const gv = run(g, feeds, leaves.map((l) => grads.get(l)!));
  const r = rng(seed);
  const f = (): number => run(g, feeds, [loss])[0]![0]!;
  leaves.forEach((leaf, li) => {
    const x = feeds.get(leaf.name!)!;
    const n = x.length;
    const idx = n <= samples ? [...Array(n).keys()] : Array.from({ length: samples }, () => Math.floor(r() * n));
    for (const i of idx) {
      const x0 = x[i]!;
      x[i] = x0 + eps; const fp = f();
      x[i] = x0 - eps; const fm = f();
      x[i] = x0;
      const fd = (fp - fm) / (2 * eps);
      const an = gv[li]![i]!;
      const err = Math.abs(fd - an) / Math.max(1e-3, Math.abs(fd) + Math.abs(an));
      expect(err, `${leaf.name}[${i}]: analytic ${an} vs finite difference ${fd}`).toBeLessThanOrEqual(tol);
    }
  });
}

/** A scalar loss sum(out · R) with R a fixed random constant (so every output element matters). */
export function projectLoss(g: Graph, out: Node, seed = 3): Node {
  const R = g.constant(`test.proj.${out.id}`, out.shape, normals(rng(seed), numel(out.shape)));
  return g.sum(g.mul(out, R), out.shape.map((_, i) => i));
}
