// Fused attention, flash-attention style: no Tq×Tk matrix in memory. Every kernel gives one invocation one
// row (a query, or for dk/dv a key) and keeps that row's operands and accumulator in registers, while the
// workgroup stages tiles of the other side (keys and values, or queries and dO) in workgroup memory, so each
// staged row is read from global memory once per workgroup rather than once per invocation.
//   forward  (query-major): running max, sum and output row over key tiles; in training also lse_i, a second
//            output, so the backward need not recompute it;
//   stats    (one row each): lse_i and Δ_i = dO_i·o_i per query, for the backward (query-major over key tiles
//            instead when no forward wrote lse);
//   dq       (query-major): Σ_j ds_ij k_j over key tiles;
//   dk, dv   (key-major):   Σ_i ds_ij q_i and Σ_i p_ij dO_i over query tiles (and over the key's head group), in
//            one kernel when registers allow (fusedKV), else one kernel each;
// probabilities are recomputed from lse. With a causal mask and no explicit query positions, key tiles past a
// query block's last visible key (and query tiles before a key block's first viewer) are skipped: half the work.
// Rows are held as vec4s when the head dim allows (type V, dot products with vdot): a quarter of the
// instructions, and 16-byte workgroup-memory reads. On software adapters scalar head-dim loops get a bound the
// shader compiler cannot see (DN): fully unrolled they made LLVM (lavapipe) spend seconds per kernel.

import { numel, type DType, type Node } from '../ir/node.js';
import type { FusionPlan } from '../passes/fusion.js';
import { Builder, dispatch1d, f32lit, header, outDecl, storeConv, u, type PlanView } from './expr.js';
import type { EmittedKernel } from './kernel.js';

interface Dims { B: number; H: number; Hkv: number; Tq: number; Tk: number; D: number; rep: number; scale: number; W: number; DV: number }

function dims(n: Node): Dims {
  const [q, k] = n.inputs as [Node, Node];
  const [B, H, Tq, D] = q.shape as [number, number, number, number];
  const [, Hkv, Tk] = k.shape as [number, number, number];
  const scale = typeof n.attrs.scale === 'number' ? n.attrs.scale : 1 / Math.sqrt(D);
  const W = D % 4 === 0 ? 4 : 1;                 // vector width of a row chunk
  return { B, H, Hkv, Tq, Tk, D, rep: H / Hkv, scale, W, DV: D / W };
}

/** Rows per workgroup (one per invocation). */
const ROWS = 32;
/** Staged rows per tile: `arrays` D-wide f32 tiles (plus `extra` f32 per row) within the 16 KiB every device grants. */
const tileRows = (D: number, arrays: number, extra = 0): number => Math.max(1, Math.min(32, Math.floor(16384 / ((arrays * D + extra) * 4))));

/** `fn visible(b, i, j) -> bool` honouring segments, padding (kSeg < 0) and causality by position. */
function visibleFn(b: Builder, n: Node, first: number, d: Dims): string {
  let at = first;
  const lines: string[] = [];
  if (n.attrs.hasSeg === true) {
    const qs = b.load(n.inputs[at++]!), ks = b.load(n.inputs[at++]!);
    lines.push(`let ks = i32(${ks}(bb * ${u(d.Tk)} + j));`, `if (ks < 0i || i32(${qs}(bb * ${u(d.Tq)} + i)) != ks) { return false; }`);
  }
  if (n.attrs.causal === true) {
    const qp = n.attrs.hasPos === true ? `i32(${b.load(n.inputs[at]!)}(i))` : `i32(i) + ${d.Tk - d.Tq}i`;
    lines.push(`if (i32(j) > ${qp}) { return false; }`);
  }
  lines.push('return true;');
  return `fn visible(bb: u32, i: u32, j: u32) -> bool {\n  ${lines.join('\n  ')}\n}`;
}

/** Whether the head-dim loops get the hidden bound DN: scalar rows on software adapters (vec4 rows of up to 32
 *  chunks unroll quickly there and run 1.6× faster unrolled). */
const hideBound = (d: Dims, soft: boolean): boolean => soft && (d.W === 1 || d.DV > 32);

/** Causal by index (no query positions): query i sees keys j ≤ i + (Tk − Tq), so tiles outside can be skipped. */
const causalByIndex = (n: Node): boolean => n.attrs.causal === true && n.attrs.hasPos !== true;

