// The GShard top-2 MoE layer against a direct, loop-by-loop computation written independently here: routing,
// renormalised gates, capacity with top-1 assignments queued first, dropped tokens (zero output, so they keep
// only the residual), the load-balance and z-losses; plus finite-difference gradients.

import { describe, expect, it } from 'vitest';
import { Graph } from '../../compiler/ir/index.js';
import { lowerMoe, moeCapacity, moeParams } from '../../compiler/lower/index.js';
import type { MoeSpec } from '../../compiler/semantics/spec.js';
import { expectClose, gradCheck, normals, projectLoss, randomParams, rng, run } from './harness.js';
import { moe } from './specs.js';

const N = 12, D = 4, F = 5;

interface Direct { y: Float64Array; balance: number; z: number; kept: number[][]; slots: number[][] }

function direct(spec: MoeSpec, x: Float64Array, r: Float64Array, w1: Float64Array, w3: Float64Array, w2: Float64Array): Direct {
  const E = spec.experts;
  const C = Math.ceil(Math.ceil((N * spec.capacity) / E) / 4) * 4;
  const silu = (v: number): number => v / (1 + Math.exp(-v));
  const expert = (e: number, n: number): number[] => {
    const h = new Array<number>(F).fill(0);
    for (let f = 0; f < F; f++) {
      let a = 0, b = 0;
      for (let d = 0; d < D; d++) { a += x[n * D + d]! * w1[(e * D + d) * F + f]!; b += x[n * D + d]! * w3[(e * D + d) * F + f]!; }
      h[f] = silu(a) * b;
    }
    const out = new Array<number>(D).fill(0);
    for (let d = 0; d < D; d++) for (let f = 0; f < F; f++) out[d]! += h[f]! * w2[(e * F + f) * D + d]!;
    return out;
  };
  const logits: number[][] = [], probs: number[][] = [], first: number[] = [], second: number[] = [];
  for (let n = 0; n < N; n++) {
    const l = Array.from({ length: E }, (_, e) => { let s = 0; for (let d = 0; d < D; d++) s += x[n * D + d]! * r[d * E + e]!; return s; });
    const m = Math.max(...l);
    const ex = l.map((v) => Math.exp(v - m)), z = ex.reduce((a, b) => a + b, 0);
    const p = ex.map((v) => v / z);
    let t1 = 0;
    for (let e = 1; e < E; e++) if (p[e]! > p[t1]!) t1 = e;
    let t2 = t1 === 0 ? 1 : 0;
    for (let e = 0; e < E; e++) if (e !== t1 && p[e]! > p[t2]!) t2 = e;
    logits.push(l); probs.push(p); first.push(t1); second.push(t2);
  }
  // Buffer slots: all top-1 assignments in token order, then the top-2 ones after them.
  const fill = new Array<number>(E).fill(0);
  const slot1 = first.map((e) => fill[e]!++);
  const slot2 = second.map((e) => fill[e]!++);
  const y = new Float64Array(N * D);
  const kept: number[][] = [], slots: number[][] = [];
  for (let n = 0; n < N; n++) {
    const p1 = probs[n]![first[n]!]!, p2 = probs[n]![second[n]!]!;
    const assigns = spec.topK === 2
      ? [[first[n]!, slot1[n]!, p1 / (p1 + p2)], [second[n]!, slot2[n]!, p2 / (p1 + p2)]]
      : [[first[n]!, slot1[n]!, p1]];
    kept.push([]); slots.push([]);
    for (const [e, s, gate] of assigns) {
      slots[n]!.push(s!);
      if (s! >= C) continue;
      kept[n]!.push(e!);
      const o = expert(e!, n);
      for (let d = 0; d < D; d++) y[n * D + d]! += gate! * o[d]!;
    }
  }
  let balance = 0;
  for (let e = 0; e < E; e++) {
    const me = probs.reduce((a, p) => a + p[e]!, 0) / N;
    const ce = first.filter((t) => t === e).length / N;
    balance += me * ce;
  }
  balance = E * E * (balance / E);
  const z = logits.reduce((a, l) => { const m = Math.max(...l); const lse = m + Math.log(l.reduce((s, v) => s + Math.exp(v - m), 0)); return a + lse * lse; }, 0) / N;
  return { y, balance, z, kept, slots };
}

