// Codegen-side rewrite of the reachable graph into a topologically ordered node list: adds internal nodes
// that only kernels need (attention backward stats, norm row statistics for grad_w, f16 casts of matmul
// operands) by cloning affected nodes. Clones are plain Node objects with negative ids; `orig` maps back.

import { numel, type Attrs, type DType, type Node, type Shape } from '../ir/node.js';
import type { Graph } from '../ir/graph.js';
import { epsOf, normAxis, NORMS } from '../codegen/rows.js';


export interface Rewritten {
  order: Node[];                          // every reachable node, inputs before consumers
  roots: Map<string, Node>;               // graph outputs after rewriting
  assigns: [Node, Node][];                // (leaf, value) after rewriting
  orig: Map<Node, number>;                // clone → original IR id (for kernel listings)
}

let nextVirtual = -1;
export function virtualNode(op: string, inputs: readonly Node[], attrs: Attrs, shape: Shape, dtype: DType): Node {
  return Object.freeze({ id: nextVirtual--, op, inputs: [...inputs], attrs: Object.freeze({ ...attrs }), shape: Object.freeze([...shape]), dtype });
}


/** Is `o` the attention forward of a backward node's inputs (q, k, v, o, dO, masks...) with these attrs? */
function isForwardOf(o: Node, ins: readonly Node[], attrs: Attrs): boolean {
  const masks = ins.slice(5);
  return o.op === 'attention' && o.inputs.length === 3 + masks.length && JSON.stringify(o.attrs) === JSON.stringify(attrs) &&
    o.inputs.every((x, i) => x === (i < 3 ? ins[i] : masks[i - 3]));
}

/**
 * A sum of everything over at least SPLIT_MIN elements runs in two stages: G workgroups sum a slice each, one
 * sums the G partials (fixed order, so results are reproducible). One workgroup alone is one SM of a GPU or
 * one thread of a CPU adapter: the per-parameter squared-gradient sums of the global norm (the largest,
 * 32000×768 for the 134M decoder) each ran on a single workgroup.
 */
const SPLIT_MIN = 65536;
/** Partial count: the largest divisor of n up to 1024 leaving at least 256 elements per partial (1: no split). */
function partials(n: number): number {
  for (let g = Math.min(1024, Math.floor(n / 256)); g >= 2; g--) if (n % g === 0) return g;
  return 1;
}
/** Parts per concat kernel: with the output, within the WebGPU default of 8 storage buffers. */
const CONCAT_FAN_IN = 6;

/**
 * Split-K for weight gradients: xᵀ·dy over many tokens has a small output ([d, d]: 36 tiles of 128×128 for
 * d = 768) and a long K (B·T = 16384), so a big GPU gets under one workgroup per SM, each looping over all of
 * K. Split K into S contiguous slices (a batched matmul: S times the workgroups, each 1/S of K) and sum the
 * partials, with S the first divisor of K from ⌈SPLITK_WORKGROUPS / tiles⌉ up (at most 16, slices of at least
 * 1024). Only where K's slices are contiguous in both operands (A transposed, B not) and K ≥ SPLITK_MIN_K;
 * never on software adapters, whose few threads the output tiles already fill.
 */
const SPLITK_WORKGROUPS = 512, SPLITK_MIN_K = 4096, SPLITK_MAX = 16;
function kSplits(mm: Node, ins: Node[]): number {
  const [a, b] = ins as [Node, Node];
  if (mm.attrs.transA !== true || mm.attrs.transB === true || a.shape.length !== 2 || b.shape.length !== 2) return 1;
  const [K, M] = a.shape as [number, number], N = b.shape[1]!;
  const tiles = Math.ceil(M / 128) * Math.ceil(N / 128);
  if (tiles * 2 > SPLITK_WORKGROUPS || K < SPLITK_MIN_K) return 1;
  const most = Math.min(SPLITK_MAX, Math.floor(K / 1024));
  const want = Math.min(most, Math.ceil(SPLITK_WORKGROUPS / tiles));
  for (let s = want; s <= most; s++) if (K % s === 0) return s;
  for (let s = want - 1; s >= 2; s--) if (K % s === 0) return s;
  return 1;
}

/**
 * `castF16`: matmul operands are cast to f16 (when precision f16): leaves and f32-only values get an
 * explicit cast node so both operands share the f16 storage the tuned matmul wants.
 */
