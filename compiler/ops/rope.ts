// Rotary position embedding, LLaMA rotate-half convention: x [B, H, T, Dh], pos int [T]; pair (i, i + Dh/2)
// rotated by pos·theta^(-2i/Dh). Attr `inverse` (optional) rotates by the negative angle: the rotation is
// orthogonal, so the VJP of rope is rope with `inverse` toggled, and codegen needs one kernel for both.

import type { Node } from '../ir/node.js';
import { defineOp } from './registry.js';
import { bool, isInt, num } from './util.js';

defineOp({
  name: 'rope', kind: 'composite',
  infer: ([x, pos, ...rest], a) => {
    if (!x || !pos || rest.length) return 'rope takes (x, pos)';
    if (x.shape.length !== 4) return 'rope input must be [B, H, T, Dh]';
    if (x.shape[3]! % 2 !== 0) return 'rope head dim must be even';
    if (!isInt(pos.dtype) || pos.shape.length !== 1 || pos.shape[0] !== x.shape[2]) return `pos must be int [${x.shape[2]}]`;
    if (!(num(a, 'theta') > 0)) return 'theta must be positive';
    return { shape: x.shape, dtype: x.dtype };
  },
  ref: ([x, pos], a) => {
    const [B, H, T, Dh] = x!.shape as [number, number, number, number];
    const half = Dh / 2, theta = num(a, 'theta'), sgn = bool(a, 'inverse') ? -1 : 1;
    const r = new Float64Array(x!.data.length);
    for (let bh = 0; bh < B * H; bh++) for (let t = 0; t < T; t++) {
      const o = (bh * T + t) * Dh;
      for (let i = 0; i < half; i++) {
        const ang = pos!.data[t]! * Math.pow(theta, (-2 * i) / Dh);
        const c = Math.cos(ang), s = sgn * Math.sin(ang);
        const x1 = x!.data[o + i]!, x2 = x!.data[o + i + half]!;
        r[o + i] = x1 * c - x2 * s;
        r[o + i + half] = x2 * c + x1 * s;
      }
    }
    return r;
  },
  vjp: (g, node, gy) => {
    const [, pos] = node.inputs as [Node, Node];
    return [g.op('rope', [gy, pos], { theta: node.attrs.theta as number, inverse: bool(node.attrs, 'inverse') ? undefined : true }), null];
  },
});
