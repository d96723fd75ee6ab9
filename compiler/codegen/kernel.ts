// Kernel selection for one materialized node: a dedicated kernel where one exists (matmul with fused
// epilogue, row kernels, attention), else the generic map kernel (one invocation per output element, the
// value computed by the node's fused load function). Binding 0 is the output, inputs follow.

import type { Node } from '../ir/node.js';
import { numel } from '../ir/node.js';
import type { KernelCaps } from './caps.js';
import { emitMatmul, matmulShape, tuningKey, type MatmulKernel, type MatmulShape, type MatmulSpec } from './matmul.js';
import { Builder, elementLoop, hasCustomLoader, hasLoader, header, isPlainFusable, outDecl, storeConv, sty, u, vty, type PlanView } from './expr.js';
import { FUSABLE_INDEX_OPS } from './loaders.js';
import { getOp } from '../ops/registry.js';
import { emitCrossEntropy, emitCrossEntropyGrad, emitSoftmaxGrad, emitNorm, emitNormGradW, emitNormGradX, emitNormStats, emitReduceRows, emitSoftmax, NORMS } from './rows.js';
import { emitAttention } from './attention.js';
import { sharesKeys } from './attention-common.js';
import { emitAttentionGrad, emitAttentionGradKV, type KVOut } from './attention-grad.js';
import './loaders.js';

export interface EmittedKernel {
  name: string;
  wgsl: string;
  workgroups: [number, number, number];
  /** Nodes whose buffers are bound as inputs, in order, after the output(s) at binding 0 (matmul: see below). */
  bound: Node[];
  /** Matmul kernels bind a=0, b=1, out=2, extras from 3: `layout` lists all bindings in order ('out' = output). */
  layout?: (Node | 'out')[];
  /** Matmul kernels: the shape, for the autotuner. */
  matmul?: MatmulShape;
}

export interface KernelRequest {
  node: Node;                       // the materialized node (the kernel's output)
  plan: PlanView;
  caps: KernelCaps;
  /** Matmul-epilogue fusion: the matmul whose accumulator feeds `node`'s elementwise tree. */
  matmul?: Node;
  /** `node` is permute(attention*, [0, 2, 1, 3]): the attention kernel writes that layout directly. */
  swapped?: Node;
  /** A second value the kernel writes: an attention forward's `_attn_lse`, a norm forward's `_norm_stats`. */
  alsoWrites?: Node;
  /** dk (or dv) whose kernel also writes its sibling dv (or dk): see pairKV. */
  kvWith?: KVOut;
}

const WG = 64;
/** Ops that only move data: a kernel ending in one is named after the last op that computes. */
const RENAMED = new Set(['reshape', 'permute', 'expand', 'slice', 'stop_gradient']);

/**
 * The generic kernel: out[i] = v<node>(i) for every element. When the element count is a multiple of 4, each
 * invocation computes 4 consecutive elements through the vector load function (expr.ts: vec4 loads where the
 * inputs allow) and stores them as one vec4, unless that would repeat a loop 4 times. lavapipe, 2^20-element
 * add: 1.6 GB/s one element per invocation, 3.3 with 4 scalar stores, 4.7 with the vec4 store (and 4 scalar
 * loads per input).
 */
