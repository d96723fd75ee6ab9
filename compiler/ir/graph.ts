// Graph: the builder and owner of IR nodes. `op()` hash-conses (an identical op on identical inputs returns
// the existing node), infers shape and dtype through the op table, and records leaves (inputs, params,
// constants). The typed helpers below are the vocabulary every lowering uses; each documents its semantics,
// which the CPU reference (compiler/ops) and the WGSL kernels (compiler/codegen) must both implement.

import type { AttrValue, Attrs, DType, LeafKind, Node, Shape } from './node.js';
import { getOp } from '../ops/registry.js';

/** How a parameter is initialised (deterministic from the run's seed and the parameter's name). */
export type Init =
  | { kind: 'normal'; std: number; truncate?: number }   // truncated at ±truncate·std (default 2)
  | { kind: 'zeros' } | { kind: 'ones' } | { kind: 'const'; value: number };

export interface LeafInfo {
  kind: LeafKind; init?: Init; value?: Float64Array; trainable?: boolean;
  /** Everything computed from this leaf stays f32 even in f16 mode (optimizer moments, learning rate). */
  keepF32?: boolean;
}

export class IRError extends Error {
  constructor(message: string, readonly op: string) { super(message); }
}

function attrKey(a: Attrs): string {
  const keys = Object.keys(a).sort();
  return keys.map((k) => `${k}=${JSON.stringify(a[k])}`).join(',');
}

export class Graph {
  readonly nodes: Node[] = [];
  readonly leaves = new Map<Node, LeafInfo>();
  readonly byName = new Map<string, Node>();          // leaves by name
  /** Named results of the graph (e.g. 'loss', 'logits', 'grad:decoder.embed'). */
  readonly outputs = new Map<string, Node>();
  /**
   * Updates applied at the end of a step: the leaf (a param or state) takes the node's value. This is how
   * optimizer updates and KV-cache writes stay functional in the IR; the executor writes them in place
   * where the memory plan allows (e.g. cache_write), else copies after the step.
   */
  readonly assigns = new Map<Node, Node>();
  private readonly memo = new Map<string, Node>();
  private nextId = 0;

  /** Generic constructor: every typed helper funnels through here. Throws IRError on a shape mismatch
   *  (that is a compiler bug: user errors are caught by the checker before lowering). */
  op(op: string, inputs: readonly Node[], attrs: Record<string, AttrValue | undefined> = {}): Node {
    const clean: Record<string, AttrValue> = {};
    for (const [k, v] of Object.entries(attrs)) if (v !== undefined) clean[k] = v;
    const key = `${op}(${inputs.map((n) => n.id).join(',')}){${attrKey(clean)}}`;
    const hit = this.memo.get(key);
    if (hit) return hit;
    const def = getOp(op);
    const r = def.infer(inputs, clean);
    if (typeof r === 'string') {
      const ins = inputs.map((n) => `${n.dtype}[${n.shape.join(',')}]`).join(', ');
      throw new IRError(`${op}(${ins}) ${JSON.stringify(clean)}: ${r}`, op);
    }
    const node: Node = Object.freeze({ id: this.nextId++, op, inputs: [...inputs], attrs: Object.freeze(clean), shape: Object.freeze([...r.shape]), dtype: r.dtype });
    this.nodes.push(node);
    this.memo.set(key, node);
    return node;
  }

  private leaf(kind: LeafKind, name: string, shape: Shape, dtype: DType, info: Omit<LeafInfo, 'kind'>): Node {
    if (this.byName.has(name)) throw new IRError(`leaf '${name}' declared twice`, kind);
    const node: Node = Object.freeze({ id: this.nextId++, op: kind, inputs: [], attrs: Object.freeze({}), shape: Object.freeze([...shape]), dtype, name });
    this.nodes.push(node);
    this.leaves.set(node, { kind, ...info });
    this.byName.set(name, node);
    return node;
  }

