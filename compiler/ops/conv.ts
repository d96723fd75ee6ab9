// NCHW convolution (stride, zero padding, groups; depthwise when groups = C = O) and PyTorch's
// adaptive_avg_pool2d, with dedicated backward ops so codegen writes one kernel per gradient:
// conv2d_grad_input (dy, w), conv2d_grad_weight (x, dy), adaptive_avg_pool2d_grad (dy).
// The backward ops are each other's adjoints, so their own VJPs come for free.

import type { Attrs, Node } from '../ir/node.js';
import { numel } from '../ir/node.js';
import { defineOp, type RefTensor } from './registry.js';
import { num } from './util.js';

interface ConvGeom { B: number; C: number; H: number; W: number; O: number; kh: number; kw: number; oh: number; ow: number; s: number; p: number; G: number }

const outSize = (n: number, k: number, s: number, p: number): number => Math.floor((n + 2 * p - k) / s) + 1;
const convAttrs = (a: Attrs): { s: number; p: number; G: number } => ({ s: num(a, 'stride', 1), p: num(a, 'padding', 0), G: num(a, 'groups', 1) });

function checkGeom(C: number, O: number, wc: number, a: Attrs): string | null {
  const { s, p, G } = convAttrs(a);
  if (!(Number.isInteger(s) && s >= 1 && Number.isInteger(p) && p >= 0 && Number.isInteger(G) && G >= 1)) return 'stride >= 1, padding >= 0, groups >= 1 (integers)';
  if (C % G !== 0 || O % G !== 0) return `groups ${G} must divide in channels ${C} and out channels ${O}`;
  if (wc !== C / G) return `weight has ${wc} input channels per group, expected ${C / G}`;
  return null;
}

/** Visit every (output element, kernel tap) pair: f(xOffset, wOffset, yOffset) for taps inside the input. */
function forEachTap(g: ConvGeom, f: (xo: number, wo: number, yo: number) => void): void {
  const Cg = g.C / g.G, Og = g.O / g.G;
  for (let b = 0; b < g.B; b++) for (let o = 0; o < g.O; o++) {
    const grp = Math.floor(o / Og);
    for (let i = 0; i < g.oh; i++) for (let j = 0; j < g.ow; j++) {
      const yo = ((b * g.O + o) * g.oh + i) * g.ow + j;
      for (let c = 0; c < Cg; c++) for (let u = 0; u < g.kh; u++) {
        const y = i * g.s - g.p + u;
        if (y < 0 || y >= g.H) continue;
        for (let v = 0; v < g.kw; v++) {
          const x = j * g.s - g.p + v;
          if (x < 0 || x >= g.W) continue;
          f(((b * g.C + grp * Cg + c) * g.H + y) * g.W + x, ((o * Cg + c) * g.kh + u) * g.kw + v, yo);
        }
      }
    }
  }
}

function geom(x: readonly number[], w: readonly number[], y: readonly number[], a: Attrs): ConvGeom {
  const { s, p, G } = convAttrs(a);
  return { B: x[0]!, C: x[1]!, H: x[2]!, W: x[3]!, O: w[0]!, kh: w[2]!, kw: w[3]!, oh: y[2]!, ow: y[3]!, s, p, G };
}

const pass = (a: Attrs): { stride: number; padding: number; groups: number } => {
  const { s, p, G } = convAttrs(a);
  return { stride: s, padding: p, groups: G };
};

