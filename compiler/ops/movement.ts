// Movement ops: reshape (one -1 allowed), permute, expand (broadcast), slice, pad and concat. They carry
// no arithmetic; the fusion pass turns most of them into index arithmetic inside the consuming kernel.
// Each VJP is the adjoint movement: inverse permute, unbroadcast, pad ↔ slice, slices of a concat.

import type { Node, Shape } from '../ir/node.js';
import { numel, stridesOf } from '../ir/node.js';
import { defineOp, type RefTensor } from './registry.js';
import { broadcastMap, normAxis, num, nums, strideWalk, unbroadcast } from './util.js';

/** Resolve a reshape target (one -1 inferred), or an error. */
export function resolveReshape(from: Shape, to: readonly number[]): number[] | string {
  const n = numel(from);
  const free = to.filter((d) => d === -1).length;
  if (free > 1 || to.some((d) => !Number.isInteger(d) || d < -1)) return `bad reshape target [${to.join(', ')}]`;
  const known = to.reduce((p, d) => (d === -1 ? p : p * d), 1);
  const out = to.map((d) => (d === -1 ? (known === 0 ? 0 : n / known) : d));
  if (numel(out) !== n || out.some((d) => !Number.isInteger(d))) return `cannot reshape ${n} elements into [${to.join(', ')}]`;
  return out;
}

defineOp({
  name: 'reshape', kind: 'movement',
  infer: (ins, a) => {
    if (ins.length !== 1) return 'reshape takes 1 input';
    const s = resolveReshape(ins[0]!.shape, nums(a, 'shape'));
    return typeof s === 'string' ? s : { shape: s, dtype: ins[0]!.dtype };
  },
  ref: (ins) => Float64Array.from(ins[0]!.data),
  vjp: (g, node, gy) => [g.reshape(gy, node.inputs[0]!.shape)],
});

defineOp({
  name: 'permute', kind: 'movement',
  infer: (ins, a) => {
    if (ins.length !== 1) return 'permute takes 1 input';
    const p = nums(a, 'perm'), x = ins[0]!;
    if (p.length !== x.shape.length || [...p].sort((u, v) => u - v).some((v, i) => v !== i)) return `perm [${p.join(', ')}] is not a permutation of rank ${x.shape.length}`;
    return { shape: p.map((i) => x.shape[i]!), dtype: x.dtype };
  },
  ref: ([x], a, out) => {
    const p = nums(a, 'perm'), xs = stridesOf(x!.shape);
    // Output axis k walks input axis p[k].
    return Float64Array.from(strideWalk(out.shape, p.map((src) => xs[src]!)), (o) => x!.data[o]!);
  },
  vjp: (g, node, gy) => {
    const p = nums(node.attrs, 'perm');
    const inv = new Array<number>(p.length);
    p.forEach((src, k) => { inv[src] = k; });
    return [g.permute(gy, inv)];
  },
});

defineOp({
  name: 'expand', kind: 'movement',
  infer: (ins, a) => {
    if (ins.length !== 1) return 'expand takes 1 input';
    const s = nums(a, 'shape'), x = ins[0]!;
    if (s.length < x.shape.length) return `cannot expand rank ${x.shape.length} to rank ${s.length}`;
    const lead = s.length - x.shape.length;
    for (let i = 0; i < x.shape.length; i++) {
      if (x.shape[i] !== 1 && x.shape[i] !== s[lead + i]) return `dim ${i} (${x.shape[i]}) cannot expand to ${s[lead + i]}`;
    }
    return { shape: s, dtype: x.dtype };
  },
  ref: ([x], _a, out) => { const m = broadcastMap(x!.shape, out.shape); return Float64Array.from(m, (j) => x!.data[j]!); },
  vjp: (g, node, gy) => [unbroadcast(g, gy, node.inputs[0]!.shape)],
});

/** Copy a box of `src` (shape `box`, starting at `srcStart`) into `dst` at `dstStart`. */
function copyBox(src: RefTensor, srcStart: readonly number[], dst: Float64Array, dstShape: Shape, dstStart: readonly number[], box: Shape): void {
  const ss = stridesOf(src.shape), ds = stridesOf(dstShape);
  const dot = (a: readonly number[], b: readonly number[]): number => a.reduce((acc, v, k) => acc + v * b[k]!, 0);
  const from = strideWalk(box, ss, dot(srcStart, ss)), to = strideWalk(box, ds, dot(dstStart, ds));
  for (let i = 0; i < from.length; i++) dst[to[i]!] = src.data[from[i]!]!;
}

