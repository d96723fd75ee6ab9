// Per-row cross-entropy from logits: loss_i = logsumexp(l_i) − l_i[t_i], 0 where t_i < 0 or t_i ≥ V
// (ignored positions). Backward op cross_entropy_grad(logits, target, dy) → dy_i·(softmax(l_i) − onehot(t_i)),
// zero rows for ignored targets: one fused kernel, no [N, V] probabilities kept from the forward.

import type { Node } from '../ir/node.js';
import { defineOp, type RefTensor } from './registry.js';
import { isInt } from './util.js';

function checkLT(l: Node | undefined, t: Node | undefined): string | null {
  if (!l || !t) return 'needs (logits, target)';
  if (l.shape.length !== 2) return 'logits must be [N, V]';
  if (!isInt(t.dtype) || t.shape.length !== 1 || t.shape[0] !== l.shape[0]) return `target must be int [${l.shape[0]}]`;
  return null;
}

/** Each row's max and log Σ exp(l − max), the stable pieces of logsumexp. */
function rowLse(l: RefTensor, i: number): number {
  const V = l.shape[1]!;
  let m = -Infinity, s = 0;
  for (let v = 0; v < V; v++) m = Math.max(m, l.data[i * V + v]!);
  for (let v = 0; v < V; v++) s += Math.exp(l.data[i * V + v]! - m);
  return m + Math.log(s);
}

defineOp({
  name: 'cross_entropy', kind: 'composite',
  infer: ([l, t, ...rest]) => (rest.length ? 'cross_entropy takes (logits, target)' : checkLT(l, t) ?? { shape: [l!.shape[0]!], dtype: 'f32' }),
  ref: ([l, t]) => {
    const [N, V] = l!.shape as [number, number];
    const r = new Float64Array(N);
    for (let i = 0; i < N; i++) {
      const ti = t!.data[i]!;
      if (ti >= 0 && ti < V) r[i] = rowLse(l!, i) - l!.data[i * V + ti]!;
    }
    return r;
  },
  vjp: (g, node, gy) => [g.op('cross_entropy_grad', [node.inputs[0]!, node.inputs[1]!, gy]), null],
});

defineOp({
  name: 'cross_entropy_grad', kind: 'composite',
  infer: ([l, t, dy, ...rest]) => {
    const e = rest.length ? 'cross_entropy_grad takes (logits, target, dy)' : checkLT(l, t);
    if (e) return e;
    if (!dy || dy.shape.length !== 1 || dy.shape[0] !== l!.shape[0]) return `dy must be [${l!.shape[0]}]`;
    return { shape: l!.shape, dtype: l!.dtype };
  },
  ref: ([l, t, dy]) => {
    const [N, V] = l!.shape as [number, number];
    const r = new Float64Array(N * V);
    for (let i = 0; i < N; i++) {
      const ti = t!.data[i]!;
      if (!(ti >= 0 && ti < V)) continue;
      const lse = rowLse(l!, i);
      for (let v = 0; v < V; v++) r[i * V + v] = dy!.data[i]! * (Math.exp(l!.data[i * V + v]! - lse) - (v === ti ? 1 : 0));
    }
    return r;
  },
});
