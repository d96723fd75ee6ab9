// Fused attention, flash-attention style: no Tq×Tk matrix in memory. Every kernel gives one invocation one
// row (a query, or for dk/dv a key) and keeps that row's operands and accumulator in registers, while the
// workgroup stages tiles of the other side (keys and values, or queries and dO) in workgroup memory, so each
// staged row is read from global memory once per workgroup rather than once per invocation.
//   forward  (query-major): running max, sum and output row over key tiles; in training also lse_i, a second
//            output, so the backward need not recompute it; with one query per head (decoding), the
//            workgroup's invocations split the keys instead and merge their partial results;
//   stats    (one row each): lse_i and Δ_i = dO_i·o_i per query, for the backward (query-major over key tiles
//            instead when no forward wrote lse);
//   dq       (query-major): Σ_j ds_ij k_j over key tiles;
//   dk, dv   (key-major):   Σ_i ds_ij q_i and Σ_i p_ij dO_i over query tiles (and over the key's head group), in
//            one kernel when registers allow (fusedKV), else one kernel each;
// probabilities are recomputed from lse. With a causal mask and no explicit query positions, key tiles past a
// query block's last visible key (and query tiles before a key block's first viewer) are skipped: half the work.
// On software adapters with subgroups, the other side comes in blocks of 8 rows read through subgroupBroadcast
// instead of staged tiles (sharedKeyLoop, attention-grad.ts sharedGradQLoop and sharedQueryLoop): no barriers.
// Rows are held as vec4s when the head dim allows (type V, dot products with vdot): a quarter of the
// instructions, and 16-byte workgroup-memory reads. On software adapters scalar head-dim loops get a bound the
// shader compiler cannot see (DN): fully unrolled they made LLVM (lavapipe) spend seconds per kernel.
// This file: the forward (query-major, and split keys for one query per head) and the backward's statistics;
// attention-grad.ts: dq, dk and dv.

import { numel, type Node } from '../ir/node.js';
import { Builder, dispatch1d, f32lit, header, hiddenBound, outDecl, u, type PlanView } from './expr.js';
import type { EmittedKernel } from './kernel.js';
import { blockGroups, chunk, dims, frame, hideBound, keyBlocks, kvRow, outRow, posInput, qRow, queryMajor, ROWS, stage, storeChunk, tileRows, tiles, visibility, type Dims, type Visibility } from './attention-common.js';

/** The forward; with `lse` (a training step's `_attn_lse` node) it also writes each query's log-sum-exp. */
export function emitAttention(n: Node, plan: PlanView, maxDim: number, swap = false, outNode: Node = n, soft = false, lse?: Node, share = false): EmittedKernel {
  if (dims(n).Tq === 1 && !lse) return emitSplitKeys(n, plan, maxDim, swap, outNode, soft);
  return emitOnline(n, plan, maxDim, soft, true, swap, outNode, lse, share);
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
  const vis = visibility(b, n, 3, d);
  b.decl(vis.decl);
  const groups = d.B * d.H;
  const disp = dispatch1d(groups, 1, maxDim);
  const st = plan.storage(outNode);
  // The keys the query can see end at Tk (causal by index: query 0 sees keys ≤ Tk − 1) or at its position + 1.
  const pos = n.attrs.causal === true ? posInput(n, 3) : null;
  const keyEnd = pos ? `u32(clamp(i32(${b.load(pos)}(0u)) + 1i, 0i, ${d.Tk}i))` : u(d.Tk);
  // The merge loops run once per workgroup: on software adapters their bound is hidden so that llvmpipe does
  // not unroll them (JIT of this kernel at d16: 2.7 s unrolled, 1.0 s not; no measurable run-time change).
  const SN = soft ? hiddenBound(S) : u(S);
  const body = `  ${hideBound(d, soft) ? `DN = ${hiddenBound(d.DV)};` : ''}
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
  for (var r = 0u; r < ${SN}; r++) { mAll = max(mAll, ms[r]); }
  // A part that saw no key (m = -inf) weighs 0; so does everything when no key is visible at all.
  let w = select(0.0, exp(m - mAll), m > ${f32lit(-Infinity)});
  ls[lid] = l * w;
  for (var c = 0u; c < ${DN}; c++) { part[lid * ${u(d.DV)} + c] = acc[c] * w; }
  workgroupBarrier();
  var lAll = 0.0;
  for (var r = 0u; r < ${SN}; r++) { lAll += ls[r]; }
  let inv = select(0.0, 1.0 / lAll, lAll > 0.0);
  let ob = ${outRow(swap, 'bb', 'h', '0u', d.H, d.Tq, d.D)};
  for (var c = lid; c < ${u(d.DV)}; c += ${u(S)}) {
    var o = V();
    for (var r = 0u; r < ${SN}; r++) { o += part[r * ${u(d.DV)} + c]; }
    ${storeChunk(d, st, `ob + c * ${u(d.W)}`, 'o * inv')}
  }`;
  const shared = `var<workgroup> ms: array<f32, ${S}>;\nvar<workgroup> ls: array<f32, ${S}>;\nvar<workgroup> part: array<V, ${S * d.DV}>;`;
  return { name: 'attention_decode', wgsl: frame(b, d, st, soft, shared, body, '', S), workgroups: disp.workgroups, bound: b.bound };
}