defineOp({
  name: 'slice', kind: 'movement',
  infer: (ins, a) => {
    if (ins.length !== 1) return 'slice takes 1 input';
    const x = ins[0]!, st = nums(a, 'start'), en = nums(a, 'end');
    if (st.length !== x.shape.length || en.length !== x.shape.length) return 'start/end need one entry per axis';
    for (let i = 0; i < st.length; i++) {
      if (!(0 <= st[i]! && st[i]! <= en[i]! && en[i]! <= x.shape[i]!)) return `axis ${i}: need 0 <= start <= end <= ${x.shape[i]}, got ${st[i]}..${en[i]}`;
    }
    return { shape: st.map((s, i) => en[i]! - s), dtype: x.dtype };
  },
  ref: ([x], a, out) => {
    const r = new Float64Array(numel(out.shape));
    copyBox(x!, nums(a, 'start'), r, out.shape, out.shape.map(() => 0), out.shape);
    return r;
  },
  vjp: (g, node, gy) => {
    const x = node.inputs[0]!, st = nums(node.attrs, 'start'), en = nums(node.attrs, 'end');
    return [g.pad(gy, st, en.map((e, i) => x.shape[i]! - e))];
  },
});

defineOp({
  name: 'pad', kind: 'movement',
  infer: (ins, a) => {
    if (ins.length !== 1) return 'pad takes 1 input';
    const x = ins[0]!, be = nums(a, 'before'), af = nums(a, 'after');
    if (be.length !== x.shape.length || af.length !== x.shape.length) return 'before/after need one entry per axis';
    if ([...be, ...af].some((v) => !Number.isInteger(v) || v < 0)) return 'pads must be non-negative integers';
    return { shape: x.shape.map((d, i) => d + be[i]! + af[i]!), dtype: x.dtype };
  },
  ref: ([x], a, out) => {
    const r = new Float64Array(numel(out.shape)).fill(num(a, 'value', 0));
    copyBox(x!, x!.shape.map(() => 0), r, out.shape, nums(a, 'before'), x!.shape);
    return r;
  },
  vjp: (g, node, gy) => {
    const x = node.inputs[0]!, be = nums(node.attrs, 'before');
    return [g.slice(gy, be, be.map((b, i) => b + x.shape[i]!))];
  },
});

defineOp({
  name: 'concat', kind: 'movement',
  infer: (ins, a) => {
    if (ins.length < 1) return 'concat needs at least 1 input';
    const r = ins[0]!.shape.length, ax = normAxis(num(a, 'axis'), r);
    if (ax === null) return `axis ${String(a.axis)} out of range for rank ${r}`;
    let total = 0;
    for (const n of ins) {
      if (n.shape.length !== r || n.shape.some((d, i) => i !== ax && d !== ins[0]!.shape[i])) return 'concat inputs differ off the concat axis';
      if (n.dtype !== ins[0]!.dtype) return 'concat inputs differ in dtype';
      total += n.shape[ax]!;
    }
    return { shape: ins[0]!.shape.map((d, i) => (i === ax ? total : d)), dtype: ins[0]!.dtype };
  },
  ref: (ins, a, out) => {
    const ax = normAxis(num(a, 'axis'), out.shape.length)!;
    const r = new Float64Array(numel(out.shape));
    let at = 0;
    for (const t of ins) {
      copyBox(t, t.shape.map(() => 0), r, out.shape, out.shape.map((_, i) => (i === ax ? at : 0)), t.shape);
      at += t.shape[ax]!;
    }
    return r;
  },
  vjp: (g, node, gy) => {
    const ax = normAxis(num(node.attrs, 'axis'), node.shape.length)!;
    let at = 0;
    return node.inputs.map((x: Node) => {
      const st = x.shape.map((_, i) => (i === ax ? at : 0));
      const en = x.shape.map((d, i) => (i === ax ? at + d : d));
      at += x.shape[ax]!;
      return g.slice(gy, st, en);
    });
  },
});
