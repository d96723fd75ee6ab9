// Reductions, matmul, movement and indexing ops: forward vs per-element loops over multi-indices (written
// independently of the refs), shape-rule errors, and VJPs vs central differences.

import { describe, expect, it } from 'vitest';
import { Graph } from '../../compiler/ir/index.js';
import { Nd, checkGrad, expectClose, randInt, randn, rng, run } from './helpers.js';

const r = rng(2);
const L = (name: string, shape: number[], data?: Float64Array, dtype?: 'i32') => ({ name, shape, data: data ?? randn(shape, r), dtype });

describe('reductions', () => {
  const shape = [2, 3, 4];
  const cases: [number[], boolean][] = [[[1], false], [[0, 2], true], [[-1], false], [[0, 1, 2], false], [[], false]];
  const red = (op: string, X: Nd, axes: number[], keep: boolean): Nd => {
    const ax = axes.map((a) => (a < 0 ? a + 3 : a));
    const outS = shape.flatMap((d, i) => (ax.includes(i) ? (keep ? [1] : []) : [d]));
    return Nd.from(outS, (oi) => {
      const vals: number[] = [];
      for (const idx of X.indices()) {
        const proj = idx.flatMap((v, i) => (ax.includes(i) ? (keep ? [0] : []) : [v]));
        if (proj.every((v, i) => v === oi[i])) vals.push(X.get(...idx));
      }
      if (op === 'sum') return vals.reduce((a, b) => a + b, 0);
      if (op === 'mean') return vals.reduce((a, b) => a + b, 0) / vals.length;
      if (op === 'max') return Math.max(...vals);
      return Math.log(vals.reduce((a, b) => a + Math.exp(b), 0));
    });
  };
  for (const op of ['sum', 'mean', 'max', 'logsumexp']) {
    it(`${op} forward and vjp over several axis sets`, () => {
      for (const [axes, keep] of cases) {
        const d = randn(shape, r);
        const { out } = run([L('x', shape, d)], (g, [x]) => g.op(op, [x!], { axes, keepdims: keep }));
        const exp = red(op, new Nd(shape, d), axes, keep);
        expect(out.shape).toEqual(exp.shape);
        expectClose(out.data, exp.data);
        checkGrad([L('x', shape, d)], (g, [x]) => g.op(op, [x!], { axes, keepdims: keep }));
      }
    });
  }
  it('max splits the gradient between ties; rejects bad axes', () => {
    const g = new Graph();
    expect(() => g.sum(g.input('x', [2, 3]), [2])).toThrow(/out of range/);
  });
});

describe('matmul', () => {
  const cases: [number[], number[], boolean, boolean][] = [
    [[3, 4], [4, 5], false, false], [[2, 3, 4], [4, 5], false, false], [[2, 4, 3], [5, 4], true, true],
    [[2, 1, 3, 4], [3, 5, 4], false, true], [[4, 3], [2, 4, 5], true, false], [[1, 3, 4], [2, 4, 2], false, false], [[2, 3, 4], [5, 4], false, true],
  ];
  it('forward (batch broadcast, transposes) and vjp', () => {
    for (const [sa, sb, tA, tB] of cases) {
      const da = randn(sa, r), db = randn(sb, r);
      const { out } = run([L('a', sa, da), L('b', sb, db)], (g, [a, b]) => g.matmul(a!, b!, { transA: tA, transB: tB }));
      const A = new Nd(sa, da), B = new Nd(sb, db);
      const M = tA ? sa.at(-1)! : sa.at(-2)!, K = tA ? sa.at(-2)! : sa.at(-1)!, N = tB ? sb.at(-2)! : sb.at(-1)!;
      const batchA = sa.slice(0, -2), batchB = sb.slice(0, -2);
      const nb = Math.max(batchA.length, batchB.length);
      const batch = Array.from({ length: nb }, (_, i) => Math.max(batchA[batchA.length - nb + i] ?? 1, batchB[batchB.length - nb + i] ?? 1));
      const pick = (bs: number[], bi: number[]): number[] => bs.map((d, i) => (d === 1 ? 0 : bi[nb - bs.length + i]!));
      const exp = Nd.from([...batch, M, N], (idx) => {
        const bi = idx.slice(0, nb), i = idx[nb]!, j = idx[nb + 1]!;
        let s = 0;
        for (let k = 0; k < K; k++) s += A.get(...pick(batchA, bi), ...(tA ? [k, i] : [i, k])) * B.get(...pick(batchB, bi), ...(tB ? [j, k] : [k, j]));
        return s;
      });
      expect(out.shape).toEqual(exp.shape);
      expectClose(out.data, exp.data);
      checkGrad([L('a', sa, da), L('b', sb, db)], (g, [a, b]) => g.matmul(a!, b!, { transA: tA, transB: tB }));
    }
  });
  it('rejects mismatched contraction dims', () => {
    const g = new Graph();
    expect(() => g.matmul(g.input('a', [2, 3]), g.input('b', [4, 5]))).toThrow(/contraction/);
  });
});

