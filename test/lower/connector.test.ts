// Connectors: output shapes, average pooling (overlapping adaptive bins) against a direct computation, the
// C-Abstractor's structure, and finite-difference gradients for every kind.

import { describe, expect, it } from 'vitest';
import { Graph } from '../../compiler/ir/index.js';
import { numel } from '../../compiler/ir/node.js';
import { lowerConnector } from '../../compiler/lower/index.js';
import type { ConnectorSpec } from '../../compiler/semantics/spec.js';
import { expectClose, gradCheck, normals, projectLoss, randomParams, rng, run } from './harness.js';
import { conn } from './specs.js';

const NI = 2, W = 4, D = 5;

function build(c: ConnectorSpec, P: number): { g: Graph; x: ReturnType<Graph['input']>; out: ReturnType<Graph['input']>; feeds: Map<string, Float64Array> } {
  const g = new Graph();
  const x = g.input('patches', [NI, P, W]);                                     // [NI, P, W]
  const out = lowerConnector(g, c, x, D);                                        // [NI, M, D]
  const feeds = randomParams(g, 11);
  feeds.set('patches', normals(rng(12), numel(x.shape)));
  return { g, x, out, feeds };
}

describe('connectors', () => {
  it('avg_pool: overlapping adaptive bins (3×3 → 2×2) then Linear, against a direct computation', () => {
    const { g, out, feeds } = build(conn('avg_pool', { tokens: 4 }), 9);
    expect(out.shape).toEqual([NI, 4, D]);
    const [y] = run(g, feeds, [out]);
    const xv = feeds.get('patches')!, w = feeds.get('connector.proj.w')!, b = feeds.get('connector.proj.b')!;
    const want = new Float64Array(NI * 4 * D);
    for (let n = 0; n < NI; n++) for (let oy = 0; oy < 2; oy++) for (let ox = 0; ox < 2; ox++) {
      // PyTorch bins for 3 → 2: [0, 2) and [1, 3).
      const pooled = new Float64Array(W);
      for (let iy = oy; iy < oy + 2; iy++) for (let ix = ox; ix < ox + 2; ix++)
        for (let c = 0; c < W; c++) pooled[c]! += xv[(n * 9 + iy * 3 + ix) * W + c]! / 4;
      for (let o = 0; o < D; o++) {
        let s = b[o]!;
        for (let c = 0; c < W; c++) s += pooled[c]! * w[c * D + o]!;
        want[(n * 4 + oy * 2 + ox) * D + o] = s;
      }
    }
    expectClose(y!, want, 1e-12);
  });

  it('c_abstractor: block structure and names (shortcut only where channels change)', () => {
    const { g, out } = build(conn('c_abstractor', { tokens: 4, depth: 2, hidden: 6 }), 9);
    expect(out.shape).toEqual([NI, 4, D]);
    const has = (n: string): boolean => g.byName.has(n);
    expect(has('connector.stage1.0.shortcut.w')).toBe(true);
    expect(has('connector.stage1.1.shortcut.w')).toBe(false);
    expect(has('connector.stage2.0.shortcut.w')).toBe(false);
    expect(g.byName.get('connector.stage1.0.conv2.w')!.shape).toEqual([6, 1, 3, 3]);   // depthwise
    expect(g.byName.get('connector.stage1.0.se.fc1.w')!.shape).toEqual([6, 1]);         // se = round(0.25 · 4)
    expect(g.byName.get('connector.stage1.1.se.fc1.w')!.shape).toEqual([6, 2]);         // se = round(0.25 · 6)
    expect(g.nodes.some((n) => n.op === 'adaptive_avg_pool2d' && n.inputs[0]!.shape.join() === `${NI},6,3,3`)).toBe(true);
  });

  it('c_abstractor: equals a direct NCHW implementation of Honeybee\'s blocks (depth 1, 3×3 → 2×2)', () => {
    const Hc = 6, Dd = D;
    const { g, out, feeds } = build(conn('c_abstractor', { tokens: 4, depth: 1, hidden: Hc }), 9);
    const [y] = run(g, feeds, [out]);
    const f = (n: string): Float64Array => feeds.get(n)!;
    type Grid = number[][][];                                                     // [C][h][w]
    const map = (x: Grid, fn: (v: number, c: number) => number): Grid => x.map((ch, c) => ch.map((r) => r.map((v) => fn(v, c))));
    const silu = (v: number): number => v / (1 + Math.exp(-v));
    const conv1 = (x: Grid, w: Float64Array, O: number): Grid => Array.from({ length: O }, (_, o) =>
      x[0]!.map((r, i) => r.map((_, j) => x.reduce((s, ch, c) => s + ch[i]![j]! * w[o * x.length + c]!, 0))));
    const dw = (x: Grid, w: Float64Array): Grid => x.map((ch, c) => ch.map((r, i) => r.map((_, j) => {
      let s = 0;
      for (let a = -1; a <= 1; a++) for (let b = -1; b <= 1; b++) {
        const ii = i + a, jj = j + b;
        if (ii >= 0 && jj >= 0 && ii < ch.length && jj < r.length) s += ch[ii]![jj]! * w[c * 9 + (a + 1) * 3 + b + 1]!;
      }
      return s;
    })));
    const ln = (x: Grid, pre: string): Grid => {
      const w = f(`${pre}.w`), b = f(`${pre}.b`), C = x.length;
      return x.map((ch, c) => ch.map((r, i) => r.map((v, j) => {
        const col = x.map((cc) => cc[i]![j]!);
        const mu = col.reduce((s2, t) => s2 + t, 0) / C, va = col.reduce((s2, t) => s2 + (t - mu) ** 2, 0) / C;
        return ((v - mu) / Math.sqrt(va + 1e-6)) * w[c]! + b[c]!;
      })));
    };
    const lin = (v: number[], pre: string, O: number): number[] => Array.from({ length: O }, (_, o) => v.reduce((s2, t, i) => s2 + t * f(`${pre}.w`)[i * O + o]!, f(`${pre}.b`)[o]!));
    const block = (x: Grid, pre: string): Grid => {
      const cin = x.length, se = Math.max(1, Math.round(cin / 4));
      let h = map(ln(conv1(x, f(`${pre}.conv1.w`), Hc), `${pre}.ln1`), silu);
      h = map(ln(dw(h, f(`${pre}.conv2.w`)), `${pre}.ln2`), silu);
      const mean = h.map((ch) => ch.flat().reduce((s2, t) => s2 + t, 0) / ch.flat().length);
      const gate = lin(lin(mean, `${pre}.se.fc1`, se).map(silu), `${pre}.se.fc2`, Hc).map((t) => 1 / (1 + Math.exp(-t)));
      h = map(h, (v, c) => v * gate[c]!);
      h = ln(conv1(h, f(`${pre}.conv3.w`), Hc), `${pre}.ln3`);
      const sc = cin !== Hc ? ln(conv1(x, f(`${pre}.shortcut.w`), Hc), `${pre}.shortcut.ln`) : x;
      return h.map((ch, c) => ch.map((r, i) => r.map((v, j) => silu(v + sc[c]![i]![j]!))));
    };
    const want: number[] = [];
    const xv = f('patches'), pos = f('connector.pos_embed');
    for (let n = 0; n < NI; n++) {
      let grid: Grid = Array.from({ length: W }, (_, c) => Array.from({ length: 3 }, (_, i) => Array.from({ length: 3 }, (_, j) =>
        xv[(n * 9 + i * 3 + j) * W + c]! + pos[(i * 3 + j) * W + c]!)));
      grid = block(grid, 'connector.stage1.0');
      // adaptive pool 3 → 2: bins [0, 2) and [1, 3)
      grid = grid.map((ch) => [0, 1].map((oi) => [0, 1].map((oj) => (ch[oi]![oj]! + ch[oi]![oj + 1]! + ch[oi + 1]![oj]! + ch[oi + 1]![oj + 1]!) / 4)));
      grid = block(grid, 'connector.stage2.0');
      for (let i = 0; i < 2; i++) for (let j = 0; j < 2; j++)
        want.push(...lin(lin(grid.map((ch) => ch[i]![j]!), 'connector.mlp.fc1', Dd).map(silu), 'connector.mlp.fc2', Dd));
    }
    expectClose(y!, want, 1e-12);
  });

  const cases: [string, ConnectorSpec, number][] = [
    ['linear', conn('linear', { tokens: 4 }), 4],
    ['avg_pool', conn('avg_pool', { tokens: 4 }), 9],
    ['attn_pool', conn('attn_pool', { tokens: 3, heads: 2 }), 4],
    ['c_abstractor (shortcut, overlapping pool)', conn('c_abstractor', { tokens: 4, depth: 1, hidden: 6 }), 9],
    ['c_abstractor depth 0', conn('c_abstractor', { tokens: 1, depth: 0 }), 4],
  ];
  for (const [name, c, P] of cases) {
    it(`${name}: forward runs and gradients match finite differences`, () => {
      const { g, x, out, feeds } = build(c, P);
      expect(out.shape).toEqual([NI, c.tokens, D]);
      const [y] = run(g, feeds, [out]);
      expect(y!.every(Number.isFinite)).toBe(true);
      const loss = projectLoss(g, out);
      gradCheck(g, loss, feeds, [...g.params(), x], { samples: 2 });
    });
  }
});