const kvRow = (d: Dims, bb: string, h: string, j: string): string => `((${bb} * ${u(d.Hkv)} + ${h} / ${u(d.rep)}) * ${u(d.Tk)} + ${j}) * ${u(d.D)}`;
const qRow = (d: Dims, bb: string, h: string, i: string): string => `((${bb} * ${u(d.H)} + ${h}) * ${u(d.Tq)} + ${i}) * ${u(d.D)}`;
/** Output row offset; `swap` writes [B, T, H, D] (the permute(0, 2, 1, 3) that merges heads, fused in). */
const outRow = (swap: boolean, bb: string, h: string, i: string, Hn: number, T: number, D: number): string =>
  swap ? `((${bb} * ${u(T)} + ${i}) * ${u(Hn)} + ${h}) * ${u(D)}` : `((${bb} * ${u(Hn)} + ${h}) * ${u(T)} + ${i}) * ${u(D)}`;

/** A V-typed chunk of a row read through load function `fn` at element offset `off` (W consecutive elements). */
const chunk = (d: Dims, fn: string, off: string): string =>
  d.W === 1 ? `f32(${fn}(${off}))` : `V(${[0, 1, 2, 3].map((t) => `f32(${fn}(${off}${t ? ` + ${t}u` : ''}))`).join(', ')})`;

/** Statements writing chunk `val` (a V) to output array `arr` at element offset `off`. */
const storeChunk = (d: Dims, st: DType, off: string, val: string, arr = 'out'): string =>
  d.W === 1 ? `${arr}[${off}] = ${storeConv(st, val)};`
    : `let w4 = ${val}; ${['x', 'y', 'z', 'w'].map((c, t) => `${arr}[${off}${t ? ` + ${t}u` : ''}] = ${storeConv(st, `w4.${c}`)};`).join(' ')}`;

/** Staging: TILE rows from `row0` into each V-typed array (chunk e of the tile), zero past `limit`. */
function stage(d: Dims, T: number, row0: string, limit: number, tiles: { arr: string; row: (r: string) => string; fn: string }[]): string {
  const reads = tiles.map((t) => `${t.arr}[e] = select(V(), ${chunk(d, t.fn, `${t.row('r')} + (e % ${u(d.DV)}) * ${u(d.W)}`)}, ok);`).join('\n      ');
  return `    workgroupBarrier();
    for (var e = lid; e < ${u(T * d.DV)}; e += ${u(ROWS)}) {
      let r = min(${row0} + e / ${u(d.DV)}, ${u(limit - 1)});
      let ok = ${row0} + e / ${u(d.DV)} < ${u(limit)};
      ${reads}
    }`;
}

/**
 * The opening of every kernel: workgroup `g` → (bb, head, block of ROWS rows); this invocation's row, whether
 * it is live, and its clamp (dead rows still stage tiles and meet the barriers). Names: h, i0, i, qi for the
 * query-major kernels; hk, j0, j, kj for the key-major ones.
 */
function opening(d: Dims, soft: boolean, disp: { nx: number }, heads: number, T: number, [hN, r0, r, rc]: [string, string, string, string]): string {
  const blocks = Math.ceil(T / ROWS), groups = blockGroups(d, heads, T);
  return `  ${hideBound(d, soft) ? `DN = select(${u(d.DV)}, 0u, arrayLength(&out) == 0u);` : ''}
  let g = wid.y * ${u(disp.nx)} + wid.x;
  if (g >= ${u(groups)}) { return; }
  let bb = g / ${u(blocks * heads)};
  let ${hN} = (g / ${u(blocks)}) % ${u(heads)};
  let ${r0} = (g % ${u(blocks)}) * ${u(ROWS)};
  let ${r} = ${r0} + lid;
  let live = ${r} < ${u(T)};
  let ${rc} = min(${r}, ${u(T - 1)});`;
}

/** Workgroups of a kernel giving each of `heads` heads (of every batch row) blocks of ROWS rows out of T. */
const blockGroups = (d: Dims, heads: number, T: number): number => d.B * heads * Math.ceil(T / ROWS);

/**
 * Query-major opening, and the end of the keys the block's queries can see (an expression of the workgroup
 * alone, so every invocation loops over the same tiles). `first` is the index of the mask inputs.
 */
