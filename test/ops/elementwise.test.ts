// Elementwise ops: forward vs per-element formulas (written independently of compiler/ops: broadcasting by
// explicit multi-index, identities like gelu_tanh = x·σ(2u)), closed-form erf values, WGSL expression shape,
// and every VJP vs central differences, including broadcast and scalar operands.

import { describe, expect, it } from 'vitest';
import { getOp } from '../../compiler/ops/index.js';
import { erf } from '../../compiler/ops/elementwise.js';
import { grad } from '../../compiler/autodiff/grad.js';
import { evaluate } from '../../runtime/reference.js';
import { Nd, checkGrad, expectClose, randn, rng, run } from './helpers.js';

const r = rng(1);
const shapesPairs: [number[], number[]][] = [
  [[2, 3, 4], [4]], [[2, 1, 4], [3, 1]], [[], [2, 3]], [[5], []], [[1], [3, 1]], [[2, 3], [2, 3]], [[3, 1, 1], [1, 2, 1]],
];

/** Broadcast read: axis a of the output maps to the input's aligned axis, or 0 where that axis has size 1. */
function bget(x: Nd, outIdx: number[]): number {
  const lead = outIdx.length - x.shape.length;
  return x.get(...x.shape.map((d, i) => (d === 1 ? 0 : outIdx[lead + i]!)));
}
const outShape = (a: number[], b: number[]): number[] => {
  const n = Math.max(a.length, b.length);
  return Array.from({ length: n }, (_, i) => Math.max(a[a.length - n + i] ?? 1, b[b.length - n + i] ?? 1));
};

const binaries: Record<string, (a: number, b: number) => number> = {
  add: (a, b) => a + b, sub: (a, b) => a - b, mul: (a, b) => a * b, div: (a, b) => a / b,
  maximum: (a, b) => (a > b ? a : b), minimum: (a, b) => (a < b ? a : b), pow: (a, b) => Math.exp(b * Math.log(a)),
};

describe('binary elementwise', () => {
  for (const [op, f] of Object.entries(binaries)) {
    it(`${op} forward broadcasts like numpy`, () => {
      for (const [sa, sb] of shapesPairs) {
        const da = op === 'pow' ? randn(sa, r).map((v) => Math.abs(v) + 0.5) : randn(sa, r);
        const db = op === 'div' ? randn(sb, r).map((v) => v + Math.sign(v) * 0.5) : randn(sb, r);
        const { out } = run([{ name: 'a', shape: sa, data: da }, { name: 'b', shape: sb, data: db }], (g, [a, b]) => g.op(op, [a!, b!]));
        const A = new Nd(sa, da), B = new Nd(sb, db);
        const exp = Nd.from(outShape(sa, sb), (idx) => f(bget(A, idx), bget(B, idx)));
        expect(out.shape).toEqual(exp.shape);
        expectClose(out.data, exp.data, 1e-12);
      }
    });
    it(`${op} vjp (with broadcasting)`, () => {
      for (const [sa, sb] of shapesPairs) {
        const da = op === 'pow' ? randn(sa, r).map((v) => Math.abs(v) + 0.5) : randn(sa, r);
        const db = op === 'div' ? randn(sb, r).map((v) => v + Math.sign(v) * 0.5) : randn(sb, r);
        checkGrad([{ name: 'a', shape: sa, data: da }, { name: 'b', shape: sb, data: db }], (g, [a, b]) => g.op(op, [a!, b!]));
      }
    });
  }
  it('operates on non-contiguous (permuted) operands', () => {
    const da = randn([2, 3, 4], r), db = randn([4, 2, 1], r);
    const { out } = run([{ name: 'a', shape: [2, 3, 4], data: da }, { name: 'b', shape: [4, 2, 1], data: db }],
      (g, [a, b]) => g.mul(g.permute(a!, [2, 0, 1]), b!));
    const A = new Nd([2, 3, 4], da), B = new Nd([4, 2, 1], db);
    expectClose(out.data, Nd.from([4, 2, 3], ([i, j, k]) => A.get(j!, k!, i!) * B.get(i!, j!, 0)).data);
    checkGrad([{ name: 'a', shape: [2, 3, 4], data: da }, { name: 'b', shape: [4, 2, 1], data: db }], (g, [a, b]) => g.mul(g.permute(a!, [2, 0, 1]), b!));
  });
  it('compare gives f32 0/1 and where selects', () => {
    const { out, node } = run([{ name: 'a', shape: [4], data: Float64Array.of(1, 2, 3, 4) }, { name: 'b', shape: [], data: Float64Array.of(2) }],
      (g, [a, b]) => g.compare(a!, b!, 'le'));
    expect(node.dtype).toBe('f32');
    expect(Array.from(out.data)).toEqual([1, 1, 0, 0]);
    for (const [cmp, want] of [['lt', [1, 0, 0, 0]], ['gt', [0, 0, 1, 1]], ['ge', [0, 1, 1, 1]], ['eq', [0, 1, 0, 0]], ['ne', [1, 0, 1, 1]]] as const) {
      const o = run([{ name: 'a', shape: [4], data: Float64Array.of(1, 2, 3, 4) }, { name: 'b', shape: [], data: Float64Array.of(2) }], (g, [a, b]) => g.compare(a!, b!, cmp)).out;
      expect(Array.from(o.data)).toEqual(want);
    }
    const c = Float64Array.of(1, 0, 2, 0, 0, 1);
    const w = run([{ name: 'c', shape: [2, 3], data: c, dtype: 'i32' }, { name: 'a', shape: [3], data: Float64Array.of(7, 8, 9) }, { name: 'b', shape: [], data: Float64Array.of(-1) }],
      (g, [cc, a, b]) => g.where(cc!, a!, b!)).out;
    expect(Array.from(w.data)).toEqual([7, -1, 9, -1, -1, 9]);
    checkGrad([{ name: 'c', shape: [2, 3], data: c, dtype: 'i32' }, { name: 'a', shape: [3], data: randn([3], r) }, { name: 'b', shape: [2, 1], data: randn([2, 1], r) }],
      (g, [cc, a, b]) => g.where(cc!, a!, b!));
  });
});