export function emitMap(node: Node, plan: PlanView, maxDim: number, name?: string, software = false): EmittedKernel {
  const builder = (): Builder => { const bb = new Builder(plan, 1); if (software) bb.opaque = 'out'; return bb; };
  let b = builder();
  const n = numel(node.shape);
  let quad = n % 4 === 0;
  let root = quad ? b.load4(node, true) : b.compute(node);
  // A loop (a reduction over the last axis, a convolution) that does not vectorize would be compiled 4 times:
  // one element per invocation instead (lavapipe spends seconds JIT-compiling each copy).
  if (quad && b.gatheredLoop) { b = builder(); quad = false; root = b.compute(node); }
  // Named after the work it does: a fused chain ending in a reshape is its last computing op (profiles group by name).
  name ??= [...b.inlined, node].reverse().find((m) => !RENAMED.has(m.op))?.op ?? node.op;
  const st = plan.storage(node);
  const loop = elementLoop(quad ? n / 4 : n, WG, maxDim, software);
  const T = sty(st);
  const store = quad ? `out[t] = vec4<${T}>(${root}(t * 4u));` : `out[t] = ${storeConv(st, `${root}(t)`)};`;
  const wgsl = `${header(b.usesF16() || st === 'f16')}${quad ? `@group(0) @binding(0) var<storage, read_write> out: array<vec4<${T}>>;` : outDecl(0, st)}
${b.decls()}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
${loop.wrap([store])}
}
`;
  return { name, wgsl, workgroups: loop.workgroups, bound: b.bound };
}

/**
 * In-place elementwise updates in one kernel (optimizer-style assigns; merged, AdamW's parameter, m and v of
 * several parameters, whatever their sizes: one invocation per element of the largest, or per 4 elements when
 * every size is a multiple of 4, each value guarded by its own size).
 * values[j] is assigned to leaves[j], whose buffer is bound read-write at binding j; every value is computed
 * (reading the old leaves) before any is stored, so the updates see each other's old values, as when they
 * ran one after another in schedule order with each leaf read at its own index only.
 */
export function emitMapInPlace(values: Node[], leaves: Node[], plan: PlanView, maxDim: number, software = false): EmittedKernel & { layout: Node[] } {
  const k = values.length;
  const sizes = values.map((v) => numel(v.shape));
  // The values are elementwise (compile.ts), so unlike emitMap's roots they never loop.
  const quad = sizes.every((s) => s % 4 === 0);
  const sub = new Map<Node, string>(), sub4 = new Map<Node, string>();
  leaves.forEach((l, j) => {
    const f16 = plan.storage(l) === 'f16';
    const at = quad ? `out${j}[i / 4u][i % 4u]` : `out${j}[i]`;
    sub.set(l, f16 ? `f32(${at})` : at);
    if (quad) sub4.set(l, f16 ? `vec4<f32>(out${j}[i / 4u])` : `out${j}[i / 4u]`);
  });
  const b = new Builder(plan, k, sub, sub4);
  const roots = values.map((v) => (quad ? b.load4(v, true) : b.compute(v)));
  const n = Math.max(...sizes), per = quad ? 4 : 1;
  const loop = elementLoop(n / per, WG, maxDim, software);
  const f16 = b.usesF16() || leaves.some((l) => plan.storage(l) === 'f16');
  const guard = (j: number, stmt: string): string => (sizes[j] === n ? stmt : `if (i < ${u(sizes[j]!)}) { ${stmt} }`);
  const zero = (j: number): string => (quad ? `vec4<${vty(values[j]!.dtype)}>()` : '0.0');
  const arr = (l: Node) => (quad ? `vec4<${sty(plan.storage(l))}>` : sty(plan.storage(l)));
  const store = (l: Node, j: number) => (quad ? `out${j}[i / 4u] = ${arr(l)}(r${j});` : `out${j}[i] = ${storeConv(plan.storage(l), `r${j}`)};`);
  const wgsl = `${header(f16)}${leaves.map((l, j) => `@group(0) @binding(${j}) var<storage, read_write> out${j}: array<${arr(l)}>;`).join('\n')}
${b.decls()}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
${loop.wrap([`let i = t * ${u(per)};`,
    ...roots.map((r, j) => (sizes[j] === n ? `let r${j} = ${r}(i);` : `var r${j} = ${zero(j)};\n${guard(j, `r${j} = ${r}(i);`)}`)),
    ...leaves.map((l, j) => guard(j, store(l, j)))])}
}
`;
  return { name: k === 1 ? `${values[0]!.op}_inplace` : `update${k}_inplace`, wgsl, workgroups: loop.workgroups, bound: b.bound, layout: [...leaves, ...b.bound] };
}