function queryMajor(d: Dims, n: Node, disp: { nx: number }, soft: boolean, b: Builder, first: number): { pre: string; keyEnd: string } {
  let pre = opening(d, soft, disp, d.H, d.Tq, ['h', 'i0', 'i', 'qi']);
  let keyEnd = u(d.Tk);
  if (causalByIndex(n)) {
    // The block's last query i0 + ROWS − 1 sees keys up to i0 + ROWS − 1 + (Tk − Tq).
    keyEnd = `u32(clamp(i32(i0) + ${ROWS + d.Tk - d.Tq}i, 0i, ${d.Tk}i))`;
  } else if (n.attrs.causal === true && n.attrs.hasPos === true) {
    // Explicit positions (decoding over a KV cache): no key past the block's largest position + 1, so a
    // decode step reads the cache up to its position, not to its length.
    const qp = b.load(n.inputs[first + (n.attrs.hasSeg === true ? 2 : 0)]!);
    pre += `
  var posEnd = 0i;
  for (var r = i0; r < min(i0 + ${u(ROWS)}, ${u(d.Tq)}); r++) { posEnd = max(posEnd, i32(${qp}(r)) + 1i); }`;
    keyEnd = `u32(clamp(posEnd, 0i, ${d.Tk}i))`;
  }
  return { pre, keyEnd };
}

/** The kernel module; `outs2` declares a second output (binding 1) when there is one. */
function frame(b: Builder, d: Dims, st: DType, soft: boolean, shared: string, body: string, outs2 = '', wg = ROWS): string {
  return `${header(b.usesF16() || st === 'f16' || outs2.includes('f16'))}${outDecl(0, st)}${outs2 ? `\n${outs2}` : ''}
${b.decls()}
alias V = ${d.W === 1 ? 'f32' : 'vec4<f32>'};
fn vdot(a: V, b: V) -> f32 { return ${d.W === 1 ? 'a * b' : 'dot(a, b)'}; }
${hideBound(d, soft) ? 'var<private> DN: u32;\n' : ''}${shared}
@compute @workgroup_size(${wg})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
${body}
}
`;
}

const tiles = (d: Dims, T: number, names: string[]): string => names.map((nm) => `var<workgroup> ${nm}: array<V, ${T * d.DV}>;`).join('\n');

/** The forward; with `lse` (a training step's `_attn_lse` node) it also writes each query's log-sum-exp. */
export function emitAttention(n: Node, plan: PlanView, maxDim: number, swap = false, outNode: Node = n, soft = false, lse?: Node): EmittedKernel {
  if (dims(n).Tq === 1 && !lse) return emitSplitKeys(n, plan, maxDim, swap, outNode, soft);
  return emitOnline(n, plan, maxDim, soft, true, swap, outNode, lse);
}

/** Invocations sharing one query's keys: up to 32, with their partial outputs (SPLIT × D f32) within 16 KiB. */
const splitWidth = (D: number): number => { let w = 32; while (w > 1 && w * (D + 2) * 4 > 16384) w /= 2; return w; };

/**
 * One query per (batch, head), as in a decoding step: the row-per-invocation kernel would leave all but one
 * invocation of each workgroup idle and walk the whole cache in one. Here the workgroup's SPLIT invocations
 * take every SPLIT-th key, each keeping its own running max, sum and output row, and then merge them through
 * workgroup memory (flash-decoding, within one workgroup).
 */