const sig = (x: number): number => 1 / (1 + Math.exp(-x));
const unaries: Record<string, [(x: number) => number, (v: number) => number]> = {
  neg: [(x) => 0 - x, (v) => v], abs: [(x) => (x < 0 ? -x : x), (v) => v + Math.sign(v) * 0.2],
  exp: [(x) => Math.E ** x, (v) => v], log: [(x) => Math.log2(x) / Math.log2(Math.E), (v) => Math.abs(v) + 0.3],
  sqrt: [(x) => x ** 0.5, (v) => Math.abs(v) + 0.3], rsqrt: [(x) => x ** -0.5, (v) => Math.abs(v) + 0.3],
  recip: [(x) => x ** -1, (v) => v + Math.sign(v) * 0.5], tanh: [(x) => (Math.exp(2 * x) - 1) / (Math.exp(2 * x) + 1), (v) => v],
  sigmoid: [(x) => Math.exp(x) / (1 + Math.exp(x)), (v) => v], silu: [(x) => x / (1 + Math.exp(-x)), (v) => v],
  gelu_tanh: [(x) => x * sig(2 * Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)), (v) => v],
  gelu_erf: [(x) => x * (0.5 + 0.5 * erf(x * Math.SQRT1_2)), (v) => v],
  relu: [(x) => (x > 0 ? x : 0), (v) => v + Math.sign(v) * 0.2], square: [(x) => x ** 2, (v) => v],
};

describe('unary elementwise', () => {
  it('erf matches closed-form table values', () => {
    const table: [number, number][] = [[0, 0], [0.5, 0.5204998778130465], [1, 0.8427007929497149], [2, 0.9953222650189527], [-1.5, -0.9661051464753108], [3.5, 0.9999992569016276]];
    for (const [x, v] of table) expect(Math.abs(erf(x) - v)).toBeLessThan(1e-15);
  });
  for (const [op, [f, dom]] of Object.entries(unaries)) {
    it(`${op} forward and vjp`, () => {
      const shape = [3, 5];
      const d = randn(shape, r).map(dom);
      const { out } = run([{ name: 'x', shape, data: d }], (g, [x]) => g.unary(op as 'neg', x!));
      expectClose(out.data, d.map(f), 1e-12);
      checkGrad([{ name: 'x', shape, data: d }], (g, [x]) => g.unary(op as 'neg', x!));
    });
  }
  it('every elementwise op has a WGSL expression using typed literals', () => {
    for (const op of [...Object.keys(unaries), ...Object.keys(binaries), 'silu_grad', 'gelu_tanh_grad', 'gelu_erf_grad', 'where', 'compare']) {
      const def = getOp(op);
      expect(def.kind).toBe('elementwise');
      const e = def.wgsl!(['a0', 'a1', 'a2'], { cmp: 'lt' }, 'f16');
      expect(e).toContain('a0');
      // f16: every float literal is typed (an untyped 1.0 would be an abstract float mixing with f16 is fine in
      // WGSL, but literals like 0.7978845608 must not silently become f32 in a f16 kernel).
      expect(e.replace(/f16\(-?[\d.e+-]+\)/g, '')).not.toMatch(/\d\.\d/);
    }
    expect(getOp('silu').wgsl!(['x'], {}, 'f32')).toBe('(x / (f32(1.0) + exp(-x)))');
    expect(getOp('scalar').wgsl!([], { value: 2, dtype: 'f16' }, 'f16')).toBe('f16(2.0)');
    expect(getOp('cast').wgsl!(['x'], { dtype: 'i32' }, 'f32')).toBe('i32(x)');
  });
  it('cast truncates toward zero and keeps shape; stop_gradient blocks the gradient', () => {
    const { out, node } = run([{ name: 'x', shape: [4], data: Float64Array.of(-1.7, -0.2, 0.9, 2.5) }], (g, [x]) => g.cast(x!, 'i32'));
    expect(node.dtype).toBe('i32');
    expect(Array.from(out.data)).toEqual([-1, 0, 0, 2]);
    const d = randn([3], r);
    // f(x) = Σ x · sg(x): the gradient is sg(x) = x only (2x without the stop).
    const { g, node: sg } = run([{ name: 'x', shape: [3], data: d }], (gg, [x]) => gg.sum(gg.mul(x!, gg.stopGradient(x!)), [0]));
    const x = g.byName.get('x')!;
    const dx = grad(g, sg, [x]).get(x)!;
    expectClose(evaluate(g, new Map([['x', d]]), [dx]).get(dx)!.data, d);
  });
});