/**
 * The online-softmax pass over the keys, shared by the forward (outputs, with values) and the backward's
 * per-query statistics (lse_i, Δ_i = dO_i·o_i) [B, H, Tq, 2], with lse = +big when no key is visible so that
 * recomputed probabilities are 0. The keys come in tiles staged in workgroup memory, or with `share` (software
 * adapters with subgroups of at least 8 lanes) in blocks of 8 read through subgroupBroadcast.
 */
export function emitOnline(n: Node, plan: PlanView, maxDim: number, soft: boolean, forward: boolean, swap = false, outNode: Node = n, lse?: Node, share = false): EmittedKernel {
  const d = dims(n);
  const DN = hideBound(d, soft) ? 'DN' : u(d.DV);
  const b = new Builder(plan, lse ? 2 : 1);
  const [qN, kN, vN, oN, dON] = n.inputs as [Node, Node, Node, Node, Node];
  const q = b.load(qN), k = b.load(kN), v = forward ? b.load(vN) : '', o = forward ? '' : b.load(oN), dO = forward ? '' : b.load(dON);
  const vis = visibility(b, n, forward ? 3 : 5, d);
  b.decl(vis.decl);
  const groups = blockGroups(d, d.H, d.Tq);
  const disp = dispatch1d(groups, 1, maxDim);
  const st = forward ? plan.storage(outNode) : 'f32';
  const { pre, keyEnd } = queryMajor(d, n, disp, soft, b, forward ? 3 : 5);
  const TILE = tileRows(d.D, forward ? 2 : 1);
  const keys = share ? sharedKeyLoop(d, soft, forward, k, v, vis) : stagedKeyLoop(d, DN, TILE, forward, k, v);
  const body = `${pre}
  let qb = ${qRow(d, 'bb', 'h', 'qi')};
  var qv: array<V, ${d.DV}>;${forward ? `
  var acc: array<V, ${d.DV}>;` : ''}
  for (var c = 0u; c < ${DN}; c++) { qv[c] = ${chunk(d, q, `qb + c * ${u(d.W)}`)} * ${f32lit(d.scale)};${forward ? ' acc[c] = V();' : ''} }
  var m = ${f32lit(-Infinity)};
  var l = 0.0;
  let jEnd = ${keyEnd};
${keys}
  if (!live) { return; }
${forward ? `  let inv = select(0.0, 1.0 / l, l > 0.0);
  let ob = ${outRow(swap, 'bb', 'h', 'i', d.H, d.Tq, d.D)};
  for (var c = 0u; c < ${DN}; c++) { ${storeChunk(d, st, `ob + c * ${u(d.W)}`, 'acc[c] * inv')} }${lse ? `
  lse_out[(bb * ${u(d.H)} + h) * ${u(d.Tq)} + i] = ${LSE};` : ''}` : `  var delta = 0.0;
  for (var c = 0u; c < ${DN}; c++) { delta += vdot(${chunk(d, dO, `qb + c * ${u(d.W)}`)}, ${chunk(d, o, `qb + c * ${u(d.W)}`)}); }
  let t = (bb * ${u(d.H)} + h) * ${u(d.Tq)} + i;
  out[t * 2u] = ${LSE};
  out[t * 2u + 1u] = delta;`}`;
  const shared = share ? '' : tiles(d, TILE, forward ? ['kt', 'vt'] : ['kt']);
  const wgsl = frame(b, d, st, soft, shared, body, lse ? outDecl(1, 'f32', 'lse_out') : '', ROWS, share);
  return { name: forward ? 'attention' : 'attention_stats', wgsl, workgroups: disp.workgroups, bound: b.bound, ...(lse ? { layout: ['out', lse, ...b.bound] } : {}) };
}