function emitSplitKeys(n: Node, plan: PlanView, maxDim: number, swap: boolean, outNode: Node, soft: boolean): EmittedKernel {
  const d = dims(n);
  const DN = hideBound(d, soft) ? 'DN' : u(d.DV);
  const S = splitWidth(d.D);
  const b = new Builder(plan, 1);
  const [qN, kN, vN] = n.inputs as [Node, Node, Node];
  const q = b.load(qN), k = b.load(kN), v = b.load(vN);
  b.decl(visibleFn(b, n, 3, d));
  const groups = d.B * d.H;
  const disp = dispatch1d(groups, 1, maxDim);
  const st = plan.storage(outNode);
  // The keys the query can see end at Tk (causal by index: query 0 sees keys ≤ Tk − 1) or at its position + 1.
  const keyEnd = n.attrs.causal === true && n.attrs.hasPos === true
    ? `u32(clamp(i32(${b.load(n.inputs[3 + (n.attrs.hasSeg === true ? 2 : 0)]!)}(0u)) + 1i, 0i, ${d.Tk}i))` : u(d.Tk);
  const body = `  ${hideBound(d, soft) ? `DN = select(${u(d.DV)}, 0u, arrayLength(&out) == 0u);` : ''}
  let g = wid.y * ${u(disp.nx)} + wid.x;
  if (g >= ${u(groups)}) { return; }
  let bb = g / ${u(d.H)};
  let h = g % ${u(d.H)};
  let qb = ${qRow(d, 'bb', 'h', '0u')};
  var qv: array<V, ${d.DV}>;
  var acc: array<V, ${d.DV}>;
  for (var c = 0u; c < ${DN}; c++) { qv[c] = ${chunk(d, q, `qb + c * ${u(d.W)}`)} * ${f32lit(d.scale)}; acc[c] = V(); }
  var m = ${f32lit(-Infinity)};
  var l = 0.0;
  let jEnd = ${keyEnd};
  for (var j = lid; j < jEnd; j += ${u(S)}) {
    if (!visible(bb, 0u, j)) { continue; }
    let kb = ${kvRow(d, 'bb', 'h', 'j')};
    var s = 0.0;
    for (var c = 0u; c < ${DN}; c++) { s += vdot(qv[c], ${chunk(d, k, `kb + c * ${u(d.W)}`)}); }
    let mn = max(m, s);
    let corr = exp(m - mn);
    let p = exp(s - mn);
    l = l * corr + p;
    for (var c = 0u; c < ${DN}; c++) { acc[c] = acc[c] * corr + p * ${chunk(d, v, `kb + c * ${u(d.W)}`)}; }
    m = mn;
  }
  ms[lid] = m;
  workgroupBarrier();
  var mAll = ${f32lit(-Infinity)};
  for (var r = 0u; r < ${u(S)}; r++) { mAll = max(mAll, ms[r]); }
  // A part that saw no key (m = -inf) weighs 0; so does everything when no key is visible at all.
  let w = select(0.0, exp(m - mAll), m > ${f32lit(-Infinity)});
  ls[lid] = l * w;
  for (var c = 0u; c < ${DN}; c++) { part[lid * ${u(d.DV)} + c] = acc[c] * w; }
  workgroupBarrier();
  var lAll = 0.0;
  for (var r = 0u; r < ${u(S)}; r++) { lAll += ls[r]; }
  let inv = select(0.0, 1.0 / lAll, lAll > 0.0);
  let ob = ${outRow(swap, 'bb', 'h', '0u', d.H, d.Tq, d.D)};
  for (var c = lid; c < ${u(d.DV)}; c += ${u(S)}) {
    var o = V();
    for (var r = 0u; r < ${u(S)}; r++) { o += part[r * ${u(d.DV)} + c]; }
    ${storeChunk(d, st, `ob + c * ${u(d.W)}`, 'o * inv')}
  }`;
  const shared = `var<workgroup> ms: array<f32, ${S}>;\nvar<workgroup> ls: array<f32, ${S}>;\nvar<workgroup> part: array<V, ${S * d.DV}>;`;
  return { name: 'attention_decode', wgsl: frame(b, d, st, soft, shared, body, '', S), workgroups: disp.workgroups, bound: b.bound };
}

/**
 * The online-softmax pass over key tiles, shared by the forward (outputs, with value tiles) and the backward's
 * per-query statistics (lse_i, Δ_i = dO_i·o_i) [B, H, Tq, 2], with lse = +big when no key is visible so that
 * recomputed probabilities are 0.
 */
