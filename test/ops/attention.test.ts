// Attention (grouped KV, causal with qOffset or qPos, packed-segment masks, fully masked rows → zeros),
// rope (vs complex multiplication; inverse undoes it) and the KV-cache ops: forward against a naive
// implementation that materialises repeated KV heads and the mask, and VJPs vs central differences.

import { describe, expect, it } from 'vitest';
import type { Graph, Node } from '../../compiler/ir/index.js';
import { Nd, checkGrad, expectClose, randn, rng, run, type Leaf } from './helpers.js';

const r = rng(4);

interface Case { B: number; H: number; Hkv: number; Tq: number; Tk: number; D: number; causal: boolean; qSeg?: number[]; kSeg?: number[]; qPos?: number[] }

function naive(c: Case, q: Nd, k: Nd, v: Nd, scale: number): Nd {
  const out = new Nd([c.B, c.H, c.Tq, c.D]);
  for (let b = 0; b < c.B; b++) for (let h = 0; h < c.H; h++) {
    const kvh = Math.floor((h * c.Hkv) / c.H);            // repeat_interleave of kv heads
    for (let i = 0; i < c.Tq; i++) {
      const mask = Array.from({ length: c.Tk }, (_, j) => {
        const segOk = !c.qSeg || (c.kSeg![b * c.Tk + j]! >= 0 && c.qSeg[b * c.Tq + i] === c.kSeg![b * c.Tk + j]);
        const p = c.qPos ? c.qPos[i]! : c.Tk - c.Tq + i;
        return segOk && (!c.causal || j <= p);
      });
      const s = mask.map((m, j) => (m ? Math.exp(scale * Array.from({ length: c.D }, (_, d) => q.get(b, h, i, d) * k.get(b, kvh, j, d)).reduce((x, y) => x + y)) : 0));
      const z = s.reduce((x, y) => x + y, 0);
      for (let d = 0; d < c.D; d++) out.set(z === 0 ? 0 : s.reduce((acc, sj, j) => acc + (sj / z) * v.get(b, kvh, j, d), 0), b, h, i, d);
    }
  }
  return out;
}

function leaves(c: Case): { ls: Leaf[]; build: (g: Graph, xs: Node[]) => Node } {
  const ls: Leaf[] = [
    { name: 'q', shape: [c.B, c.H, c.Tq, c.D], data: randn([c.B, c.H, c.Tq, c.D], r) },
    { name: 'k', shape: [c.B, c.Hkv, c.Tk, c.D], data: randn([c.B, c.Hkv, c.Tk, c.D], r) },
    { name: 'v', shape: [c.B, c.Hkv, c.Tk, c.D], data: randn([c.B, c.Hkv, c.Tk, c.D], r) },
  ];
  if (c.qSeg) ls.push({ name: 'qs', shape: [c.B, c.Tq], data: Float64Array.from(c.qSeg), dtype: 'i32' }, { name: 'ks', shape: [c.B, c.Tk], data: Float64Array.from(c.kSeg!), dtype: 'i32' });
  if (c.qPos) ls.push({ name: 'qp', shape: [c.Tq], data: Float64Array.from(c.qPos), dtype: 'i32' });
  const build = (g: Graph, xs: Node[]): Node => {
    const [q, k, v] = xs as [Node, Node, Node];
    const rest = xs.slice(3);
    return g.attention(q, k, v, { causal: c.causal, qSeg: c.qSeg ? rest[0] : undefined, kSeg: c.qSeg ? rest[1] : undefined, qPos: c.qPos ? rest[c.qSeg ? 2 : 0] : undefined });
  };
  return { ls, build };
}

const cases: [string, Case][] = [
  ['plain, no mask', { B: 1, H: 2, Hkv: 2, Tq: 3, Tk: 4, D: 4, causal: false }],
  ['causal with qOffset = Tk - Tq, grouped kv (4 → 2)', { B: 2, H: 4, Hkv: 2, Tq: 3, Tk: 5, D: 2, causal: true }],
  ['causal square, multi-query (Hkv = 1)', { B: 1, H: 3, Hkv: 1, Tq: 4, Tk: 4, D: 3, causal: true }],
  ['packed segments, padding keys and a fully masked query', { B: 2, H: 2, Hkv: 1, Tq: 4, Tk: 4, D: 2, causal: true, qSeg: [0, 0, 1, 1, 0, 0, 0, 5], kSeg: [0, 0, 1, 1, 0, 0, -1, -1] }],
  ['non-causal with segments, Tq != Tk', { B: 1, H: 2, Hkv: 2, Tq: 2, Tk: 3, D: 2, causal: false, qSeg: [1, 0], kSeg: [0, 1, 1] }],
  ['qPos (KV-cache decode over empty slots)', { B: 1, H: 2, Hkv: 1, Tq: 2, Tk: 5, D: 2, causal: true, qPos: [2, 3], qSeg: [0, 0], kSeg: [0, 0, 0, 0, -1] }],
];

