// Fusion: decides which nodes get a buffer (are materialized, each by one kernel) and which are recomputed
// inside their consumers' kernels as load functions. Elementwise, movement and cheap indexing ops fuse into
// consumers; single-consumer elementwise chains over a matmul's result become the matmul's epilogue.

import type { DType, Node } from '../ir/node.js';
import { isFloat } from '../ir/node.js';
import { getOp } from '../ops/registry.js';
import { isPlainFusable, sameShape, type PlanView } from '../codegen/expr.js';
import { FUSABLE_INDEX_OPS } from '../codegen/loaders.js';
import { matmulSpecOk } from '../codegen/kernel.js';

const LEAVES = new Set(['input', 'param', 'state', 'const']);
const CHEAP = new Set(['reshape', 'expand', 'permute', 'slice', 'stop_gradient', 'scalar', 'cast']);
/** Kernels that read each input element many times: a non-trivial fused producer would be recomputed. */
// (Attention forward is not here: it reads q once and k/v once per 32-query block, so rope and head
// permutes fuse into its loads for free compared with its own work.)
const HEAVY = new Set(['attention_grad_q', 'attention_grad_k', 'attention_grad_v', '_attn_stats', 'conv2d',
  'conv2d_grad_input', 'conv2d_grad_weight', 'scatter_add', 'topk', 'cumsum', 'matmul', 'adaptive_avg_pool2d_grad']);
/** Values kept in f32 storage even in f16 mode: reductions, losses, statistics. */
const KEEP_F32 = new Set(['sum', 'mean', 'max', 'logsumexp', 'cross_entropy', '_norm_stats', '_attn_stats', '_attn_lse', 'scatter_add',
  'layernorm_grad_w', 'layernorm2d_grad_w', 'rmsnorm_grad_w']);

/** A multi-use elementwise value is recomputed in its consumers (not materialized) up to this size. */
const RECOMPUTE_MAX_OPS = 10, RECOMPUTE_MAX_USES = 3;

export const isLeaf = (n: Node): boolean => LEAVES.has(n.op);

export function fusable(n: Node): boolean {
  if (isLeaf(n)) return false;
  return isPlainFusable(n.op) || FUSABLE_INDEX_OPS.has(n.op);
}

/** Storage dtype rule (independent of fusion, so rewrite can use it before the plan exists). */
export function storageRule(precision: 'f32' | 'f16', f16ok: boolean, isRoot: (n: Node) => boolean) {
  return (n: Node): DType => {
    if (n.dtype === 'f16') return f16ok ? 'f16' : 'f32';
    if (!isFloat(n.dtype) || isLeaf(n)) return n.dtype;
    if (precision === 'f16' && f16ok && !isRoot(n) && !KEEP_F32.has(n.op)) return 'f16';
    return 'f32';
  };
}

export interface FusionPlan extends PlanView {
  materialized: Set<Node>;
  /** Kernel output node → the matmul whose accumulator its elementwise tree consumes. */
  epilogue: Map<Node, Node>;
  consumers: Map<Node, Node[]>;
  /** permute(A, [0, 2, 1, 3]) → the attention node A whose kernel writes that layout directly. */
  swapped: Map<Node, Node>;
  /** Node whose buffer backs `n` (n itself, or the producer of a reshape view). */
  bufferOf(n: Node): Node;
}

/**
 * Roots that are reshapes of a single-consumer value become views: the value itself is the root (so no
 * copy kernel runs just to reshape an output). Returns root → the node to materialize.
 */
export function viewRoots(order: readonly Node[], roots: Iterable<Node>): Map<Node, Node> {
  const uses = new Map<Node, number>();
  for (const n of order) for (const i of new Set(n.inputs)) uses.set(i, (uses.get(i) ?? 0) + 1);
  const rootList = [...roots];
  const out = new Map<Node, Node>();
  for (const r of rootList) {
    let x = r;
    while (x.op === 'reshape' && !isLeaf(x.inputs[0]!) && (uses.get(x.inputs[0]!) ?? 0) === 1 && !rootList.includes(x.inputs[0]!)) x = x.inputs[0]!;
    out.set(r, x);
  }
  return out;
}