function emitOnline(n: Node, plan: PlanView, maxDim: number, soft: boolean, forward: boolean, swap = false, outNode: Node = n, lse?: Node): EmittedKernel {
  const d = dims(n);
  const DN = hideBound(d, soft) ? 'DN' : u(d.DV);
  const b = new Builder(plan, lse ? 2 : 1);
  const [qN, kN, vN, oN, dON] = n.inputs as [Node, Node, Node, Node, Node];
  const q = b.load(qN), k = b.load(kN), v = forward ? b.load(vN) : '', o = forward ? '' : b.load(oN), dO = forward ? '' : b.load(dON);
  b.decl(visibleFn(b, n, forward ? 3 : 5, d));
  const TILE = tileRows(d.D, forward ? 2 : 1);
  const groups = blockGroups(d, d.H, d.Tq);
  const disp = dispatch1d(groups, 1, maxDim);
  const st = forward ? plan.storage(outNode) : 'f32';
  const { pre, keyEnd } = queryMajor(d, n, disp, soft, b, forward ? 3 : 5);
  const kRow = (r: string) => kvRow(d, 'bb', 'h', r);
  const staged = forward ? [{ arr: 'kt', row: kRow, fn: k }, { arr: 'vt', row: kRow, fn: v }] : [{ arr: 'kt', row: kRow, fn: k }];
  const body = `${pre}
  let qb = ${qRow(d, 'bb', 'h', 'qi')};
  var qv: array<V, ${d.DV}>;${forward ? `
  var acc: array<V, ${d.DV}>;` : ''}
  for (var c = 0u; c < ${DN}; c++) { qv[c] = ${chunk(d, q, `qb + c * ${u(d.W)}`)} * ${f32lit(d.scale)};${forward ? ' acc[c] = V();' : ''} }
  var m = ${f32lit(-Infinity)};
  var l = 0.0;
  let jEnd = ${keyEnd};
  for (var j0 = 0u; j0 < jEnd; j0 += ${u(TILE)}) {
${stage(d, TILE, 'j0', d.Tk, staged)}
    workgroupBarrier();
    for (var jj = 0u; jj < ${u(TILE)}; jj++) {
      let j = j0 + jj;
      if (!live || j >= jEnd || !visible(bb, qi, j)) { continue; }
      var s = 0.0;
      for (var c = 0u; c < ${DN}; c++) { s += vdot(qv[c], kt[jj * ${u(d.DV)} + c]); }
      let mn = max(m, s);
      let corr = exp(m - mn);
      let p = exp(s - mn);
      l = l * corr + p;${forward ? `
      for (var c = 0u; c < ${DN}; c++) { acc[c] = acc[c] * corr + p * vt[jj * ${u(d.DV)} + c]; }` : ''}
      m = mn;
    }
  }
  if (!live) { return; }
${forward ? `  let inv = select(0.0, 1.0 / l, l > 0.0);
  let ob = ${outRow(swap, 'bb', 'h', 'i', d.H, d.Tq, d.D)};
  for (var c = 0u; c < ${DN}; c++) { ${storeChunk(d, st, `ob + c * ${u(d.W)}`, 'acc[c] * inv')} }${lse ? `
  lse_out[(bb * ${u(d.H)} + h) * ${u(d.Tq)} + i] = ${LSE};` : ''}` : `  var delta = 0.0;
  for (var c = 0u; c < ${DN}; c++) { delta += vdot(${chunk(d, dO, `qb + c * ${u(d.W)}`)}, ${chunk(d, o, `qb + c * ${u(d.W)}`)}); }
  let t = (bb * ${u(d.H)} + h) * ${u(d.Tq)} + i;
  out[t * 2u] = ${LSE};
  out[t * 2u + 1u] = delta;`}`;
  const wgsl = frame(b, d, st, soft, tiles(d, TILE, forward ? ['kt', 'vt'] : ['kt']), body, lse ? outDecl(1, 'f32', 'lse_out') : '');
  return { name: forward ? 'attention' : 'attention_stats', wgsl, workgroups: disp.workgroups, bound: b.bound, ...(lse ? { layout: ['out', lse, ...b.bound] } : {}) };
}

/** A query's log-sum-exp from the online pass; +big when it sees no key, so recomputed probabilities are 0. */
const LSE = 'select(3.0e38, m + log(l), l > 0.0)';

/** The backward's statistics when the forward wrote lse: (lse_i, Δ_i = dO_i·o_i) per query row, one per invocation. */
function emitStatsFromLse(n: Node, plan: PlanView, maxDim: number): EmittedKernel {
  const [lseN, oN, dON] = n.inputs as [Node, Node, Node];
  const D = oN.shape[3]!, R = numel(lseN.shape);
  const b = new Builder(plan, 1);
  const lse = b.load(lseN), o = b.load(oN), dO = b.load(dON);
  const disp = dispatch1d(R, 64, maxDim);
  const wgsl = `${header(b.usesF16())}${outDecl(0, 'f32')}
${b.decls()}
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let t = (wid.y * ${u(disp.nx)} + wid.x) * 64u + lid;
  if (t >= ${u(R)}) { return; }
  var delta = 0.0;
  for (var c = 0u; c < ${u(D)}; c++) { delta += f32(${dO}(t * ${u(D)} + c)) * f32(${o}(t * ${u(D)} + c)); }
  out[t * 2u] = f32(${lse}(t));
  out[t * 2u + 1u] = delta;
}
`;
  return { name: 'attention_stats', wgsl, workgroups: disp.workgroups, bound: b.bound };
}

