// Mixture-of-experts feed-forward (GShard top-2, as MM1's MoE variants): f32 softmax router, top-1 = argmax,
// top-2 = argmax after masking top-1, gates renormalised g1/(g1+g2), fixed expert capacity (tokens over it
// are dropped and keep only the residual), dispatch/combine as one-hot [N, E, C] tensors so the experts run
// as one batched SwiGLU matmul over [E, C, D]. Also the load-balance and router z-losses.

import type { Graph } from '../ir/graph.js';
import type { Node } from '../ir/node.js';
import type { MoeSpec } from '../semantics/spec.js';
import { normalInit } from './common.js';

export interface MoeParams { router: Node; w1: Node; w3: Node; w2: Node }

export function moeParams(g: Graph, prefix: string, D: number, ffn: number, moe: MoeSpec, outStd: number): MoeParams {
  const E = moe.experts;
  return {
    router: g.param(`${prefix}.router`, [D, E], normalInit()),                               // [D, E]
    w1: g.param(`${prefix}.experts.w1`, [E, D, ffn], normalInit()),                          // [E, D, ffn]
    w3: g.param(`${prefix}.experts.w3`, [E, D, ffn], normalInit()),
    w2: g.param(`${prefix}.experts.w2`, [E, ffn, D], normalInit(outStd)),                    // [E, ffn, D]
  };
}

/** Expert capacity: ceil(N · factor / E) rounded up to a multiple of 4 (factor defaults to the spec's). */
export function moeCapacity(N: number, moe: MoeSpec, factor = moe.capacity): number {
  const c = Math.ceil((N * factor) / moe.experts);
  return Math.ceil(c / 4) * 4;
}

export interface MoeResult {
  y: Node;              // [N, D] expert output (zero rows for fully dropped tokens)
  balance: Node;        // [] load-balance loss (unweighted)
  zLoss: Node;          // [] router z-loss (unweighted)
  aux: Node;            // [] balance·w_b + zLoss·w_z
  capacity: number;
  dispatch: Node;       // [N, E, C] 0/1
  combine: Node;        // [N, E, C] gate weights of kept assignments
  probs: Node;          // [N, E]
}

/**
 * x [N, D] → MoE FFN output [N, D] and the auxiliary losses. `factor` overrides the capacity factor (inference
 * may pass `experts`, which makes C ≥ N so no token is ever dropped).
 */
export function lowerMoe(g: Graph, p: MoeParams, moe: MoeSpec, x: Node, factor = moe.capacity): MoeResult {
  const [N, D] = x.shape as [number, number];
  const E = moe.experts;
  const C = moeCapacity(N, moe, factor);
  const logits = g.matmul(x, p.router);                                                      // [N, E]
  const probs = g.softmax(logits, -1);                                                       // [N, E]
  const idx = g.topk(probs, moe.topK);                                                       // [N, k] i32
  const pick = (j: number): Node => g.reshape(g.slice(idx, [0, j], [N, j + 1]), [N]);        // [N]
  const mask1 = g.oneHot(pick(0), E);                                                        // [N, E]
  const p1 = g.sum(g.mul(probs, mask1), [1]);                                                // [N]
  const one = g.scalar(1);

  // Slot of each assignment in its expert's buffer: running count of earlier tokens routed there
  // (top-1 assignments first; top-2 ones queue after all top-1 ones of that expert).
  const slotOf = (mask: Node, offset: Node | null): Node => {
    let loc = g.sub(g.cumsum(mask, 0), one);                                                 // [N, E]
    if (offset) loc = g.add(loc, offset);
    return g.sum(g.mul(loc, mask), [1]);                                                     // [N]
  };
  const Cs = g.scalar(C);
  const route = (mask: Node, slot: Node, gate: Node): { disp: Node; comb: Node } => {
    const keep = g.compare(slot, Cs, 'lt');                                                  // [N] 0/1
    const slotIdx = g.cast(g.where(keep, slot, g.scalar(-1)), 'i32');                        // [N], −1 = dropped
    const oh = g.reshape(g.oneHot(slotIdx, C), [N, 1, C]);                                   // [N, 1, C]
    const disp = g.mul(g.reshape(mask, [N, E, 1]), oh);                                      // [N, E, C]
    const comb = g.mul(disp, g.reshape(gate, [N, 1, 1]));
    return { disp, comb };
  };

  let dispatch: Node, combine: Node;
  const r1slot = slotOf(mask1, null);
  if (moe.topK >= 2) {
    const mask2 = g.oneHot(pick(1), E);
    const p2 = g.sum(g.mul(probs, mask2), [1]);
    const denom = g.add(p1, p2);
    const count1 = g.sum(mask1, [0], true);                                                  // [1, E]
    const r1 = route(mask1, r1slot, g.div(p1, denom));
    const r2 = route(mask2, slotOf(mask2, count1), g.div(p2, denom));
    dispatch = g.add(r1.disp, r2.disp);
    combine = g.add(r1.comb, r2.comb);
  } else {
    const r1 = route(mask1, r1slot, p1);
    dispatch = r1.disp; combine = r1.comb;
  }

  // Experts: gather their inputs by the dispatch tensor, one batched SwiGLU, scatter back by combine.
  const xe = g.reshape(g.matmul(g.reshape(dispatch, [N, E * C]), x, { transA: true }), [E, C, D]);   // [E, C, D]
  const h = g.mul(g.silu(g.matmul(xe, p.w1)), g.matmul(xe, p.w3));                                    // [E, C, ffn]
  const ye = g.reshape(g.matmul(h, p.w2), [E * C, D]);                                                // [E·C, D]
  const y = g.matmul(g.reshape(combine, [N, E * C]), ye);                                             // [N, D]

  // Load balance: E² · mean_e(mean_n(probs) · mean_n(top-1 one-hot)), before any capacity drop (GShard).
  const me = g.mean(probs, [0]);                                                             // [E]
  const ce = g.mean(mask1, [0]);                                                             // [E]
  const balance = g.mul(g.scalar(E * E), g.mean(g.mul(me, ce), [0]));
  const lse = g.logsumexp(logits, [1]);                                                      // [N]
  const zLoss = g.mean(g.mul(lse, lse), [0]);
  const aux = g.add(g.mul(g.scalar(moe.balance), balance), g.mul(g.scalar(moe.zLoss), zLoss));
  return { y, balance, zLoss, aux, capacity: C, dispatch, combine, probs };
}