/** Batch strides of a matmul operand, or null when its batch broadcast is not a single stride. */
function batchStride(x: Node, batch: readonly number[]): number | null {
  const xb = x.shape.slice(0, -2);
  const nb = numel(xb), mat = x.shape[x.shape.length - 1]! * x.shape[x.shape.length - 2]!;
  if (nb === 1) return 0;
  const full = batch.slice(batch.length - xb.length);
  return xb.length === batch.length && xb.every((d, k) => d === full[k]) ? mat : null;
}

/** Can this matmul go to the tuned kernel (operands in buffers, batch broadcast expressible)? */
export function matmulSpecOk(mm: Node): boolean {
  const batch = mm.shape.slice(0, -2);
  return batchStride(mm.inputs[0]!, batch) !== null && batchStride(mm.inputs[1]!, batch) !== null;
}

function emitMatmulNode(req: KernelRequest, mm: Node): EmittedKernel {
  const { node, plan, caps } = req;
  const [a, bN] = mm.inputs as [Node, Node];
  const r = mm.shape.length;
  const M = mm.shape[r - 2]!, N = mm.shape[r - 1]!;
  const tA = mm.attrs.transA === true, tB = mm.attrs.transB === true;
  const K = tA ? a.shape[a.shape.length - 2]! : a.shape[a.shape.length - 1]!;
  const batchShape = mm.shape.slice(0, -2);
  const sa = plan.storage(a), sb = plan.storage(bN);
  if (sa !== sb || (sa !== 'f32' && sa !== 'f16')) throw new Error(`matmul #${mm.id}: operand storage ${sa}/${sb}`);
  const spec: MatmulSpec = {
    name: `mm${mm.id}`, batch: numel(batchShape), M, N, K, transA: tA, transB: tB,
    aBatchStride: batchStride(a, batchShape)!, bBatchStride: batchStride(bN, batchShape)!,
    inType: sa, outType: plan.storage(node) === 'f16' ? 'f16' : 'f32',
  };
  let bound: Node[] = [];
  if (node !== mm) {
    // Epilogue: node's elementwise tree with the matmul replaced by the accumulator.
    // On software adapters (where reg4 runs) with N a multiple of 4, also the vec4 form: 4 columns at a time.
    const four = caps.software && N % 4 === 0;
    const b = new Builder(plan, 3, new Map([[mm, 'ep_acc']]), new Map([[mm, 'ep_acc4']]));
    b.decl('var<private> ep_acc: f32;');
    const root = b.compute(node);
    const at = `bi * ${u(M * N)} + row * ${u(N)} + col`;
    let vec = '';
    if (four) {
      b.decl('var<private> ep_acc4: vec4<f32>;');
      vec = `\nfn ep_apply4(i: u32, a: vec4<f32>) -> vec4<f32> { ep_acc4 = a; return vec4<f32>(${b.load4(node, true)}(i)); }`;
    }
    spec.epilogue = {
      decls: `${b.decls()}\nfn ep_apply(i: u32, a: f32) -> f32 { ep_acc = a; return f32(${root}(i)); }${vec}`,
      extraBindings: b.bound.length, expr: `ep_apply(${at}, acc)`, ...(four ? { expr4: `ep_apply4(${at}, acc)` } : {}),
    };
    bound = b.bound;
  }
  const k = emitTunedMatmul(spec, caps);
  return { name: node === mm ? 'matmul' : 'matmul_epilogue', wgsl: k.wgsl, workgroups: k.workgroups, bound, layout: [a, bN, 'out', ...bound],
    matmul: matmulShape(spec) };
}

/** The autotuner's choice for this shape when `mm bench tune` stored one for the adapter, else the heuristic's. */
function emitTunedMatmul(spec: MatmulSpec, caps: KernelCaps): MatmulKernel {
  const tuned = caps.matmulTuning?.[tuningKey(spec)];
  if (tuned) {
    try { return emitMatmul(spec, caps, tuned); } catch { /* the stored choice does not fit this spec (e.g. its epilogue): use the default */ }
  }
  return emitMatmul(spec, caps);
}


