// KV-cache ops. cache_write(cache [B, H, Tmax, D], x [B, H, Tn, D], pos int [1]) replaces rows
// pos[0] .. pos[0]+Tn-1 of axis 2 (rows past Tmax are dropped); cache_read(cache, pos) {len} is its dynamic-
// slice counterpart [B, H, len, D] (zeros past Tmax), used by cache_write's VJP for x.

import type { Node } from '../ir/node.js';
import type { RefTensor } from './registry.js';
import { defineOp } from './registry.js';
import { isInt, num, zeros } from './util.js';

/** Visit rows: f(cacheOffset, xOffset) for each (b·h, t) with the cache row in range. */
function rows(cache: readonly number[], tn: number, p0: number, f: (co: number, xo: number) => void): void {
  const [B, H, Tmax, D] = cache as [number, number, number, number];
  for (let bh = 0; bh < B * H; bh++) for (let t = 0; t < tn; t++) {
    const row = p0 + t;
    if (row >= 0 && row < Tmax) f((bh * Tmax + row) * D, (bh * tn + t) * D);
  }
}
const pos0 = (p: RefTensor): number => p.data[0]!;

defineOp({
  name: 'cache_write', kind: 'other',
  infer: ([c, x, p, ...rest]) => {
    if (!c || !x || !p || rest.length) return 'cache_write takes (cache, x, pos)';
    if (c.shape.length !== 4 || x.shape.length !== 4 || c.shape[0] !== x.shape[0] || c.shape[1] !== x.shape[1] || c.shape[3] !== x.shape[3]) return 'need cache [B, H, Tmax, D] and x [B, H, Tn, D]';
    if (!isInt(p.dtype) || p.shape.length !== 1 || p.shape[0] !== 1) return 'pos must be int [1]';
    return { shape: c.shape, dtype: c.dtype };
  },
  ref: ([c, x, p]) => {
    const r = Float64Array.from(c!.data), D = c!.shape[3]!;
    rows(c!.shape, x!.shape[2]!, pos0(p!), (co, xo) => { for (let d = 0; d < D; d++) r[co + d] = x!.data[xo + d]!; });
    return r;
  },
  vjp: (g, node, gy) => {
    const [, x, p] = node.inputs as [Node, Node, Node];
    return [g.cacheWrite(gy, zeros(g, x.shape, gy.dtype), p), g.op('cache_read', [gy, p], { len: x.shape[2]! }), null];
  },
});

defineOp({
  name: 'cache_read', kind: 'other',
  infer: ([c, p, ...rest], a) => {
    if (!c || !p || rest.length) return 'cache_read takes (cache, pos)';
    const len = num(a, 'len');
    if (c.shape.length !== 4 || !Number.isInteger(len) || len < 1) return 'need cache [B, H, Tmax, D] and len >= 1';
    if (!isInt(p.dtype) || p.shape.length !== 1 || p.shape[0] !== 1) return 'pos must be int [1]';
    return { shape: [c.shape[0]!, c.shape[1]!, len, c.shape[3]!], dtype: c.dtype };
  },
  ref: ([c, p], a, out) => {
    const r = new Float64Array(out.shape.reduce((x, y) => x * y, 1)), D = c!.shape[3]!;
    rows(c!.shape, num(a, 'len'), pos0(p!), (co, xo) => { for (let d = 0; d < D; d++) r[xo + d] = c!.data[co + d]!; });
    return r;
  },
  vjp: (g, node, gy) => {
    const [c, p] = node.inputs as [Node, Node];
    return [g.cacheWrite(zeros(g, c.shape, gy.dtype), gy, p), null];
  },
});
