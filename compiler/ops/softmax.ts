// softmax and log_softmax along one axis (max-subtracted, so stable), and their backward ops, which take
// the forward output rather than x (what a fused kernel keeps):
//   softmax_grad(y, dy) {axis}     → y·(dy − Σ dy·y)
//   log_softmax_grad(y, dy) {axis} → dy − exp(y)·Σ dy

import type { Attrs, Node } from '../ir/node.js';
import { defineOp, type RefTensor } from './registry.js';
import { axisRows, normAxis, num, sameShape } from './util.js';

const axisOf = (t: { shape: readonly number[] }, a: Attrs): number => normAxis(num(a, 'axis', -1), t.shape.length)!;

function rowwise(x: RefTensor, axis: number, f: (get: (i: number) => number, set: (i: number, v: number) => void, n: number) => void): Float64Array {
  const { rows, n, stride, base } = axisRows(x.shape, axis);
  const r = new Float64Array(x.data.length);
  for (let row = 0; row < rows; row++) {
    const o = base(row);
    f((i) => x.data[o + i * stride]!, (i, v) => { r[o + i * stride] = v; }, n);
  }
  return r;
}

function softmaxRef(x: RefTensor, axis: number, log: boolean): Float64Array {
  return rowwise(x, axis, (get, set, n) => {
    let m = -Infinity;
    for (let i = 0; i < n; i++) m = Math.max(m, get(i));
    let s = 0;
    for (let i = 0; i < n; i++) s += Math.exp(get(i) - m);
    for (let i = 0; i < n; i++) set(i, log ? get(i) - m - Math.log(s) : Math.exp(get(i) - m) / s);
  });
}

const inferAxis = (name: string) => (ins: readonly Node[], a: Attrs) => {
  if (ins.length !== 1) return `${name} takes 1 input`;
  if (normAxis(num(a, 'axis', -1), ins[0]!.shape.length) === null) return `axis ${String(a.axis)} out of range`;
  return { shape: ins[0]!.shape, dtype: ins[0]!.dtype };
};
const inferGrad = (name: string) => (ins: readonly Node[], a: Attrs) => {
  if (ins.length !== 2) return `${name} takes (y, dy)`;
  if (!sameShape(ins[0]!.shape, ins[1]!.shape)) return 'y and dy differ in shape';
  if (normAxis(num(a, 'axis', -1), ins[0]!.shape.length) === null) return `axis ${String(a.axis)} out of range`;
  return { shape: ins[0]!.shape, dtype: ins[1]!.dtype };
};

defineOp({
  name: 'softmax', kind: 'composite',
  infer: inferAxis('softmax'),
  ref: ([x], a) => softmaxRef(x!, axisOf(x!, a), false),
  vjp: (g, node, gy) => [g.op('softmax_grad', [node, gy], { axis: node.attrs.axis as number })],
});
defineOp({
  name: 'log_softmax', kind: 'composite',
  infer: inferAxis('log_softmax'),
  ref: ([x], a) => softmaxRef(x!, axisOf(x!, a), true),
  vjp: (g, node, gy) => [g.op('log_softmax_grad', [node, gy], { axis: node.attrs.axis as number })],
});

/** Apply f to each row of (y, dy) along the axis. */
function gradRows(y: RefTensor, dy: RefTensor, axis: number, f: (yi: number, di: number, s: number) => number, rowSum: (yi: number, di: number) => number): Float64Array {
  const { rows, n, stride, base } = axisRows(y.shape, axis);
  const r = new Float64Array(y.data.length);
  for (let row = 0; row < rows; row++) {
    const o = base(row);
    let s = 0;
    for (let i = 0; i < n; i++) s += rowSum(y.data[o + i * stride]!, dy.data[o + i * stride]!);
    for (let i = 0; i < n; i++) r[o + i * stride] = f(y.data[o + i * stride]!, dy.data[o + i * stride]!, s);
  }
  return r;
}

defineOp({
  name: 'softmax_grad', kind: 'composite',
  infer: inferGrad('softmax_grad'),
  ref: ([y, dy], a) => gradRows(y!, dy!, axisOf(y!, a), (yi, di, s) => yi * (di - s), (yi, di) => yi * di),
  // z = y·(dy − Σ dy·y):  d dy = softmax_grad(y, gz);  d y = gz·(dy − Σ dy·y) − dy·Σ gz·y
  vjp: (g, node, gz) => {
    const [y, dy] = node.inputs as [Node, Node];
    const ax = [axisOf(y, node.attrs)];
    const s = g.sum(g.mul(dy, y), ax, true), t = g.sum(g.mul(gz, y), ax, true);
    return [g.sub(g.mul(gz, g.sub(dy, s)), g.mul(dy, t)), g.op('softmax_grad', [y, gz], node.attrs)];
  },
});
defineOp({
  name: 'log_softmax_grad', kind: 'composite',
  infer: inferGrad('log_softmax_grad'),
  ref: ([y, dy], a) => gradRows(y!, dy!, axisOf(y!, a), (yi, di, s) => di - Math.exp(yi) * s, (_yi, di) => di),
  // z = dy − exp(y)·Σ dy:  d dy = gz − Σ gz·exp(y);  d y = −gz·exp(y)·Σ dy
  vjp: (g, node, gz) => {
    const [y, dy] = node.inputs as [Node, Node];
    const ax = [axisOf(y, node.attrs)];
    const e = g.exp(y);
    return [g.neg(g.mul(g.mul(gz, e), g.sum(dy, ax, true))), g.sub(gz, g.sum(g.mul(gz, e), ax, true))];
  },
});