defineOp({
  name: 'conv2d', kind: 'other',
  infer: ([x, w, ...rest], a) => {
    if (!x || !w || rest.length) return 'conv2d takes (x, w)';
    if (x.shape.length !== 4 || w.shape.length !== 4) return 'conv2d needs x [B, C, H, W] and w [O, C/groups, kh, kw]';
    const e = checkGeom(x.shape[1]!, w.shape[0]!, w.shape[1]!, a);
    if (e) return e;
    const { s, p } = convAttrs(a);
    const oh = outSize(x.shape[2]!, w.shape[2]!, s, p), ow = outSize(x.shape[3]!, w.shape[3]!, s, p);
    if (oh < 1 || ow < 1) return 'kernel larger than the padded input';
    return { shape: [x.shape[0]!, w.shape[0]!, oh, ow], dtype: x.dtype };
  },
  ref: ([x, w], a, out) => {
    const r = new Float64Array(numel(out.shape));
    forEachTap(geom(x!.shape, w!.shape, out.shape, a), (xo, wo, yo) => { r[yo]! += x!.data[xo]! * w!.data[wo]!; });
    return r;
  },
  vjp: (g, node, gy, needs) => {
    const [x, w] = node.inputs as [Node, Node];
    return [
      needs?.[0] === false ? null : g.op('conv2d_grad_input', [gy, w], { ...pass(node.attrs), inH: x.shape[2]!, inW: x.shape[3]! }),
      needs?.[1] === false ? null : g.op('conv2d_grad_weight', [x, gy], { ...pass(node.attrs), kh: w.shape[2]!, kw: w.shape[3]! }),
    ];
  },
});

/** conv2d_grad_input(dy [B, O, H', W'], w [O, C/G, kh, kw]) {stride, padding, groups, inH, inW} → dx [B, C, inH, inW]. */
defineOp({
  name: 'conv2d_grad_input', kind: 'other',
  infer: ([dy, w, ...rest], a) => {
    if (!dy || !w || rest.length) return 'conv2d_grad_input takes (dy, w)';
    if (dy.shape.length !== 4 || w.shape.length !== 4 || dy.shape[1] !== w.shape[0]) return 'need dy [B, O, H\', W\'] and w [O, C/groups, kh, kw]';
    const G = num(a, 'groups', 1), C = w.shape[1]! * G;
    const e = checkGeom(C, w.shape[0]!, w.shape[1]!, a);
    if (e) return e;
    const H = num(a, 'inH'), W = num(a, 'inW'), { s, p } = convAttrs(a);
    if (outSize(H, w.shape[2]!, s, p) !== dy.shape[2] || outSize(W, w.shape[3]!, s, p) !== dy.shape[3]) return 'dy does not match inH/inW';
    return { shape: [dy.shape[0]!, C, H, W], dtype: dy.dtype };
  },
  ref: ([dy, w], a, out) => {
    const r = new Float64Array(numel(out.shape));
    forEachTap(geom(out.shape, w!.shape, dy!.shape, a), (xo, wo, yo) => { r[xo]! += dy!.data[yo]! * w!.data[wo]!; });
    return r;
  },
  vjp: (g, node, gg) => {
    const [dy, w] = node.inputs as [Node, Node];
    return [g.conv2d(gg, w, pass(node.attrs)), g.op('conv2d_grad_weight', [gg, dy], { ...pass(node.attrs), kh: w.shape[2]!, kw: w.shape[3]! })];
  },
});

/** conv2d_grad_weight(x [B, C, H, W], dy [B, O, H', W']) {stride, padding, groups, kh, kw} → dw [O, C/G, kh, kw]. */
defineOp({
  name: 'conv2d_grad_weight', kind: 'other',
  infer: ([x, dy, ...rest], a) => {
    if (!x || !dy || rest.length) return 'conv2d_grad_weight takes (x, dy)';
    if (x.shape.length !== 4 || dy.shape.length !== 4 || x.shape[0] !== dy.shape[0]) return 'need x [B, C, H, W] and dy [B, O, H\', W\']';
    const G = num(a, 'groups', 1), kh = num(a, 'kh'), kw = num(a, 'kw');
    const e = checkGeom(x.shape[1]!, dy.shape[1]!, x.shape[1]! / G, a);
    if (e) return e;
    const { s, p } = convAttrs(a);
    if (outSize(x.shape[2]!, kh, s, p) !== dy.shape[2] || outSize(x.shape[3]!, kw, s, p) !== dy.shape[3]) return 'dy does not match x and kh/kw';
    return { shape: [dy.shape[1]!, x.shape[1]! / G, kh, kw], dtype: x.dtype };
  },
  ref: ([x, dy], a, out) => {
    const r = new Float64Array(numel(out.shape));
    forEachTap(geom(x!.shape, out.shape, dy!.shape, a), (xo, wo, yo) => { r[wo]! += x!.data[xo]! * dy!.data[yo]!; });
    return r;
  },
  vjp: (g, node, gg) => {
    const [x, dy] = node.inputs as [Node, Node];
    return [g.op('conv2d_grad_input', [dy, gg], { ...pass(node.attrs), inH: x.shape[2]!, inW: x.shape[3]! }), g.conv2d(x, gg, pass(node.attrs))];
  },
});