export function planFusion(order: readonly Node[], roots: ReadonlySet<Node>, storage: (n: Node) => DType, force: ReadonlySet<Node>): FusionPlan {
  const consumers = new Map<Node, Node[]>();
  for (const n of order) for (const i of n.inputs) {
    const c = consumers.get(i) ?? [];
    if (!c.includes(n)) c.push(n);
    consumers.set(i, c);
  }
  const M = new Set<Node>();
  for (const n of order) if (!fusable(n) || roots.has(n) || force.has(n)) M.add(n);
  for (const n of order) if (n.op === 'scalar' && !roots.has(n) && !force.has(n)) M.delete(n);
  // cheap(n): index arithmetic over buffers only, free to recompute anywhere.
  const cheapMemo = new Map<Node, boolean>();
  const cheap = (n: Node): boolean => {
    if (M.has(n) || n.op === 'scalar') return true;
    let c = cheapMemo.get(n);
    if (c === undefined) { c = CHEAP.has(n.op) && n.inputs.every(cheap); cheapMemo.set(n, c); }
    return c;
  };
  // Count input references, not distinct consumers: mul(x, x) reads x twice, and chains of those would
  // recompute exponentially.
  const refs = new Map<Node, number>();
  for (const n of order) for (const i of n.inputs) refs.set(i, (refs.get(i) ?? 0) + 1);
  // ...unless n is a small elementwise expression over buffers: recomputing a few arithmetic ops in each
  // consumer costs less than a kernel that writes the value and kernels that read it back (the optimizer's
  // m̂, v̂ and clipped gradient feed several updates each). cost = ops a consumer recomputes, tree-expanded.
  const costMemo = new Map<Node, number>();
  const cost = (x: Node): number => {
    if (M.has(x) || isLeaf(x) || x.op === 'scalar') return 0;
    let c = costMemo.get(x);
    if (c === undefined) { c = 1 + x.inputs.reduce((a, i) => a + cost(i), 0); costMemo.set(x, c); }
    return c;
  };
  const recomputable = (x: Node): boolean => isPlainFusable(x.op) && (refs.get(x) ?? 0) <= RECOMPUTE_MAX_USES && cost(x) <= RECOMPUTE_MAX_OPS;
  for (const n of order) {
    if (M.has(n)) continue;
    if ((refs.get(n) ?? 0) > 1 && !cheap(n) && !recomputable(n)) M.add(n);
  }
  for (const n of order) {
    if (!HEAVY.has(n.op)) continue;
    for (const x of n.inputs) if (!M.has(x) && !cheap(x)) M.add(x);
  }
  const bufferOf = (n: Node): Node => (M.has(n) || isLeaf(n) ? n : n.op === 'reshape' ? bufferOf(n.inputs[0]!) : n);
  // Tuned matmuls need their operands in buffers (a reshape of a buffer is the same buffer).
  for (const n of order) {
    if (n.op !== 'matmul' || !matmulSpecOk(n)) continue;
    for (const x of n.inputs) { const b = bufferOf(x); if (!M.has(b) && !isLeaf(b)) M.add(b); }
  }
  // Attention outputs merged back into [B, T, H, D] by a permute: the attention kernel writes that layout.
  const swapped = new Map<Node, Node>();
  for (const a of order) {
    if (a.op !== 'attention' && !a.op.startsWith('attention_grad_')) continue;
    const cs = consumers.get(a) ?? [];
    const p = cs[0];
    if (cs.length !== 1 || roots.has(a) || force.has(a) || !p || p.op !== 'permute' || (p.attrs.perm as number[]).join() !== '0,2,1,3') continue;
    M.delete(a);
    M.add(p);
    swapped.set(p, a);
  }
  // Matmul epilogues: climb single-consumer, same-shape elementwise chains.
  const epilogue = new Map<Node, Node>();
  const claimed = new Set<Node>();
  for (const mm of order) {
    if (mm.op !== 'matmul' || roots.has(mm) || force.has(mm) || !matmulSpecOk(mm)) continue;
    let cur = mm, top: Node | null = null;
    const chain: Node[] = [];
    for (;;) {
      const cs = consumers.get(cur) ?? [];
      if (cs.length !== 1 || (cur !== mm && M.has(cur))) break;
      const c = cs[0]!;
      // A reshape keeps the flat order the epilogue indexes by (bi·M·N + row·N + col): climb through it, so the
      // residual add after [B·T, D] → [B, T, D] joins its matmul.
      if (c.op === 'reshape' && !M.has(c) && !claimed.has(c)) { chain.push(c); cur = c; continue; }
      let kind: string;
      try { kind = getOp(c.op).kind; } catch { break; }
      if (kind !== 'elementwise' || c.op === 'one_hot' || c.op === 'scalar' || !sameShape(c.shape, cur.shape) || !isFloat(c.dtype) || claimed.has(c) || epilogue.has(c)) break;
      if (c.inputs.filter((x) => x === cur).length !== 1) break;
      chain.push(c);
      top = c;
      if (M.has(c)) break;
      cur = c;
    }
    if (!top) continue;
    for (const c of chain) claimed.add(c);
    M.delete(mm);
    M.add(top);
    epilogue.set(top, mm);
  }
  return {
    materialized: M, epilogue, swapped, consumers, bufferOf,
    isBuffer: (n) => isLeaf(n) || M.has(n),
    storage: (n) => storage(bufferOf(n)),
  };
}