/** Ops with a dedicated kernel (beyond the generic per-element one). */
export const DEDICATED = new Set(['matmul', 'softmax', 'log_softmax', 'softmax_grad', 'log_softmax_grad', 'layernorm', 'layernorm2d',
  'rmsnorm', 'layernorm_grad_x', 'layernorm2d_grad_x', 'rmsnorm_grad_x', 'layernorm_grad_w', 'layernorm2d_grad_w', 'rmsnorm_grad_w',
  'cross_entropy', 'cross_entropy_grad', 'attention', 'attention_grad_q', 'attention_grad_k', 'attention_grad_v', 'sum', 'mean', 'max',
  'logsumexp', 'cache_write', 'scatter_add']);

/** How an op runs on the GPU: 'dedicated' kernel, 'generic' per-element kernel, 'fused' into consumers, or null (none). */
export function kernelCoverage(op: string): 'dedicated' | 'generic' | 'fused' | null {
  if (DEDICATED.has(op)) return 'dedicated';
  if (FUSABLE_INDEX_OPS.has(op) || (isPlainFusable(op) && (op !== 'one_hot'))) {
    try { const d = getOp(op); if (d.kind === 'elementwise' && !d.wgsl && !hasCustomLoader(op) && op !== 'cast') return null; } catch { /* movement */ }
    return 'fused';
  }
  return hasLoader(op) ? 'generic' : null;
}

/** scatter_add as zero-fill + one invocation per source element adding into its row with an f32 CAS loop. */
function emitScatterAtomic(node: Node, plan: PlanView, maxDim: number, software: boolean): EmittedKernel[] {
  const [idx, src] = node.inputs as [Node, Node];
  const rows = node.shape[0]!, D = node.shape[1]!;
  const n = numel(src.shape), total = numel(node.shape);
  const lz = elementLoop(total, WG, maxDim, software);
  const zero = `${outDecl(0, 'f32')}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
${lz.wrap(['out[t] = 0.0;'])}
}
`;
  const b = new Builder(plan, 1);
  const il = b.load(idx), sl = b.load(src);
  const l = elementLoop(n, WG, maxDim, software);
  const add = `${header(b.usesF16())}${outDecl(0, 'f32', 'out', true)}
${b.decls()}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
${l.wrap([`let row = i32(${il}(t / ${u(D)}));`,
    `if (row < 0i || row >= ${rows}i) { ${l.skip}; }`,
    `let v = f32(${sl}(t));`,
    `let at = u32(row) * ${u(D)} + t % ${u(D)};`,
    'var old = atomicLoad(&out[at]);',
    'loop {',
    '  let r = atomicCompareExchangeWeak(&out[at], old, bitcast<u32>(bitcast<f32>(old) + v));',
    '  if (r.exchanged) { break; }',
    '  old = r.old_value;',
    '}'])}
}
`;
  return [{ name: 'scatter_zero', wgsl: zero, workgroups: lz.workgroups, bound: [] }, { name: 'scatter_add', wgsl: add, workgroups: l.workgroups, bound: b.bound }];
}

/** One or more dispatches computing `req.node` (all write its buffer; the last holds the fused members). */
export function emitKernels(req: KernelRequest): EmittedKernel[] {
  if (!req.matmul && !req.swapped && req.node.op === 'scatter_add' && req.plan.storage(req.node) === 'f32') {
    return emitScatterAtomic(req.node, req.plan, req.caps.limits.maxComputeWorkgroupsPerDimension, req.caps.software);
  }
  return [emitKernel(req)];
}