describe('movement', () => {
  it('reshape (with -1), permute, expand', () => {
    const d = randn([2, 3, 4], r), X = new Nd([2, 3, 4], d);
    expect(run([L('x', [2, 3, 4], d)], (g, [x]) => g.reshape(x!, [4, -1])).out.shape).toEqual([4, 6]);
    const p = run([L('x', [2, 3, 4], d)], (g, [x]) => g.permute(x!, [1, 2, 0])).out;
    expectClose(p.data, Nd.from([3, 4, 2], ([i, j, k]) => X.get(k!, i!, j!)).data);
    const e = run([L('x', [3, 1], d.slice(0, 3))], (g, [x]) => g.expand(x!, [2, 3, 4])).out;
    expectClose(e.data, Nd.from([2, 3, 4], ([, j]) => d[j!]!).data);
    checkGrad([L('x', [2, 3, 4], d)], (g, [x]) => g.permute(g.reshape(x!, [6, 4]), [1, 0]));
    checkGrad([L('x', [3, 1], d.slice(0, 3))], (g, [x]) => g.expand(x!, [2, 3, 4]));
  });
  it('slice, pad (with value), concat', () => {
    const d = randn([3, 4], r), X = new Nd([3, 4], d);
    const s = run([L('x', [3, 4], d)], (g, [x]) => g.slice(x!, [1, 1], [3, 3])).out;
    expectClose(s.data, Nd.from([2, 2], ([i, j]) => X.get(i! + 1, j! + 1)).data);
    const p = run([L('x', [3, 4], d)], (g, [x]) => g.pad(x!, [1, 0], [0, 2], 7)).out;
    expectClose(p.data, Nd.from([4, 6], ([i, j]) => (i! >= 1 && j! < 4 ? X.get(i! - 1, j!) : 7)).data);
    const d2 = randn([3, 2], r), Y = new Nd([3, 2], d2);
    const c = run([L('x', [3, 4], d), L('y', [3, 2], d2)], (g, [x, y]) => g.concat([x!, y!], -1)).out;
    expectClose(c.data, Nd.from([3, 6], ([i, j]) => (j! < 4 ? X.get(i!, j!) : Y.get(i!, j! - 4))).data);
    checkGrad([L('x', [3, 4], d)], (g, [x]) => g.pad(g.slice(x!, [0, 1], [2, 4]), [1, 2], [0, 1]));
    checkGrad([L('x', [3, 4], d), L('y', [3, 2], d2)], (g, [x, y]) => g.concat([y!, x!, y!], 1));
  });
});

describe('indexing', () => {
  it('gather / scatter_add (out-of-range ids) and their vjps', () => {
    const t = randn([5, 3], r), T = new Nd([5, 3], t), idx = Float64Array.of(0, 4, 4, 7, -1, 2);
    const gth = run([L('t', [5, 3], t), L('i', [2, 3], idx, 'i32')], (g, [tt, i]) => g.gather(tt!, i!)).out;
    expectClose(gth.data, Nd.from([2, 3, 3], ([a, b, d]) => { const id = idx[a! * 3 + b!]!; return id >= 0 && id < 5 ? T.get(id, d!) : 0; }).data);
    const src = randn([2, 3, 3], r), S = new Nd([2, 3, 3], src);
    const sc = run([L('i', [2, 3], idx, 'i32'), L('s', [2, 3, 3], src)], (g, [i, s]) => g.scatterAdd(i!, s!, 5)).out;
    expectClose(sc.data, Nd.from([5, 3], ([row, d]) => { let v = 0; for (let k = 0; k < 6; k++) if (idx[k] === row) v += S.get(Math.floor(k / 3), k % 3, d!); return v; }).data);
    checkGrad([L('t', [5, 3], t), L('i', [2, 3], idx, 'i32')], (g, [tt, i]) => g.gather(tt!, i!));
    checkGrad([L('i', [2, 3], idx, 'i32'), L('s', [2, 3, 3], src)], (g, [i, s]) => g.scatterAdd(i!, s!, 5));
  });
  it('topk (ties → lower index), take_along, one_hot', () => {
    const x = Float64Array.of(1, 3, 3, 0, 5, -1, 2, 2);
    const tk = run([L('x', [2, 4], x)], (g, [a]) => g.topk(a!, 3));
    expect(tk.node.dtype).toBe('i32');
    expect(Array.from(tk.out.data)).toEqual([1, 2, 0, 0, 2, 3]);
    const d = randn([2, 4], r), ix = Float64Array.of(3, 0, 0, 1, 9, 2);
    const ta = run([L('x', [2, 4], d), L('i', [2, 3], ix, 'i32')], (g, [a, i]) => g.takeAlong(a!, i!)).out;
    expectClose(ta.data, [d[3]!, d[0]!, d[0]!, d[5]!, 0, d[6]!]);
    checkGrad([L('x', [2, 4], d), L('i', [2, 3], ix, 'i32')], (g, [a, i]) => g.takeAlong(a!, i!));
    const oh = run([L('i', [3], Float64Array.of(2, -1, 0), 'i32')], (g, [i]) => g.oneHot(i!, 3)).out;
    expect(Array.from(oh.data)).toEqual([0, 0, 1, 0, 0, 0, 1, 0, 0]);
  });
  it('cumsum (inclusive, any axis) and its vjp (a reverse cumsum)', () => {
    const d = randn([3, 4], r), X = new Nd([3, 4], d);
    for (const axis of [0, 1, -1]) {
      const a = axis < 0 ? 1 : axis;
      const o = run([L('x', [3, 4], d)], (g, [x]) => g.cumsum(x!, axis)).out;
      expectClose(o.data, Nd.from([3, 4], (idx) => { let s = 0; for (let k = 0; k <= idx[a]!; k++) s += X.get(...idx.map((v, i) => (i === a ? k : v))); return s; }).data);
      checkGrad([L('x', [3, 4], d)], (g, [x]) => g.cumsum(x!, axis));
    }
  });
  it('random ids stay exact through gather', () => {
    const ids = randInt([4], r, 0, 5);
    const o = run([L('t', [5, 1], Float64Array.of(0, 1, 2, 3, 4)), L('i', [4], ids, 'i32')], (g, [t, i]) => g.gather(t!, i!)).out;
    expect(Array.from(o.data)).toEqual(Array.from(ids));
  });
});
