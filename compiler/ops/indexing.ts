// Indexing ops: embedding gather and its adjoint scatter_add, top-k indices, take_along (per-row gather
// along the last axis, used by MoE routing), one_hot and cumsum. Index inputs are integer tensors; ids
// out of range read as zeros (gather, take_along, one_hot) or are dropped (scatter_add).

import type { Node } from '../ir/node.js';
import { numel } from '../ir/node.js';
import { defineOp } from './registry.js';
import { axisRows, bool, isInt, normAxis, num, sameShape } from './util.js';

defineOp({
  name: 'gather', kind: 'other',
  infer: ([t, idx, ...rest]) => {
    if (!t || !idx || rest.length) return 'gather takes (table, idx)';
    if (t.shape.length !== 2) return 'gather table must be [V, D]';
    if (!isInt(idx.dtype)) return 'gather indices must be integer';
    return { shape: [...idx.shape, t.shape[1]!], dtype: t.dtype };
  },
  ref: ([t, idx], _a, out) => {
    const [V, D] = t!.shape as [number, number];
    const r = new Float64Array(numel(out.shape));
    idx!.data.forEach((id, i) => {
      if (id >= 0 && id < V) for (let d = 0; d < D; d++) r[i * D + d] = t!.data[id * D + d]!;
    });
    return r;
  },
  // d table = rows of dy added at their ids (tied embeddings accumulate in autodiff).
  vjp: (g, node, gy) => [g.scatterAdd(node.inputs[1]!, gy, node.inputs[0]!.shape[0]!), null],
});

defineOp({
  name: 'scatter_add', kind: 'other',
  infer: ([idx, src, ...rest], a) => {
    if (!idx || !src || rest.length) return 'scatter_add takes (idx, src)';
    if (!isInt(idx.dtype)) return 'scatter_add indices must be integer';
    if (src.shape.length !== idx.shape.length + 1 || !sameShape(src.shape.slice(0, -1), idx.shape)) return 'src must be [...idx.shape, D]';
    const rows = num(a, 'rows');
    if (!Number.isInteger(rows) || rows < 0) return 'rows must be a non-negative integer';
    return { shape: [rows, src.shape[src.shape.length - 1]!], dtype: src.dtype };
  },
  ref: ([idx, src], a, out) => {
    const rows = num(a, 'rows'), D = out.shape[1]!;
    const r = new Float64Array(numel(out.shape));
    idx!.data.forEach((id, i) => {
      if (id >= 0 && id < rows) for (let d = 0; d < D; d++) r[id * D + d]! += src!.data[i * D + d]!;
    });
    return r;
  },
  vjp: (g, node, gy) => [null, g.gather(gy, node.inputs[0]!)],
});

defineOp({
  name: 'topk', kind: 'other',
  infer: ([x, ...rest], a) => {
    if (!x || rest.length) return 'topk takes 1 input';
    const k = num(a, 'k');
    if (x.shape.length < 1 || !Number.isInteger(k) || k < 1 || k > x.shape[x.shape.length - 1]!) return `k must be in 1..${x.shape[x.shape.length - 1]}`;
    return { shape: [...x.shape.slice(0, -1), k], dtype: 'i32' };
  },
  ref: ([x], a, out) => {
    const k = num(a, 'k'), n = x!.shape[x!.shape.length - 1]!;
    const r = new Float64Array(numel(out.shape));
    for (let row = 0; row < numel(x!.shape) / n; row++) {
      const ids = Array.from({ length: n }, (_, i) => i);
      const v = (i: number): number => x!.data[row * n + i]!;
      ids.sort((i, j) => (v(j) - v(i)) || (i - j));         // descending, ties → lower index first
      for (let j = 0; j < k; j++) r[row * k + j] = ids[j]!;
    }
    return r;
  },
  vjp: () => [null],
});

defineOp({
  name: 'take_along', kind: 'other',
  infer: ([x, idx, ...rest]) => {
    if (!x || !idx || rest.length) return 'take_along takes (a, idx)';
    if (!isInt(idx.dtype)) return 'take_along indices must be integer';
    if (x.shape.length < 1 || idx.shape.length !== x.shape.length || !sameShape(x.shape.slice(0, -1), idx.shape.slice(0, -1))) return 'a and idx must share leading dims';
    return { shape: idx.shape, dtype: x.dtype };
  },
  ref: ([x, idx], _a, out) => {
    const n = x!.shape[x!.shape.length - 1]!, k = out.shape[out.shape.length - 1]!;
    return Float64Array.from(idx!.data, (id, i) => (id >= 0 && id < n ? x!.data[Math.floor(i / k) * n + id]! : 0));
  },
  // d a[..., n] = Σ_j dy[..., j]·[idx[..., j] = n]: a [1, K] × [K, N] product with the one-hot of idx.
  vjp: (g, node, gy) => {
    const [x, idx] = node.inputs as [Node, Node];
    const n = x.shape[x.shape.length - 1]!, k = idx.shape[idx.shape.length - 1]!;
    const lead = x.shape.slice(0, -1);
    const row = g.reshape(gy, [...lead, 1, k]);                          // [..., 1, K]
    const oh = g.oneHot(idx, n);                                          // [..., K, N]
    return [g.reshape(g.matmul(row, g.cast(oh, gy.dtype)), x.shape), null];
  },
});

defineOp({
  name: 'one_hot', kind: 'other',
  infer: ([idx, ...rest], a) => {
    if (!idx || rest.length) return 'one_hot takes 1 input';
    if (!isInt(idx.dtype)) return 'one_hot indices must be integer';
    const n = num(a, 'n');
    if (!Number.isInteger(n) || n < 1) return 'n must be a positive integer';
    return { shape: [...idx.shape, n], dtype: 'f32' };
  },
  ref: ([idx], a, out) => {
    const n = num(a, 'n');
    const r = new Float64Array(numel(out.shape));
    idx!.data.forEach((id, i) => { if (id >= 0 && id < n) r[i * n + id] = 1; });
    return r;
  },
  vjp: () => [null],
});

/** Inclusive cumulative sum along `axis`; attr `reverse` (optional, default false) sums from the end —
 *  the VJP of a forward cumsum is a reverse cumsum of the gradient. */
defineOp({
  name: 'cumsum', kind: 'other',
  infer: ([x, ...rest], a) => {
    if (!x || rest.length) return 'cumsum takes 1 input';
    if (normAxis(num(a, 'axis'), x.shape.length) === null) return `axis ${String(a.axis)} out of range`;
    return { shape: x.shape, dtype: x.dtype };
  },
  ref: ([x], a) => {
    const { rows, n, stride, base } = axisRows(x!.shape, normAxis(num(a, 'axis'), x!.shape.length)!);
    const rev = bool(a, 'reverse');
    const r = new Float64Array(x!.data.length);
    for (let row = 0; row < rows; row++) {
      let s = 0;
      for (let j = 0; j < n; j++) {
        const o = base(row) + (rev ? n - 1 - j : j) * stride;
        s += x!.data[o]!;
        r[o] = s;
      }
    }
    return r;
  },
  vjp: (g, node, gy) => [g.op('cumsum', [gy], { axis: node.attrs.axis as number, reverse: bool(node.attrs, 'reverse') ? undefined : true })],
});
