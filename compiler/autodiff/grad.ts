// Reverse-mode autodiff over the IR: walks the nodes between `wrt` and `loss` in reverse id order (ids are
// a topological order), applies each op's VJP rule from compiler/ops, and sums the gradients of nodes used
// more than once (tied embeddings, residuals). stop_gradient and integer-valued paths get no gradient.

import type { Node } from '../ir/node.js';
import { isFloat, shapeStr } from '../ir/node.js';
import { IRError, type Graph } from '../ir/graph.js';
import { getOp } from '../ops/registry.js';
import { zeros } from '../ops/util.js';
import { printNode } from '../ir/print.js';

/**
 * Gradients of `loss` with respect to each node of `wrt`, as new nodes of `g`. A non-scalar loss is seeded
 * with ones (the gradient of sum(loss)) unless `seed` (the loss's cotangent) is given. A wrt node that does
 * not influence the loss gets a zero tensor (a broadcast scalar), so callers always have one per node.
 */
export function grad(g: Graph, loss: Node, wrt: readonly Node[], seed?: Node): Map<Node, Node> {
  // Nodes on some path loss ← … ← wrt: ancestors of loss that depend on a wrt node through float values.
  const anc = new Set<Node>();
  const stack = [loss];
  while (stack.length) {
    const n = stack.pop()!;
    if (anc.has(n)) continue;
    anc.add(n);
    for (const i of n.inputs) stack.push(i);
  }
  const order = [...anc].sort((a, b) => a.id - b.id);
  const live = new Set<Node>(wrt.filter((w) => anc.has(w) && isFloat(w.dtype)));
  for (const n of order) {
    if (!live.has(n) && isFloat(n.dtype) && n.op !== 'stop_gradient' && n.inputs.some((i) => live.has(i))) live.add(n);
  }

  const parts = new Map<Node, Node[]>();
  const result = new Map<Node, Node>();
  if (live.has(loss)) {
    if (seed && (seed.shape.join() !== loss.shape.join())) throw new IRError(`grad seed ${shapeStr(seed.shape)} does not match loss ${shapeStr(loss.shape)}`, 'grad');
    const one = g.scalar(1, loss.dtype);
    parts.set(loss, [seed ?? (loss.shape.length ? g.expand(one, loss.shape) : one)]);
  }
  for (let k = order.length - 1; k >= 0; k--) {
    const n = order[k]!;
    const ps = parts.get(n);
    if (!ps || !live.has(n)) continue;
    parts.delete(n);
    // Sum contributions pairwise (a balanced tree keeps fused adds shallow).
    let cur = ps.map((p) => g.cast(p, n.dtype));
    while (cur.length > 1) {
      const next: Node[] = [];
      for (let i = 0; i < cur.length; i += 2) next.push(i + 1 < cur.length ? g.add(cur[i]!, cur[i + 1]!) : cur[i]!);
      cur = next;
    }
    const gy = cur[0]!;
    result.set(n, gy);
    if (n.inputs.length === 0) continue;
    const needs = n.inputs.map((i) => live.has(i));
    if (!needs.some(Boolean)) continue;
    const def = getOp(n.op);
    if (!def.vjp) throw new IRError(`no gradient rule for op '${n.op}' (${printNode(n)})`, n.op);
    const gins = def.vjp(g, n, gy, needs);
    n.inputs.forEach((inp, i) => {
      const gi = gins[i];
      if (!gi || !needs[i]) return;
      if (gi.shape.join() !== inp.shape.join()) throw new IRError(`VJP of '${n.op}' gave ${shapeStr(gi.shape)} for input ${i} of shape ${shapeStr(inp.shape)}`, n.op);
      const list = parts.get(inp);
      if (list) list.push(gi); else parts.set(inp, [gi]);
    });
  }
  const out = new Map<Node, Node>();
  for (const w of wrt) out.set(w, result.get(w) ?? zeros(g, w.shape, isFloat(w.dtype) ? w.dtype : 'f32'));
  return out;
}

/** Text of the gradient graph: every node the gradients depend on, then `grad:<name> = %id` lines. */
export function gradGraphText(g: Graph, grads: ReadonlyMap<Node, Node>): string {
  const need = new Set<Node>();
  const stack = [...grads.values()];
  while (stack.length) {
    const n = stack.pop()!;
    if (need.has(n)) continue;
    need.add(n);
    stack.push(...n.inputs);
  }
  const lines = g.nodes.filter((n) => need.has(n)).map((n) => printNode(n, g));
  for (const [w, d] of grads) lines.push(`grad:${w.name ?? `%${w.id}`} = %${d.id}`);
  return lines.join('\n');
}