/** attention_grad_q/k/v with the stats node appended as the last input (see passes/rewrite.ts). */
export function emitAttentionGrad(n: Node, plan: PlanView, maxDim: number, swap = false, outNode: Node = n, soft = false): EmittedKernel {
  if (n.op === '_attn_stats') return n.attrs.fromLse === true ? emitStatsFromLse(n, plan, maxDim) : emitOnline(n, plan, maxDim, soft, false);
  return n.op === 'attention_grad_q' ? emitGradQ(n, plan, maxDim, swap, outNode, soft) : emitGradKV(n, plan, maxDim, [{ grad: n, swap, outNode }], soft);
}

/** One output of a key-major kernel: the grad node, whether it writes [B, T, H, D], and the node it defines. */
export interface KVOut { grad: Node; swap: boolean; outNode: Node }

/**
 * Whether dk and dv of one attention share a kernel: it holds the key's k and v rows and both accumulators,
 * 4·D floats per invocation. On software adapters registers are memory anyway; on GPUs only up to D = 32
 * (at D = 64 that is 256 floats, past the 255 registers an NVIDIA thread can have).
 */
export const fusedKV = (D: number, soft: boolean): boolean => soft || D <= 32;

/**
 * dk and dv of one attention to emit as one kernel: the materialized node where the kernel runs → the partner's
 * KVOut. A node is materialized itself or as the head-merging permute that `swapped` maps to it. The kernel runs
 * at the later of the two places when nothing between them reads the earlier value (so neither output is
 * live longer than before), else at the earlier. Pairs whose kernel would bind more storage buffers than the
 * device allows (with separate query and key segments, 9) stay two kernels.
 */
export function pairKV(order: readonly Node[], plan: Pick<FusionPlan, 'materialized' | 'swapped' | 'consumers' | 'isBuffer'>,
  soft: boolean, bindingLimit: number): Map<Node, KVOut> {
  const { materialized, swapped, consumers } = plan;
  const at = new Map(order.map((n, i) => [n, i] as const));
  // Storage buffers the shared kernel binds: two outputs and what it reads (every input but o), each input a
  // buffer or a cheap view of one.
  const root = (x: Node): Node => { while (!plan.isBuffer(x) && x.inputs.length === 1) x = x.inputs[0]!; return x; };
  const fits = (grad: Node): boolean => 2 + new Set(grad.inputs.filter((_, i) => i !== 3).map(root)).size <= bindingLimit;
  const byInputs = new Map<string, Partial<Record<'k' | 'v', KVOut>>>();
  const firsts: KVOut[] = [];
  for (const m of order) {
    if (!materialized.has(m)) continue;
    const grad = swapped.get(m) ?? m;
    const w = grad.op === 'attention_grad_k' ? 'k' : grad.op === 'attention_grad_v' ? 'v' : null;
    if (!w || !fusedKV(grad.inputs[0]!.shape[3]!, soft) || !fits(grad)) continue;
    const key = `${grad.inputs.map((x) => x.id).join(',')}:${JSON.stringify(grad.attrs)}`;
    const slot = byInputs.get(key) ?? {};
    if (slot[w]) continue;
    slot[w] = { grad, swap: swapped.has(m), outNode: m };
    byInputs.set(key, slot);
    if (!slot[w === 'k' ? 'v' : 'k']) firsts.push(slot[w]!);
  }
  const pairs = new Map<Node, KVOut>();
  for (const f of firsts) {
    const slot = byInputs.get(`${f.grad.inputs.map((x) => x.id).join(',')}:${JSON.stringify(f.grad.attrs)}`)!;
    const other = f.grad.op === 'attention_grad_k' ? slot.v : slot.k;
    if (!other) continue;
    const later = (consumers.get(f.outNode) ?? []).every((c) => at.get(c)! > at.get(other.outNode)!);
    if (later) pairs.set(other.outNode, f); else pairs.set(f.outNode, other);
  }
  return pairs;
}

/** dk and dv of the same attention (same inputs) in one kernel; `second` is written at binding 1. */
export function emitAttentionGradKV(first: KVOut, second: KVOut, plan: PlanView, maxDim: number, soft: boolean): EmittedKernel {
  return emitGradKV(first.grad, plan, maxDim, [first, second], soft);
}

