// Reductions over a set of axes (negative axes allowed, keepdims optional): sum, mean, max, logsumexp.
// Their VJPs broadcast the output gradient back (reshape to keepdims + expand); max splits the gradient
// evenly between tied maxima; logsumexp's gradient is the softmax over the reduced axes.

import type { Attrs, Node, Shape } from '../ir/node.js';
import { numel, stridesOf } from '../ir/node.js';
import type { Graph } from '../ir/graph.js';
import { defineOp, type RefTensor } from './registry.js';
import { expandBack, normAxes, nums, strideWalk } from './util.js';

function reducedShape(shape: Shape, axes: readonly number[], keepdims: boolean): number[] {
  const out: number[] = [];
  shape.forEach((d, i) => { if (!axes.includes(i)) out.push(d); else if (keepdims) out.push(1); });
  return out;
}

function axesOf(x: { shape: Shape }, attrs: Attrs): number[] {
  const r = normAxes(nums(attrs, 'axes'), x.shape.length);
  return typeof r === 'string' ? [] : r;
}

/** For every input element, the flat index of the output element it reduces into. */
function reduceIndex(shape: Shape, axes: readonly number[]): { map: Int32Array; outN: number; count: number } {
  const kept = shape.map((d, i) => (axes.includes(i) ? 1 : d));
  const ks = stridesOf(kept);
  // Reduced axes contribute stride 0: all their elements land on the same output.
  const map = strideWalk(shape, shape.map((_, i) => (axes.includes(i) ? 0 : ks[i]!)));
  return { map, outN: numel(kept), count: axes.reduce((c, a) => c * shape[a]!, 1) };
}

function reduceOp(name: string, ref: (x: RefTensor, axes: number[]) => Float64Array, vjp: (g: Graph, node: Node, gy: Node, axes: number[]) => Node): void {
  defineOp({
    name, kind: 'reduce',
    infer: (ins, a) => {
      if (ins.length !== 1) return `${name} takes 1 input`;
      const axes = normAxes(nums(a, 'axes'), ins[0]!.shape.length);
      if (typeof axes === 'string') return axes;
      return { shape: reducedShape(ins[0]!.shape, axes, a.keepdims === true), dtype: ins[0]!.dtype };
    },
    ref: (ins, a) => ref(ins[0]!, axesOf(ins[0]!, a)),
    vjp: (g, node, gy) => [vjp(g, node, gy, axesOf(node.inputs[0]!, node.attrs))],
  });
}

reduceOp('sum', (x, axes) => {
  const { map, outN } = reduceIndex(x.shape, axes);
  const r = new Float64Array(outN);
  x.data.forEach((v, i) => { r[map[i]!]! += v; });
  return r;
}, (g, node, gy, axes) => expandBack(g, gy, node.inputs[0]!.shape, axes));

reduceOp('mean', (x, axes) => {
  const { map, outN, count } = reduceIndex(x.shape, axes);
  const r = new Float64Array(outN);
  x.data.forEach((v, i) => { r[map[i]!]! += v; });
  return r.map((v) => v / count);
}, (g, node, gy, axes) => {
  const x = node.inputs[0]!;
  const count = axes.reduce((c, a) => c * x.shape[a]!, 1);
  return expandBack(g, g.div(gy, g.scalar(count, gy.dtype)), x.shape, axes);
});

reduceOp('max', (x, axes) => {
  const { map, outN } = reduceIndex(x.shape, axes);
  const r = new Float64Array(outN).fill(-Infinity);
  x.data.forEach((v, i) => { if (v > r[map[i]!]!) r[map[i]!] = v; });
  return r;
}, (g, node, gy, axes) => {
  const x = node.inputs[0]!;
  const mask = g.compare(x, expandBack(g, node, x.shape, axes), 'eq');          // 1 at the maxima
  const ties = expandBack(g, g.sum(mask, axes, false), x.shape, axes);
  return g.div(g.mul(mask, expandBack(g, gy, x.shape, axes)), ties);
});

// logsumexp = m + log Σ exp(x - m), m the max (stable); d/dx = exp(x - out)
reduceOp('logsumexp', (x, axes) => {
  const { map, outN } = reduceIndex(x.shape, axes);
  const m = new Float64Array(outN).fill(-Infinity);
  x.data.forEach((v, i) => { if (v > m[map[i]!]!) m[map[i]!] = v; });
  const s = new Float64Array(outN);
  x.data.forEach((v, i) => { s[map[i]!]! += Math.exp(v - m[map[i]!]!); });
  return m.map((mv, o) => (mv === -Infinity ? -Infinity : mv + Math.log(s[o]!)));
}, (g, node, gy, axes) => {
  const x = node.inputs[0]!;
  const p = g.exp(g.sub(x, expandBack(g, node, x.shape, axes)));
  return g.mul(p, expandBack(g, gy, x.shape, axes));
});