  // ── leaves ────────────────────────────────────────────────────────────────────────────────────────
  /** A tensor fed each step (token ids, images, masks, positions). */
  input(name: string, shape: Shape, dtype: DType = 'f32', opts: { keepF32?: boolean } = {}): Node { return this.leaf('input', name, shape, dtype, { keepF32: opts.keepF32 }); }
  /** A trainable parameter (always f32 master weights; `trainable: false` for frozen ones). */
  param(name: string, shape: Shape, init: Init, trainable = true): Node { return this.leaf('param', name, shape, 'f32', { init, trainable }); }
  /** A constant tensor baked into the program (e.g. RoPE tables, interpolation matrices). */
  constant(name: string, shape: Shape, value: Float64Array, dtype: DType = 'f32'): Node { return this.leaf('const', name, shape, dtype, { value }); }
  /** Persistent, non-trainable state kept across steps (optimizer moments, KV caches, counters). */
  state(name: string, shape: Shape, dtype: DType = 'f32', init: Init = { kind: 'zeros' }, opts: { keepF32?: boolean } = {}): Node {
    return this.leaf('state', name, shape, dtype, { init, keepF32: opts.keepF32 });
  }
  /** A scalar constant (shape []); hash-consed by value. */
  scalar(value: number, dtype: DType = 'f32'): Node { return this.op('scalar', [], { value, dtype }); }

  /** After each step, `target` (a param or state leaf) takes `value`'s value. */
  assign(target: Node, value: Node): void {
    const info = this.leaves.get(target);
    if (!info || (info.kind !== 'param' && info.kind !== 'state')) throw new IRError(`assign: '${target.name ?? target.id}' is not a param or state`, 'assign');
    if (target.shape.join() !== value.shape.join() || target.dtype !== value.dtype) throw new IRError(`assign '${target.name}': ${value.dtype}[${value.shape}] into ${target.dtype}[${target.shape}]`, 'assign');
    this.assigns.set(target, value);
  }

  params(): Node[] { return [...this.leaves].filter(([, i]) => i.kind === 'param').map(([n]) => n); }
  inputs(): Node[] { return [...this.leaves].filter(([, i]) => i.kind === 'input').map(([n]) => n); }

  // ── elementwise (numpy broadcasting between inputs; result dtype = the first float input's) ─────────
  add(a: Node, b: Node): Node { return this.op('add', [a, b]); }
  sub(a: Node, b: Node): Node { return this.op('sub', [a, b]); }
  mul(a: Node, b: Node): Node { return this.op('mul', [a, b]); }
  div(a: Node, b: Node): Node { return this.op('div', [a, b]); }
  max(a: Node, b: Node): Node { return this.op('maximum', [a, b]); }
  min(a: Node, b: Node): Node { return this.op('minimum', [a, b]); }
  pow(a: Node, b: Node): Node { return this.op('pow', [a, b]); }
  /** Comparison → f32 0/1 (so masks multiply directly). cmp: lt le gt ge eq ne. */
  compare(a: Node, b: Node, cmp: 'lt' | 'le' | 'gt' | 'ge' | 'eq' | 'ne'): Node { return this.op('compare', [a, b], { cmp }); }
  /** where(cond != 0, a, b), broadcasting all three. */
  where(cond: Node, a: Node, b: Node): Node { return this.op('where', [cond, a, b]); }
  unary(op: 'neg' | 'abs' | 'exp' | 'log' | 'sqrt' | 'rsqrt' | 'recip' | 'tanh' | 'sigmoid' | 'silu' | 'gelu_tanh' | 'gelu_erf' | 'relu' | 'square', a: Node): Node { return this.op(op, [a]); }
  neg(a: Node): Node { return this.op('neg', [a]); }
  exp(a: Node): Node { return this.op('exp', [a]); }
  log(a: Node): Node { return this.op('log', [a]); }
  sqrt(a: Node): Node { return this.op('sqrt', [a]); }
  rsqrt(a: Node): Node { return this.op('rsqrt', [a]); }
  silu(a: Node): Node { return this.op('silu', [a]); }
  sigmoid(a: Node): Node { return this.op('sigmoid', [a]); }
  gelu(a: Node, form: 'tanh' | 'erf' = 'tanh'): Node { return this.op(form === 'tanh' ? 'gelu_tanh' : 'gelu_erf', [a]); }
  /** Convert dtype (f32↔f16, float→int truncates toward zero, int→float exact). */
  cast(a: Node, dtype: DType): Node { return a.dtype === dtype ? a : this.op('cast', [a], { dtype }); }
  /** Identity forward, zero gradient. */
  stopGradient(a: Node): Node { return this.op('stop_gradient', [a]); }