/** dq_i = scale · Σ_j p_ij (dp_ij − Δ_i) k_j, dp_ij = dO_i·v_j; key and value tiles staged. */
function emitGradQ(n: Node, plan: PlanView, maxDim: number, swap: boolean, outNode: Node, soft: boolean): EmittedKernel {
  const d = dims(n);
  const DN = hideBound(d, soft) ? 'DN' : u(d.DV);
  const b = new Builder(plan, 1);
  const [qN, kN, vN, , dON] = n.inputs as [Node, Node, Node, Node, Node];
  const sN = n.inputs[n.inputs.length - 1]!;
  const q = b.load(qN), k = b.load(kN), v = b.load(vN), dO = b.load(dON), s = b.load(sN);
  b.decl(visibleFn(b, n, 5, d));
  const TILE = tileRows(d.D, 2);
  const groups = blockGroups(d, d.H, d.Tq);
  const disp = dispatch1d(groups, 1, maxDim);
  const st = plan.storage(outNode);
  const { pre, keyEnd } = queryMajor(d, n, disp, soft, b, 5);
  const kRow = (r: string) => kvRow(d, 'bb', 'h', r);
  const body = `${pre}
  let qb = ${qRow(d, 'bb', 'h', 'qi')};
  var qv: array<V, ${d.DV}>;
  var gv: array<V, ${d.DV}>;
  var acc: array<V, ${d.DV}>;
  for (var c = 0u; c < ${DN}; c++) { qv[c] = ${chunk(d, q, `qb + c * ${u(d.W)}`)}; gv[c] = ${chunk(d, dO, `qb + c * ${u(d.W)}`)}; acc[c] = V(); }
  let si = (bb * ${u(d.H)} + h) * ${u(d.Tq)} + qi;
  let lse = ${s}(si * 2u);
  let delta = ${s}(si * 2u + 1u);
  let jEnd = ${keyEnd};
  for (var j0 = 0u; j0 < jEnd; j0 += ${u(TILE)}) {
${stage(d, TILE, 'j0', d.Tk, [{ arr: 'kt', row: kRow, fn: k }, { arr: 'vt', row: kRow, fn: v }])}
    workgroupBarrier();
    for (var jj = 0u; jj < ${u(TILE)}; jj++) {
      let j = j0 + jj;
      if (!live || j >= jEnd || !visible(bb, qi, j)) { continue; }
      var sc = 0.0; var dp = 0.0;
      for (var c = 0u; c < ${DN}; c++) { sc += vdot(qv[c], kt[jj * ${u(d.DV)} + c]); dp += vdot(gv[c], vt[jj * ${u(d.DV)} + c]); }
      let ds = exp(sc * ${f32lit(d.scale)} - lse) * (dp - delta) * ${f32lit(d.scale)};
      for (var c = 0u; c < ${DN}; c++) { acc[c] += ds * kt[jj * ${u(d.DV)} + c]; }
    }
  }
  if (!live) { return; }
  let ob = ${outRow(swap, 'bb', 'h', 'i', d.H, d.Tq, d.D)};
  for (var c = 0u; c < ${DN}; c++) { ${storeChunk(d, st, `ob + c * ${u(d.W)}`, 'acc[c]')} }`;
  return { name: n.op, wgsl: frame(b, d, st, soft, tiles(d, TILE, ['kt', 'vt']), body), workgroups: disp.workgroups, bound: b.bound };
}

/**
 * dk_j = scale · Σ_{h in group, i} p_ij (dp_ij − Δ_i) q_i;  dv_j = Σ_{h in group, i} p_ij dO_i.
 * One invocation per key (its k row, and for dk its v row, in registers); query and dO tiles with their
 * (lse, Δ) staged. `outs` lists dk, dv or both (one kernel: p is computed once for both). Without dk the
 * kernel needs no dO·v product and binds no V.
 */