describe('attention', () => {
  for (const [title, c] of cases) {
    it(`${title}: forward and vjp (attention_grad_q/k/v)`, () => {
      const { ls, build } = leaves(c);
      const { out, node } = run(ls, build);
      const exp = naive(c, new Nd(ls[0]!.shape, ls[0]!.data), new Nd(ls[1]!.shape, ls[1]!.data), new Nd(ls[2]!.shape, ls[2]!.data), 1 / Math.sqrt(c.D));
      expect(node.shape).toEqual(exp.shape);
      expectClose(out.data, exp.data);
      checkGrad(ls, build);
    });
  }
  it('a fully masked query row outputs zeros', () => {
    const c = cases[3]![1];
    const { ls, build } = leaves(c);
    const out = new Nd([2, 2, 4, 2], run(ls, build).out.data);
    expect([out.get(1, 0, 3, 0), out.get(1, 1, 3, 1)]).toEqual([0, 0]);
  });
  it('rejects heads that are not a multiple of kv heads', () => {
    const ls: Leaf[] = [{ name: 'q', shape: [1, 3, 2, 2], data: randn([1, 3, 2, 2], r) }, { name: 'k', shape: [1, 2, 2, 2], data: randn([1, 2, 2, 2], r) }, { name: 'v', shape: [1, 2, 2, 2], data: randn([1, 2, 2, 2], r) }];
    expect(() => run(ls, (g, [q, k, v]) => g.attention(q!, k!, v!, { causal: false }))).toThrow(/multiple/);
  });
});

describe('rope', () => {
  it('rotates pairs (i, i + Dh/2) like complex multiplication; inverse undoes it; vjp', () => {
    const shape = [1, 2, 3, 4], d = randn(shape, r), X = new Nd(shape, d), pos = Float64Array.of(5, 0, 17);
    const ls: Leaf[] = [{ name: 'x', shape, data: d }, { name: 'p', shape: [3], data: pos, dtype: 'i32' }];
    const out = run(ls, (g, [x, p]) => g.rope(x!, p!, 100)).out;
    const exp = Nd.from(shape, ([b, h, t, i]) => {
      const j = i! % 2, ang = pos[t!]! / 100 ** ((2 * j) / 4);
      const re = X.get(b!, h!, t!, j), im = X.get(b!, h!, t!, j + 2);
      return i! < 2 ? re * Math.cos(ang) - im * Math.sin(ang) : re * Math.sin(ang) + im * Math.cos(ang);
    });
    expectClose(out.data, exp.data);
    const back = run(ls, (g, [x, p]) => g.op('rope', [g.rope(x!, p!, 100), p!], { theta: 100, inverse: true })).out;
    expectClose(back.data, d);
    checkGrad(ls, (g, [x, p]) => g.rope(x!, p!, 100));
  });
});

describe('kv cache', () => {
  it('cache_write replaces rows at pos; cache_read reads them; vjps', () => {
    const c = randn([1, 2, 5, 2], r), x = randn([1, 2, 2, 2], r), C = new Nd([1, 2, 5, 2], c), X = new Nd([1, 2, 2, 2], x);
    const ls: Leaf[] = [{ name: 'c', shape: [1, 2, 5, 2], data: c }, { name: 'x', shape: [1, 2, 2, 2], data: x }, { name: 'p', shape: [1], data: Float64Array.of(3), dtype: 'i32' }];
    const w = run(ls, (g, [cc, xx, p]) => g.cacheWrite(cc!, xx!, p!)).out;
    expectClose(w.data, Nd.from([1, 2, 5, 2], ([b, h, t, d]) => (t! >= 3 ? X.get(b!, h!, t! - 3, d!) : C.get(b!, h!, t!, d!))).data);
    const rd = run(ls, (g, [cc, , p]) => g.op('cache_read', [cc!, p!], { len: 2 })).out;
    expectClose(rd.data, Nd.from([1, 2, 2, 2], ([b, h, t, d]) => C.get(b!, h!, t! + 3, d!)).data);
    checkGrad(ls, (g, [cc, xx, p]) => g.cacheWrite(cc!, xx!, p!));
    checkGrad(ls, (g, [cc, , p]) => g.op('cache_read', [cc!, p!], { len: 3 }));   // reads past Tmax → zeros
  });
});