  // ── reductions (axes may be negative; keepdims keeps size-1 dims) ──────────────────────────────────
  sum(a: Node, axes: readonly number[], keepdims = false): Node { return this.op('sum', [a], { axes, keepdims }); }
  mean(a: Node, axes: readonly number[], keepdims = false): Node { return this.op('mean', [a], { axes, keepdims }); }
  maxReduce(a: Node, axes: readonly number[], keepdims = false): Node { return this.op('max', [a], { axes, keepdims }); }
  logsumexp(a: Node, axes: readonly number[], keepdims = false): Node { return this.op('logsumexp', [a], { axes, keepdims }); }

  // ── matmul ───────────────────────────────────────────────────────────────────────────────────────
  /** [..., M, K] × [..., K, N] → [..., M, N]; batch dims broadcast; transA/transB transpose the last two. */
  matmul(a: Node, b: Node, opts: { transA?: boolean; transB?: boolean } = {}): Node {
    return this.op('matmul', [a, b], { transA: opts.transA ?? false, transB: opts.transB ?? false });
  }

  // ── movement ─────────────────────────────────────────────────────────────────────────────────────
  reshape(a: Node, shape: readonly number[]): Node { return this.op('reshape', [a], { shape }); }
  permute(a: Node, perm: readonly number[]): Node { return this.op('permute', [a], { perm }); }
  /** Broadcast size-1 dims (and prepend dims) up to `shape`. */
  expand(a: Node, shape: readonly number[]): Node { return this.op('expand', [a], { shape }); }
  /** Elements start[i] ≤ j < end[i] along each axis (step 1). */
  slice(a: Node, start: readonly number[], end: readonly number[]): Node { return this.op('slice', [a], { start, end }); }
  /** Zero-pad (or `value`-pad) `before[i]`/`after[i]` elements on each axis. */
  pad(a: Node, before: readonly number[], after: readonly number[], value = 0): Node { return this.op('pad', [a], { before, after, value }); }
  concat(parts: readonly Node[], axis: number): Node { return this.op('concat', parts, { axis }); }

  // ── indexing ─────────────────────────────────────────────────────────────────────────────────────
  /** Embedding lookup: table [V, D], idx int [...] → [..., D]. Out-of-range ids give zeros. */
  gather(table: Node, idx: Node): Node { return this.op('gather', [table, idx]); }
  /** Inverse of gather: src [..., D] added into rows idx [...] of a zero [rows, D] tensor. */
  scatterAdd(idx: Node, src: Node, rows: number): Node { return this.op('scatter_add', [idx, src], { rows }); }
  /** Indices (i32) of the k largest along the last axis, descending; ties → lower index first. */
  topk(a: Node, k: number): Node { return this.op('topk', [a], { k }); }
  /** out[..., j] = a[..., idx[..., j]] along the last axis (idx int, same leading dims). */
  takeAlong(a: Node, idx: Node): Node { return this.op('take_along', [a, idx]); }
  /** idx int [...] → f32 [..., n] one-hot (out-of-range → all zeros). */
  oneHot(idx: Node, n: number): Node { return this.op('one_hot', [idx], { n }); }
  /** Inclusive cumulative sum along `axis`. */
  cumsum(a: Node, axis: number): Node { return this.op('cumsum', [a], { axis }); }

  // ── convolution and pooling (NCHW) ───────────────────────────────────────────────────────────────
  /** x [B, C, H, W], w [O, C/groups, kh, kw] → [B, O, H', W']; depthwise when groups = C = O. */
  conv2d(x: Node, w: Node, opts: { stride?: number; padding?: number; groups?: number } = {}): Node {
    return this.op('conv2d', [x, w], { stride: opts.stride ?? 1, padding: opts.padding ?? 0, groups: opts.groups ?? 1 });
  }
  /** PyTorch's adaptive_avg_pool2d: bin i spans [floor(i·H/oh), ceil((i+1)·H/oh)) — bins overlap when oh ∤ H. */
  adaptiveAvgPool2d(x: Node, oh: number, ow: number): Node { return this.op('adaptive_avg_pool2d', [x], { oh, ow }); }