function setup(spec: MoeSpec, seed: number) {
  const g = new Graph();
  const x = g.input('x', [N, D]);
  const p = moeParams(g, 'moe', D, F, spec, 0.02);
  const r = lowerMoe(g, p, spec, x);
  const feeds = randomParams(g, seed, 0.6);
  feeds.set('x', normals(rng(seed + 1), N * D));
  return { g, x, p, r, feeds };
}

describe('MoE (GShard top-2)', () => {
  it('capacity is ceil(N·factor/E) rounded up to a multiple of 4', () => {
    expect(moeCapacity(12, moe({ experts: 3, capacity: 0.5 }))).toBe(4);
    expect(moeCapacity(4096, moe({ experts: 64, capacity: 2 }))).toBe(128);
    expect(moeCapacity(100, moe({ experts: 8, capacity: 2 }))).toBe(28);
  });

  for (const topK of [2, 1]) {
    for (const capacity of [0.5, 3]) {
      it(`top-${topK}, capacity factor ${capacity}: outputs and aux losses equal a direct computation`, () => {
        const spec = moe({ experts: 3, topK, capacity, balance: 0.01, zLoss: 0.001 });
        const { g, r, feeds } = setup(spec, 20 + topK);
        const C = r.capacity;
        const [y, bal, z, aux, disp, comb] = run(g, feeds, [r.y, r.balance, r.zLoss, r.aux, r.dispatch, r.combine]);
        const want = direct(spec, feeds.get('x')!, feeds.get('moe.router')!, feeds.get('moe.experts.w1')!, feeds.get('moe.experts.w3')!, feeds.get('moe.experts.w2')!);
        expectClose(y!, want.y, 1e-12);
        expect(bal![0]).toBeCloseTo(want.balance, 12);
        expect(z![0]).toBeCloseTo(want.z, 12);
        expect(aux![0]).toBeCloseTo(0.01 * want.balance + 0.001 * want.z, 12);
        // Each expert buffer slot holds at most one token, so no expert takes more than C tokens.
        for (let e = 0; e < 3; e++) for (let c = 0; c < C; c++) {
          let s = 0;
          for (let n = 0; n < N; n++) s += disp![(n * 3 + e) * C + c]!;
          expect(s).toBeLessThanOrEqual(1);
        }
        let dropped = 0;
        for (let n = 0; n < N; n++) {
          let dn = 0, cn = 0;
          for (let j = 0; j < 3 * C; j++) { dn += disp![n * 3 * C + j]!; cn += comb![n * 3 * C + j]!; }
          expect(dn).toBe(want.kept[n]!.length);
          if (want.kept[n]!.length === 0) {
            dropped++;
            // Fully dropped: zero expert output, so the decoder's residual passes the token through.
            for (let d = 0; d < D; d++) expect(y![n * D + d]).toBe(0);
          }
          // Renormalised gates: a token with every assignment kept has combine weights summing to 1 (top-2).
          if (topK === 2 && want.kept[n]!.length === 2) expect(cn).toBeCloseTo(1, 12);
        }
        if (capacity === 0.5) expect(dropped).toBeGreaterThan(0);
        else expect(want.kept.every((k) => k.length === topK)).toBe(true);
      });
    }
  }

  it('gradients match finite differences (router, experts, input; some tokens dropped)', () => {
    const spec = moe({ experts: 3, topK: 2, capacity: 1, balance: 0.5, zLoss: 0.3 });
    const { g, x, r, feeds } = setup(spec, 40);
    // Weight the aux losses up so their gradients matter in the check.
    const loss = g.add(projectLoss(g, r.y), r.aux);
    gradCheck(g, loss, feeds, [...g.params(), x], { samples: 4 });
  });
});