function emitGradKV(n: Node, plan: PlanView, maxDim: number, outs: KVOut[], soft: boolean): EmittedKernel {
  const d = dims(n);
  const DN = hideBound(d, soft) ? 'DN' : u(d.DV);
  const isK = outs.some((o) => o.grad.op === 'attention_grad_k');
  const b = new Builder(plan, outs.length);
  const [qN, kN, vN, , dON] = n.inputs as [Node, Node, Node, Node, Node];
  const sN = n.inputs[n.inputs.length - 1]!;
  // Bind only what the kernel reads: an unused binding would be missing from the pipeline's layout.
  const q = b.load(qN), k = b.load(kN), v = isK ? b.load(vN) : '', dO = b.load(dON), s = b.load(sN);
  b.decl(visibleFn(b, n, 5, d));
  const TILE = tileRows(d.D, 2, 2);
  const groups = blockGroups(d, d.Hkv, d.Tk);
  const disp = dispatch1d(groups, 1, maxDim);
  // Key j is seen by queries i ≥ j − (Tk − Tq): the block's first key j0 bounds where query tiles start.
  const iStart = causalByIndex(n) ? `u32(max(i32(j0) - ${d.Tk - d.Tq}i, 0i))` : '0u';
  const qr = (r: string) => qRow(d, 'bb', 'h', r);
  const acc = (o: KVOut): string => (o.grad.op === 'attention_grad_k' ? 'accK' : 'accV');
  const update = outs.map((o) => (o.grad.op === 'attention_grad_k'
    ? `for (var c = 0u; c < ${DN}; c++) { accK[c] += ds * qt[ii * ${u(d.DV)} + c]; }`
    : `for (var c = 0u; c < ${DN}; c++) { accV[c] += p * gt[ii * ${u(d.DV)} + c]; }`)).join('\n        ');
  const stores = outs.map((o, x) => {
    const st = plan.storage(o.outNode);
    const store = storeChunk(d, st, `ob${x} + c * ${u(d.W)}`, `${acc(o)}[c]`, x ? 'out1' : 'out');
    return `  let ob${x} = ${outRow(o.swap, 'bb', 'hk', 'j', d.Hkv, d.Tk, d.D)};
  for (var c = 0u; c < ${DN}; c++) { ${store} }`;
  }).join('\n');
  const body = `${opening(d, soft, disp, d.Hkv, d.Tk, ['hk', 'j0', 'j', 'kj'])}
  let kb = ${kvRow(d, 'bb', `hk * ${u(d.rep)}`, 'kj')};
  var kv: array<V, ${d.DV}>;${isK ? `\n  var vv: array<V, ${d.DV}>;` : ''}
${outs.map((o) => `  var ${acc(o)}: array<V, ${d.DV}>;`).join('\n')}
  for (var c = 0u; c < ${DN}; c++) { kv[c] = ${chunk(d, k, `kb + c * ${u(d.W)}`)} * ${f32lit(d.scale)};${isK ? ` vv[c] = ${chunk(d, v, `kb + c * ${u(d.W)}`)};` : ''}${outs.map((o) => ` ${acc(o)}[c] = V();`).join('')} }
  let iStart = ${iStart};
  for (var r = 0u; r < ${u(d.rep)}; r++) {
    let h = hk * ${u(d.rep)} + r;
    for (var i0 = iStart; i0 < ${u(d.Tq)}; i0 += ${u(TILE)}) {
${stage(d, TILE, 'i0', d.Tq, [{ arr: 'qt', row: qr, fn: q }, { arr: 'gt', row: qr, fn: dO }])}
      for (var e = lid; e < ${u(2 * TILE)}; e += ${u(ROWS)}) {
        let si = (bb * ${u(d.H)} + h) * ${u(d.Tq)} + min(i0 + e / 2u, ${u(d.Tq - 1)});
        lt[e] = ${s}(si * 2u + e % 2u);
      }
      workgroupBarrier();
      for (var ii = 0u; ii < ${u(TILE)}; ii++) {
        let i = i0 + ii;
        if (!live || i >= ${u(d.Tq)} || !visible(bb, i, kj)) { continue; }
        var sc = 0.0;${isK ? ' var dp = 0.0;' : ''}
        for (var c = 0u; c < ${DN}; c++) { sc += vdot(qt[ii * ${u(d.DV)} + c], kv[c]);${isK ? ` dp += vdot(gt[ii * ${u(d.DV)} + c], vv[c]);` : ''} }
        let p = exp(sc - lt[ii * 2u]);${isK ? `
        let ds = p * (dp - lt[ii * 2u + 1u]) * ${f32lit(d.scale)};` : ''}
        ${update}
      }
    }
  }
  if (!live) { return; }
${stores}`;
  const shared = `${tiles(d, TILE, ['qt', 'gt'])}\nvar<workgroup> lt: array<f32, ${2 * TILE}>;`;
  const st0 = plan.storage(outs[0]!.outNode);
  const second = outs[1] ? outDecl(1, plan.storage(outs[1].outNode), 'out1') : '';
  const name = outs.length > 1 ? 'attention_grad_kv' : n.op;
  return { name, wgsl: frame(b, d, st0, soft, shared, body, second), workgroups: disp.workgroups, bound: b.bound,
    ...(outs[1] ? { layout: ['out', outs[1].outNode, ...b.bound] } : {}) };
}