// ── adaptive average pooling: bin i spans [floor(i·H/oh), ceil((i+1)·H/oh)) ──────────────────────────
const bin = (i: number, n: number, o: number): [number, number] => [Math.floor((i * n) / o), Math.ceil(((i + 1) * n) / o)];

/** Visit every (input pixel, output bin) pair with the bin's weight 1/area. */
function forEachBin(B: number, C: number, H: number, W: number, oh: number, ow: number, f: (xo: number, yo: number, wgt: number) => void): void {
  for (let bc = 0; bc < B * C; bc++) for (let i = 0; i < oh; i++) for (let j = 0; j < ow; j++) {
    const [y0, y1] = bin(i, H, oh), [x0, x1] = bin(j, W, ow);
    const wgt = 1 / ((y1 - y0) * (x1 - x0));
    for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) f((bc * H + y) * W + x, (bc * oh + i) * ow + j, wgt);
  }
}

function pool(x: RefTensor, oh: number, ow: number): Float64Array {
  const [B, C, H, W] = x.shape as [number, number, number, number];
  const r = new Float64Array(B * C * oh * ow);
  forEachBin(B, C, H, W, oh, ow, (xo, yo, wgt) => { r[yo]! += x.data[xo]! * wgt; });
  return r;
}

defineOp({
  name: 'adaptive_avg_pool2d', kind: 'other',
  infer: ([x, ...rest], a) => {
    if (!x || rest.length || x.shape.length !== 4) return 'adaptive_avg_pool2d takes x [B, C, H, W]';
    const oh = num(a, 'oh'), ow = num(a, 'ow');
    if (!(Number.isInteger(oh) && Number.isInteger(ow) && oh >= 1 && ow >= 1)) return 'oh, ow must be positive integers';
    return { shape: [x.shape[0]!, x.shape[1]!, oh, ow], dtype: x.dtype };
  },
  ref: ([x], a) => pool(x!, num(a, 'oh'), num(a, 'ow')),
  vjp: (g, node, gy) => [g.op('adaptive_avg_pool2d_grad', [gy], { inH: node.inputs[0]!.shape[2]!, inW: node.inputs[0]!.shape[3]! })],
});

/** adaptive_avg_pool2d_grad(dy [B, C, oh, ow]) {inH, inW} → dx [B, C, inH, inW]: each bin's dy spread evenly
 *  over its pixels (overlapping bins add). */
defineOp({
  name: 'adaptive_avg_pool2d_grad', kind: 'other',
  infer: ([dy, ...rest], a) => {
    if (!dy || rest.length || dy.shape.length !== 4) return 'adaptive_avg_pool2d_grad takes dy [B, C, oh, ow]';
    const H = num(a, 'inH'), W = num(a, 'inW');
    if (!(Number.isInteger(H) && Number.isInteger(W) && H >= 1 && W >= 1)) return 'inH, inW must be positive integers';
    return { shape: [dy.shape[0]!, dy.shape[1]!, H, W], dtype: dy.dtype };
  },
  ref: ([dy], _a, out) => {
    const [B, C, H, W] = out.shape as [number, number, number, number];
    const r = new Float64Array(numel(out.shape));
    forEachBin(B, C, H, W, dy!.shape[2]!, dy!.shape[3]!, (xo, yo, wgt) => { r[xo]! += dy!.data[yo]! * wgt; });
    return r;
  },
  vjp: (g, node, gg) => [g.adaptiveAvgPool2d(gg, node.inputs[0]!.shape[2]!, node.inputs[0]!.shape[3]!)],
});