export function emitKernel(req: KernelRequest): EmittedKernel {
  const { node, plan, caps } = req;
  const maxDim = caps.limits.maxComputeWorkgroupsPerDimension;
  const env = { maxDim, subgroups: caps.subgroups, software: caps.software };
  if (req.matmul) return emitMatmulNode(req, req.matmul);
  if (req.kvWith) return emitAttentionGradKV({ grad: req.swapped ?? node, swap: !!req.swapped, outNode: node }, req.kvWith, plan, maxDim, caps.software, sharesKeys(caps));
  if (req.swapped) {
    const a = req.swapped;
    return a.op === 'attention' ? emitAttention(a, plan, maxDim, true, node, caps.software, undefined, sharesKeys(caps)) : emitAttentionGrad(a, plan, maxDim, true, node, caps.software, sharesKeys(caps));
  }
  const op = node.op;
  // Operands must be buffers; a reshape of a buffer is that buffer.
  const inBuf = (x: Node): boolean => plan.isBuffer(x) || (x.op === 'reshape' && inBuf(x.inputs[0]!));
  if (op === 'matmul' && inBuf(node.inputs[0]!) && inBuf(node.inputs[1]!) && matmulSpecOk(node)) return emitMatmulNode(req, node);
  if (op === 'softmax' || op === 'log_softmax') return emitSoftmax(node, plan, env);
  if (NORMS.has(op)) return emitNorm(node, plan, env, req.alsoWrites);
  if (op.endsWith('_grad_x') && NORMS.has(op.slice(0, -7))) return emitNormGradX(node, plan, env);
  if (op.endsWith('_grad_w') && NORMS.has(op.slice(0, -7)) && node.inputs.length === 3) return emitNormGradW(node, plan, env);
  if (op === '_norm_stats') return emitNormStats(node, plan, env);
  if (op === 'softmax_grad' || op === 'log_softmax_grad') return emitSoftmaxGrad(node, plan, env);
  if (op === 'cross_entropy_grad') return emitCrossEntropyGrad(node, plan, env);
  if (op === 'cross_entropy') return emitCrossEntropy(node, plan, env);
  if (op === 'attention') return emitAttention(node, plan, maxDim, false, node, caps.software, req.alsoWrites, sharesKeys(caps));
  if (op.startsWith('attention_grad') || op === '_attn_stats') return emitAttentionGrad(node, plan, maxDim, false, node, caps.software, sharesKeys(caps));
  if (['sum', 'mean', 'max', 'logsumexp'].includes(op)) {
    const R = numel(node.inputs[0]!.shape) / Math.max(1, numel(node.shape));
    if (R >= 128) return emitReduceRows(node, plan, env);
  }
  return emitMap(node, plan, maxDim, op === 'matmul' ? 'matmul_generic' : undefined, caps.software);
}

/** cache_write done in place: only the Tn new rows are written into the cache leaf's own buffer. */
export function emitCacheWriteInPlace(node: Node, plan: PlanView, maxDim: number, software = false): EmittedKernel {
  const [cache, x, pos] = node.inputs as [Node, Node, Node];
  const r = cache.shape.length;
  const D = cache.shape[r - 1]!, Tm = cache.shape[r - 2]!, Tn = x.shape[r - 2]!;
  const b = new Builder(plan, 1);
  const xl = b.load(x), pl = b.load(pos);
  const n = numel(x.shape);
  const l = elementLoop(n, WG, maxDim, software);
  const st = plan.storage(cache);
  const wgsl = `${header(b.usesF16() || st === 'f16')}${outDecl(0, st)}
${b.decls()}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
${l.wrap([`let dd = t % ${u(D)};`,
    `let tn = (t / ${u(D)}) % ${u(Tn)};`,
    `let bh = t / ${u(D * Tn)};`,
    `let row = u32(i32(${pl}(0u)) + i32(tn));`,
    `if (row >= ${u(Tm)}) { ${l.skip}; }`,
    `out[(bh * ${u(Tm)} + row) * ${u(D)} + dd] = ${storeConv(st, `${xl}(t)`)};`])}
}
`;
  return { name: 'cache_write_inplace', wgsl, workgroups: l.workgroups, bound: b.bound };
}
