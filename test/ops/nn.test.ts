// Composite NN ops: conv2d (groups, depthwise, stride, padding), adaptive_avg_pool2d (overlapping bins),
// softmax/log_softmax, layernorm/layernorm2d/rmsnorm, cross_entropy. Forward vs direct per-element
// formulas on Nd arrays; VJPs (and the backward ops' own VJPs) vs central differences.

import { describe, expect, it } from 'vitest';
import { Nd, checkGrad, expectClose, randn, rng, run } from './helpers.js';

const r = rng(3);
const L = (name: string, shape: number[], data?: Float64Array, dtype?: 'i32') => ({ name, shape, data: data ?? randn(shape, r), dtype });

describe('conv2d', () => {
  const cases = [
    { x: [2, 4, 5, 5], w: [6, 2, 3, 3], stride: 1, padding: 1, groups: 2 },
    { x: [1, 3, 6, 5], w: [2, 3, 3, 2], stride: 2, padding: 0, groups: 1 },
    { x: [1, 4, 4, 4], w: [4, 1, 3, 3], stride: 1, padding: 1, groups: 4 },   // depthwise
    { x: [2, 3, 3, 3], w: [5, 3, 1, 1], stride: 1, padding: 0, groups: 1 },   // 1x1
  ];
  it('forward matches a direct gather-form loop', () => {
    for (const c of cases) {
      const dx = randn(c.x, r), dw = randn(c.w, r);
      const { out } = run([L('x', c.x, dx), L('w', c.w, dw)], (g, [x, w]) => g.conv2d(x!, w!, c));
      const X = new Nd(c.x, dx), W = new Nd(c.w, dw);
      const [, C, H, Wd] = c.x as [number, number, number, number];
      const [O, Cg, kh, kw] = c.w as [number, number, number, number];
      const oh = Math.floor((H + 2 * c.padding - kh) / c.stride) + 1, ow = Math.floor((Wd + 2 * c.padding - kw) / c.stride) + 1;
      const exp = Nd.from([c.x[0]!, O, oh, ow], ([b, o, i, j]) => {
        let s = 0;
        const g0 = Math.floor(o! / (O / c.groups)) * (C / c.groups);
        for (let ci = 0; ci < Cg; ci++) for (let u = 0; u < kh; u++) for (let v = 0; v < kw; v++) {
          const y = i! * c.stride + u - c.padding, xx = j! * c.stride + v - c.padding;
          if (y >= 0 && y < H && xx >= 0 && xx < Wd) s += X.get(b!, g0 + ci, y, xx) * W.get(o!, ci, u, v);
        }
        return s;
      });
      expect(out.shape).toEqual(exp.shape);
      expectClose(out.data, exp.data);
    }
  });
  it('vjp (conv2d_grad_input, conv2d_grad_weight) and the backward ops\' own vjps', () => {
    for (const c of cases.slice(0, 3)) {
      checkGrad([L('x', c.x), L('w', c.w)], (g, [x, w]) => g.conv2d(x!, w!, c));
    }
    const c = cases[0]!;
    checkGrad([L('dy', [2, 6, 5, 5]), L('w', c.w)], (g, [dy, w]) => g.op('conv2d_grad_input', [dy!, w!], { stride: 1, padding: 1, groups: 2, inH: 5, inW: 5 }));
    checkGrad([L('x', c.x), L('dy', [2, 6, 5, 5])], (g, [x, dy]) => g.op('conv2d_grad_weight', [x!, dy!], { stride: 1, padding: 1, groups: 2, kh: 3, kw: 3 }));
  });
});

describe('adaptive_avg_pool2d', () => {
  it('overlapping bins like PyTorch, and vjp', () => {
    const d = randn([1, 2, 5, 7], r), X = new Nd([1, 2, 5, 7], d);
    const { out } = run([L('x', [1, 2, 5, 7], d)], (g, [x]) => g.adaptiveAvgPool2d(x!, 3, 2));
    // H = 5 → 3 bins: rows [0,2) [1,4) [3,5); W = 7 → 2 bins: cols [0,4) [3,7)
    const rows = [[0, 2], [1, 4], [3, 5]], cols = [[0, 4], [3, 7]];
    const exp = Nd.from([1, 2, 3, 2], ([, c, i, j]) => {
      let s = 0, n = 0;
      for (let y = rows[i!]![0]!; y < rows[i!]![1]!; y++) for (let x = cols[j!]![0]!; x < cols[j!]![1]!; x++) { s += X.get(0, c!, y, x); n++; }
      return s / n;
    });
    expectClose(out.data, exp.data);
    checkGrad([L('x', [1, 2, 5, 7], d)], (g, [x]) => g.adaptiveAvgPool2d(x!, 3, 2));
    checkGrad([L('x', [2, 3, 4, 4])], (g, [x]) => g.adaptiveAvgPool2d(x!, 2, 2));
    checkGrad([L('dy', [1, 2, 3, 2])], (g, [dy]) => g.op('adaptive_avg_pool2d_grad', [dy!], { inH: 5, inW: 7 }));
  });
});