/** The key loop over TILE-row tiles of keys (and values) staged in workgroup memory, one key at a time. */
function stagedKeyLoop(d: Dims, DN: string, TILE: number, forward: boolean, k: string, v: string): string {
  const kRow = (r: string) => kvRow(d, 'bb', 'h', r);
  const staged = forward ? [{ arr: 'kt', row: kRow, fn: k }, { arr: 'vt', row: kRow, fn: v }] : [{ arr: 'kt', row: kRow, fn: k }];
  return `  for (var j0 = 0u; j0 < jEnd; j0 += ${u(TILE)}) {
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
  }`;
}

/**
 * The key loop on software adapters with subgroups (no staging, no barriers). llvmpipe loads per lane inside
 * loops, even from workgroup memory at an address every lane shares, so a staged key cost 8 lanes × its chunks
 * of loads per query. Here, per block of 8 keys, lane sl loads key j0 + sl's chunks from storage and the
 * queries of its subgroup read them with subgroupBroadcast; the running max, sum and output row are updated
 * once per block (invisible keys get probability 0). Loops holding the broadcasts need a bound WGSL sees as
 * uniform: arrayLength, not the private DN. lavapipe, attention forward + backward programs: B2 H4 T256 d64
 * 138–150 → 119–127 ms, B2 H8 T128 d32 39–41 → 31–34 ms.
 */
function sharedKeyLoop(d: Dims, soft: boolean, forward: boolean, k: string, v: string, vis: Visibility): string {
  const { open, ok, J, DU } = keyBlocks(d, soft, vis);
  const maxOf = (xs: string[]): string => xs.reduce((a, x) => `max(${a}, ${x})`);
  return `${open}
${J.map((j) => `    var s${j} = 0.0;`).join('\n')}
    for (var c = 0u; c < ${DU}; c++) {
      let kc = ${chunk(d, k, `kb + c * ${u(d.W)}`)};
${J.map((j) => `      s${j} += vdot(qv[c], subgroupBroadcast(kc, ${j}u));`).join('\n')}
    }
${J.map((j) => `    let ok${j} = live && j0 + ${j}u < jEnd && ${ok(j)};`).join('\n')}
    let mn = ${maxOf(['m', ...J.map((j) => `select(m, s${j}, ok${j})`)])};
    let corr = exp(m - mn);
${J.map((j) => `    let p${j} = select(0.0, exp(s${j} - mn), ok${j});`).join('\n')}
    l = l * corr + ${J.map((j) => `p${j}`).join(' + ')};${forward ? `
    for (var c = 0u; c < ${DU}; c++) {
      let vc = ${chunk(d, v, `kb + c * ${u(d.W)}`)};
      acc[c] = acc[c] * corr + ${J.map((j) => `p${j} * subgroupBroadcast(vc, ${j}u)`).join(' + ')};
    }` : ''}
    m = mn;
  }`;
}

/** A query's log-sum-exp from the online pass; +big when it sees no key, so recomputed probabilities are 0. */
const LSE = 'select(3.0e38, m + log(l), l > 0.0)';

/** The backward's statistics when the forward wrote lse: (lse_i, Δ_i = dO_i·o_i) per query row, one per invocation. */
export function emitStatsFromLse(n: Node, plan: PlanView, maxDim: number): EmittedKernel {
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