export function rewrite(graph: Graph, outputs: readonly string[], castF16: (n: Node) => boolean, opts: { splitK?: boolean } = {}): Rewritten {
  const roots: Node[] = [];
  for (const name of outputs) {
    const n = graph.outputs.get(name);
    if (!n) throw new Error(`compileProgram: no graph output named '${name}' (have: ${[...graph.outputs.keys()].join(', ')})`);
    roots.push(n);
  }
  for (const v of graph.assigns.values()) roots.push(v);
  // Reachable set, in id order (ids are a topological order).
  const seen = new Set<Node>();
  const stack = [...roots];
  for (const leaf of graph.assigns.keys()) stack.push(leaf);
  while (stack.length) {
    const n = stack.pop()!;
    if (seen.has(n)) continue;
    seen.add(n);
    for (const i of n.inputs) stack.push(i);
  }
  const sorted = [...seen].sort((a, b) => a.id - b.id);
  const repl = new Map<Node, Node>();
  const order: Node[] = [];
  const orig = new Map<Node, number>();
  const memo = new Map<string, Node>();
  const add = (n: Node): Node => { order.push(n); return n; };
  const shared = (key: string, make: () => Node): Node => {
    let h = memo.get(key);
    if (!h) { h = add(make()); memo.set(key, h); }
    return h;
  };
  // Second stages of split sums wait until something reads them, so a run of first stages (the global norm's
  // partials, one per parameter) stays consecutive and shares a kernel, and so do the second stages.
  const deferred = new Map<Node, Node[]>();
  const flush = (x: Node): void => { const d = deferred.get(x); if (d) { deferred.delete(x); for (const y of d) add(y); } };
  for (const n0 of sorted) {
    let ins = n0.inputs.map((i) => repl.get(i) ?? i);
    for (const x of ins) flush(x);
    let extra: Node | null = null;
    if (n0.op.startsWith('attention_grad_')) {
      extra = shared(`stats:${ins.map((i) => i.id).join(',')}:${JSON.stringify(n0.attrs)}`, () => {
        const [q, , , o, dO] = ins as [Node, Node, Node, Node, Node];
        const shape = [...q.shape.slice(0, 3), 2];
        // When o is this very attention's forward, its kernel also writes lse (a second output) and the
        // statistics are a per-row Δ = dO·o beside it: no second pass over the keys.
        if (!isForwardOf(o, ins, n0.attrs)) return virtualNode('_attn_stats', ins, n0.attrs, shape, 'f32');
        const lse = shared(`lse:${o.id}`, () => virtualNode('_attn_lse', [o], o.attrs, q.shape.slice(0, 3), 'f32'));
        return virtualNode('_attn_stats', [lse, o, dO], { ...n0.attrs, fromLse: true }, shape, 'f32');
      });
    } else if (n0.op.endsWith('_grad_w') && NORMS.has(n0.op.slice(0, -7))) {
      const x = ins[0]!;
      const fam = n0.op.slice(0, -7);
      const axis = normAxis(fam, x.shape.length), eps = epsOf(n0, fam);
      const rows = x.shape.reduce((a, d) => a * d, 1) / x.shape[axis]!;
      extra = shared(`nstats:${x.id}:${fam}:${eps}`, () => virtualNode('_norm_stats', [x], { axis, eps, rms: fam === 'rmsnorm' }, [rows, 2], 'f32'));
    } else if (n0.op === 'concat' && ins.length > CONCAT_FAN_IN) {
      // Many parts would need more storage bindings than a kernel may have: concat chunks, then the chunks.
      const axis = ((n0.attrs.axis as number) + n0.shape.length) % n0.shape.length;
      const parts: Node[] = [];
      for (let k = 0; k < ins.length; k += CONCAT_FAN_IN) {
        const chunk = ins.slice(k, k + CONCAT_FAN_IN);
        if (chunk.length === 1) { parts.push(chunk[0]!); continue; }
        const shape = [...chunk[0]!.shape];
        shape[axis] = chunk.reduce((a, x) => a + x.shape[axis]!, 0);
        parts.push(add(virtualNode('concat', chunk, { axis }, shape, n0.dtype)));
      }
      ins = parts;
    } else if (n0.op === 'sum' && numel(n0.shape) === 1 && numel(ins[0]!.shape) >= SPLIT_MIN) {
      const x = ins[0]!;
      const N = numel(x.shape), G = partials(N);
      if (G > 1) {
        const rows = add(virtualNode('reshape', [x], { shape: [G, N / G] }, [G, N / G], x.dtype));
        const part = add(virtualNode('sum', [rows], { axes: [1], keepdims: false }, [G], n0.dtype));
        const later = [virtualNode('sum', [part], { axes: [0], keepdims: false }, [], n0.dtype)];
        if (n0.shape.length) later.push(virtualNode('reshape', [later[0]!], { shape: n0.shape }, n0.shape, n0.dtype));
        const total = later[later.length - 1]!;
        deferred.set(total, later);
        orig.set(total, n0.id);
        repl.set(n0, total);
        continue;
      }
    } else if (n0.op === 'matmul') {
      ins = ins.map((x) => (castF16(x) ? shared(`f16:${x.id}`, () => virtualNode('cast', [x], { dtype: 'f16' }, x.shape, 'f16')) : x));
      const S = opts.splitK ? kSplits(n0, ins) : 1;
      if (S > 1) {
        // xᵀ·dy with K = tokens: [S, K/S, M]ᵀ × [S, K/S, N] → [S, M, N] partials (both reshapes of contiguous
        // buffers, so no copy), then their sum over S.
        const [a, b] = ins as [Node, Node];
        const [K, M] = a.shape as [number, number], N = b.shape[1]!;
        const ra = add(virtualNode('reshape', [a], { shape: [S, K / S, M] }, [S, K / S, M], a.dtype));
        const rb = add(virtualNode('reshape', [b], { shape: [S, K / S, N] }, [S, K / S, N], b.dtype));
        const part = add(virtualNode('matmul', [ra, rb], { transA: true, transB: false }, [S, M, N], n0.dtype));
        const total = add(virtualNode('sum', [part], { axes: [0], keepdims: false }, [M, N], n0.dtype));
        orig.set(total, n0.id);
        repl.set(n0, total);
        continue;
      }
    }
    if (extra) ins = [...ins, extra];
    const changed = extra !== null || ins.some((x, k) => x !== n0.inputs[k]);
    if (!changed) { add(n0); continue; }
    const c = virtualNode(n0.op, ins, n0.attrs, n0.shape, n0.dtype);
    orig.set(c, n0.id);
    repl.set(n0, c);
    add(c);
  }
  for (const x of [...deferred.keys()]) flush(x);       // read by nothing but the outputs
  const r = (n: Node): Node => repl.get(n) ?? n;
  return {
    order,
    roots: new Map(outputs.map((name) => [name, r(graph.outputs.get(name)!)])),
    assigns: [...graph.assigns].map(([t, v]) => [t, r(v)]),
    orig,
  };
}