describe('softmax family', () => {
  it('softmax / log_softmax forward on any axis and vjps', () => {
    const d = randn([3, 4, 2], r, 3), X = new Nd([3, 4, 2], d);
    for (const axis of [-1, 1, 0]) {
      const a = axis < 0 ? 2 : axis;
      const Z = (idx: number[]): number => { let z = 0; for (let k = 0; k < [3, 4, 2][a]!; k++) z += Math.exp(X.get(...idx.map((v, i) => (i === a ? k : v)))); return z; };
      const sm = run([L('x', [3, 4, 2], d)], (g, [x]) => g.softmax(x!, axis)).out;
      expectClose(sm.data, Nd.from([3, 4, 2], (idx) => Math.exp(X.get(...idx)) / Z(idx)).data);
      const ls = run([L('x', [3, 4, 2], d)], (g, [x]) => g.logSoftmax(x!, axis)).out;
      expectClose(ls.data, Nd.from([3, 4, 2], (idx) => X.get(...idx) - Math.log(Z(idx))).data);
      checkGrad([L('x', [3, 4, 2], d)], (g, [x]) => g.softmax(x!, axis));
      checkGrad([L('x', [3, 4, 2], d)], (g, [x]) => g.logSoftmax(x!, axis));
    }
  });
  it('softmax_grad / log_softmax_grad have their own vjps (second order)', () => {
    for (const axis of [-1, 0]) {
      checkGrad([L('y', [3, 4]), L('dy', [3, 4])], (g, [y, dy]) => g.op('softmax_grad', [y!, dy!], { axis }));
      checkGrad([L('y', [3, 4]), L('dy', [3, 4])], (g, [y, dy]) => g.op('log_softmax_grad', [y!, dy!], { axis }));
    }
  });
  it('is stable for large logits', () => {
    const sm = run([L('x', [3], Float64Array.of(1000, 1001, 999))], (g, [x]) => g.softmax(x!)).out;
    expect(Array.from(sm.data).every(Number.isFinite)).toBe(true);
  });
});

describe('normalisations', () => {
  it('layernorm, rmsnorm (last axis) and layernorm2d (channels) forward', () => {
    const d = randn([2, 3, 5], r, 2), w = randn([5], r), b = randn([5], r), X = new Nd([2, 3, 5], d);
    const ln = run([L('x', [2, 3, 5], d), L('w', [5], w), L('b', [5], b)], (g, [x, ww, bb]) => g.layernorm(x!, ww!, bb!, 1e-5)).out;
    expectClose(ln.data, Nd.from([2, 3, 5], ([i, j, k]) => {
      const row = [0, 1, 2, 3, 4].map((t) => X.get(i!, j!, t));
      const mu = row.reduce((p, q) => p + q) / 5, v = row.reduce((p, q) => p + (q - mu) ** 2, 0) / 5;
      return ((X.get(i!, j!, k!) - mu) / Math.sqrt(v + 1e-5)) * w[k!]! + b[k!]!;
    }).data);
    const rn = run([L('x', [2, 3, 5], d), L('w', [5], w)], (g, [x, ww]) => g.rmsnorm(x!, ww!, 1e-6)).out;
    expectClose(rn.data, Nd.from([2, 3, 5], ([i, j, k]) => {
      const ms = [0, 1, 2, 3, 4].reduce((p, t) => p + X.get(i!, j!, t) ** 2, 0) / 5;
      return (X.get(i!, j!, k!) / Math.sqrt(ms + 1e-6)) * w[k!]!;
    }).data);
    const d4 = randn([2, 3, 2, 2], r), X4 = new Nd([2, 3, 2, 2], d4), w3 = randn([3], r), b3 = randn([3], r);
    const l2 = run([L('x', [2, 3, 2, 2], d4), L('w', [3], w3), L('b', [3], b3)], (g, [x, ww, bb]) => g.layernorm2d(x!, ww!, bb!)).out;
    expectClose(l2.data, Nd.from([2, 3, 2, 2], ([n, c, h, x]) => {
      const col = [0, 1, 2].map((t) => X4.get(n!, t, h!, x!));
      const mu = col.reduce((p, q) => p + q) / 3, v = col.reduce((p, q) => p + (q - mu) ** 2, 0) / 3;
      return ((X4.get(n!, c!, h!, x!) - mu) / Math.sqrt(v + 1e-6)) * w3[c!]! + b3[c!]!;
    }).data);
  });
  it('vjps through the *_grad_x / *_grad_w ops', () => {
    checkGrad([L('x', [2, 3, 5]), L('w', [5]), L('b', [5])], (g, [x, w, b]) => g.layernorm(x!, w!, b!));
    checkGrad([L('x', [4, 6]), L('w', [6])], (g, [x, w]) => g.rmsnorm(x!, w!));
    checkGrad([L('x', [2, 3, 2, 3]), L('w', [3]), L('b', [3])], (g, [x, w, b]) => g.layernorm2d(x!, w!, b!));
  });
});

describe('cross_entropy', () => {
  it('forward (ignored targets give 0) and vjp', () => {
    const d = randn([4, 5], r, 2), X = new Nd([4, 5], d), t = Float64Array.of(2, -1, 4, 0);
    const ce = run([L('l', [4, 5], d), L('t', [4], t, 'i32')], (g, [l, tt]) => g.crossEntropy(l!, tt!)).out;
    const exp = [0, 1, 2, 3].map((i) => (t[i]! < 0 ? 0 : -Math.log(Math.exp(X.get(i, t[i]!)) / [0, 1, 2, 3, 4].reduce((s, v) => s + Math.exp(X.get(i, v)), 0))));
    expectClose(ce.data, exp);
    checkGrad([L('l', [4, 5], d), L('t', [4], t, 'i32')], (g, [l, tt]) => g.crossEntropy(l!, tt!));
  });
});