  // ── composites that fuse as one kernel ───────────────────────────────────────────────────────────
  softmax(a: Node, axis = -1): Node { return this.op('softmax', [a], { axis }); }
  logSoftmax(a: Node, axis = -1): Node { return this.op('log_softmax', [a], { axis }); }
  /** LayerNorm over the last axis: (x - mean)/sqrt(var + eps)·w + b (biased variance). */
  layernorm(x: Node, w: Node, b: Node, eps = 1e-5): Node { return this.op('layernorm', [x, w, b], { eps }); }
  /** LayerNorm2d: LayerNorm over the channel axis (1) of NCHW, per (b, h, w); w, b of shape [C]. */
  layernorm2d(x: Node, w: Node, b: Node, eps = 1e-6): Node { return this.op('layernorm2d', [x, w, b], { eps }); }
  /** RMSNorm over the last axis: x / sqrt(mean(x²) + eps) · w. */
  rmsnorm(x: Node, w: Node, eps = 1e-5): Node { return this.op('rmsnorm', [x, w], { eps }); }
  /**
   * Rotary embedding (LLaMA, rotate-half convention): x [B, H, T, Dh], pos int [T] (absolute positions, so
   * a KV-cache step passes its offset). Pair (i, i + Dh/2) rotated by angle pos · theta^(-2i/Dh).
   */
  rope(x: Node, pos: Node, theta: number): Node { return this.op('rope', [x, pos], { theta }); }
  /**
   * Scaled dot-product attention, q [B, H, Tq, D], k/v [B, Hkv, Tk, D] (H a multiple of Hkv: grouped KV)
   * → [B, H, Tq, D]. Optional qSeg int [B, Tq] and kSeg int [B, Tk]: query i sees key j only when
   * qSeg = kSeg (same packed document) and kSeg ≥ 0 (negative = padding / empty cache slot). causal: key
   * position j ≤ query position i + qOffset, where qOffset = Tk - Tq (queries are the last Tq positions).
   * With qPos int [Tq] given, query i's position is qPos[i] instead (KV-cache prefill/decode, where keys are
   * the cache's slots 0..Tk-1). A query that sees no key outputs zeros. scale defaults to 1/sqrt(D).
   * Inputs in order: q, k, v, then qSeg, kSeg when given, then qPos when given (attr hasSeg/hasPos say which).
   */
  attention(q: Node, k: Node, v: Node, opts: { causal: boolean; scale?: number; qSeg?: Node; kSeg?: Node; qPos?: Node }): Node {
    const ins = [q, k, v];
    if (opts.qSeg || opts.kSeg) {
      if (!opts.qSeg || !opts.kSeg) throw new IRError('attention: qSeg and kSeg go together', 'attention');
      ins.push(opts.qSeg, opts.kSeg);
    }
    if (opts.qPos) ins.push(opts.qPos);
    return this.op('attention', ins, { causal: opts.causal, scale: opts.scale ?? 1 / Math.sqrt(q.shape[q.shape.length - 1]!), hasSeg: !!opts.qSeg, hasPos: !!opts.qPos });
  }
  /** cache [B, H, Tmax, D] with rows pos[0] .. pos[0]+Tn-1 (axis 2) replaced by x [B, H, Tn, D]; pos int [1]. */
  cacheWrite(cache: Node, x: Node, pos: Node): Node { return this.op('cache_write', [cache, x, pos]); }
  /** Per-row cross-entropy: logits [N, V], target int [N] → f32 [N]; target < 0 (ignored) gives 0. */
  crossEntropy(logits: Node, target: Node): Node { return this.op('cross_entropy', [logits, target]); }

  /** Name a result of the graph. */
  output(name: string, node: Node): Node { this.outputs.set(name, node); return node; }
}
