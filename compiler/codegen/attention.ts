// Fused attention, flash-attention style: no Tq×Tk matrix in memory. Forward: a workgroup takes QW queries
// of one (batch, head); K/V tiles are staged in workgroup memory and each invocation keeps a running max,
// sum and output row in registers. Backward: a stats kernel (lse_i, Δ_i = dO_i·o_i per query), then dq per
// query and dk/dv per key (looping over the key's query group), probabilities recomputed from lse.
// On software adapters the head-dim loops get a bound the shader compiler cannot see (DN): fully unrolled
// they made LLVM (lavapipe) spend seconds per kernel.

import type { Node } from '../ir/node.js';
import { Builder, dispatch1d, f32lit, header, outDecl, storeConv, u, type PlanView } from './expr.js';
import type { EmittedKernel } from './kernel.js';

interface Dims { B: number; H: number; Hkv: number; Tq: number; Tk: number; D: number; rep: number; scale: number }

function dims(n: Node): Dims {
  const [q, k] = n.inputs as [Node, Node];
  const [B, H, Tq, D] = q.shape as [number, number, number, number];
  const [, Hkv, Tk] = k.shape as [number, number, number];
  const scale = typeof n.attrs.scale === 'number' ? n.attrs.scale : 1 / Math.sqrt(D);
  return { B, H, Hkv, Tq, Tk, D, rep: H / Hkv, scale };
}

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

const kvRow = (d: Dims, bb: string, h: string, j: string): string => `((${bb} * ${u(d.Hkv)} + ${h} / ${u(d.rep)}) * ${u(d.Tk)} + ${j}) * ${u(d.D)}`;
const qRow = (d: Dims, bb: string, h: string, i: string): string => `((${bb} * ${u(d.H)} + ${h}) * ${u(d.Tq)} + ${i}) * ${u(d.D)}`;
/** Output row offset; `swap` writes [B, T, H, D] (the permute(0, 2, 1, 3) that merges heads, fused in). */
const outRow = (swap: boolean, bb: string, h: string, i: string, Hn: number, T: number, D: number): string =>
  swap ? `((${bb} * ${u(T)} + ${i}) * ${u(Hn)} + ${h}) * ${u(D)}` : `((${bb} * ${u(Hn)} + ${h}) * ${u(T)} + ${i}) * ${u(D)}`;

export function emitAttention(n: Node, plan: PlanView, maxDim: number, swap = false, outNode: Node = n, soft = false): EmittedKernel {
  const d = dims(n);
  const DN = soft ? 'DN' : u(d.D);
  const b = new Builder(plan, 1);
  const [qN, kN, vN] = n.inputs as [Node, Node, Node];
  const q = b.load(qN), k = b.load(kN), v = b.load(vN);
  b.decl(visibleFn(b, n, 3, d));
  const QW = 32;
  const TILE = Math.max(1, Math.min(32, Math.floor(16384 / (2 * d.D * 4))));
  const qBlocks = Math.ceil(d.Tq / QW);
  const groups = d.B * d.H * qBlocks;
  const disp = dispatch1d(groups, 1, maxDim);
  const st = plan.storage(outNode);
  const wgsl = `${header(b.usesF16() || st === 'f16')}${outDecl(0, st)}
${b.decls()}
${soft ? 'var<private> DN: u32;\n' : ''}var<workgroup> kt: array<f32, ${TILE * d.D}>;
var<workgroup> vt: array<f32, ${TILE * d.D}>;
@compute @workgroup_size(${QW})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  ${soft ? `DN = select(${u(d.D)}, 0u, arrayLength(&out) == 0u);` : ''}
  let g = wid.y * ${u(disp.nx)} + wid.x;
  if (g >= ${u(groups)}) { return; }
  let bh = g / ${u(qBlocks)};
  let bb = bh / ${u(d.H)};
  let h = bh % ${u(d.H)};
  let i = (g % ${u(qBlocks)}) * ${u(QW)} + lid;
  let live = i < ${u(d.Tq)};
  let qi = min(i, ${u(d.Tq - 1)});
  var qv: array<f32, ${d.D}>;
  var acc: array<f32, ${d.D}>;
  for (var c = 0u; c < ${DN}; c++) { qv[c] = f32(${q}(${qRow(d, 'bb', 'h', 'qi')} + c)) * ${f32lit(d.scale)}; acc[c] = 0.0; }
  var m = ${f32lit(-Infinity)};
  var l = 0.0;
  for (var j0 = 0u; j0 < ${u(d.Tk)}; j0 += ${u(TILE)}) {
    workgroupBarrier();
    for (var e = lid; e < ${u(TILE * d.D)}; e += ${u(QW)}) {
      let j = j0 + e / ${u(d.D)};
      var kv = 0.0; var vv = 0.0;
      if (j < ${u(d.Tk)}) { let o = ${kvRow(d, 'bb', 'h', 'j')} + e % ${u(d.D)}; kv = f32(${k}(o)); vv = f32(${v}(o)); }
      kt[e] = kv; vt[e] = vv;
    }
    workgroupBarrier();
    for (var jj = 0u; jj < ${u(TILE)}; jj++) {
      let j = j0 + jj;
      if (!live || j >= ${u(d.Tk)} || !visible(bb, qi, j)) { continue; }
      var s = 0.0;
      for (var c = 0u; c < ${DN}; c++) { s += qv[c] * kt[jj * ${u(d.D)} + c]; }
      let mn = max(m, s);
      let corr = exp(m - mn);
      let p = exp(s - mn);
      l = l * corr + p;
      for (var c = 0u; c < ${DN}; c++) { acc[c] = acc[c] * corr + p * vt[jj * ${u(d.D)} + c]; }
      m = mn;
    }
  }
  if (!live) { return; }
  let inv = select(0.0, 1.0 / l, l > 0.0);
  let ob = ${outRow(swap, 'bb', 'h', 'i', d.H, d.Tq, d.D)};
  for (var c = 0u; c < ${DN}; c++) { out[ob + c] = ${storeConv(st, 'acc[c] * inv')}; }
}
`;
  return { name: 'attention', wgsl, workgroups: disp.workgroups, bound: b.bound };
}

/** Per-query (lse, Δ) [B, H, Tq, 2]; lse = +big when no key is visible, so recomputed p = 0. */
function emitStats(n: Node, plan: PlanView, maxDim: number, soft: boolean): EmittedKernel {
  const d = dims(n);
  const DN = soft ? 'DN' : u(d.D);
  const b = new Builder(plan, 1);
  const [qN, kN, , oN, dON] = n.inputs as [Node, Node, Node, Node, Node];
  const q = b.load(qN), k = b.load(kN), o = b.load(oN), dO = b.load(dON);
  b.decl(visibleFn(b, n, 5, d));
  const total = d.B * d.H * d.Tq;
  const disp = dispatch1d(total, 64, maxDim);
  const wgsl = `${header(b.usesF16())}${outDecl(0, 'f32')}
${b.decls()}
${soft ? 'var<private> DN: u32;\n' : ''}@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  ${soft ? `DN = select(${u(d.D)}, 0u, arrayLength(&out) == 0u);` : ''}
  let t = (wid.y * ${u(disp.nx)} + wid.x) * 64u + lid;
  if (t >= ${u(total)}) { return; }
  let i = t % ${u(d.Tq)};
  let h = (t / ${u(d.Tq)}) % ${u(d.H)};
  let bb = t / ${u(d.Tq * d.H)};
  let qb = ${qRow(d, 'bb', 'h', 'i')};
  var m = ${f32lit(-Infinity)};
  var l = 0.0;
  for (var j = 0u; j < ${u(d.Tk)}; j++) {
    if (!visible(bb, i, j)) { continue; }
    let kb = ${kvRow(d, 'bb', 'h', 'j')};
    var s = 0.0;
    for (var c = 0u; c < ${DN}; c++) { s += f32(${q}(qb + c)) * f32(${k}(kb + c)); }
    s *= ${f32lit(d.scale)};
    let mn = max(m, s);
    l = l * exp(m - mn) + exp(s - mn);
    m = mn;
  }
  var delta = 0.0;
  for (var c = 0u; c < ${DN}; c++) { delta += f32(${dO}(qb + c)) * f32(${o}(qb + c)); }
  out[t * 2u] = select(3.0e38, m + log(l), l > 0.0);
  out[t * 2u + 1u] = delta;
}
`;
  return { name: 'attention_stats', wgsl, workgroups: disp.workgroups, bound: b.bound };
}

/** attention_grad_q/k/v with the stats node appended as the last input (see passes/rewrite.ts). */
export function emitAttentionGrad(n: Node, plan: PlanView, maxDim: number, swap = false, outNode: Node = n, soft = false): EmittedKernel {
  if (n.op === '_attn_stats') return emitStats(n, plan, maxDim, soft);
  const d = dims(n);
  const DN = soft ? 'DN' : u(d.D);
  const b = new Builder(plan, 1);
  const [qN, kN, vN, , dON] = n.inputs as [Node, Node, Node, Node, Node];
  const sN = n.inputs[n.inputs.length - 1]!;
  const which = n.op.slice(-1);
  const needDs = which !== 'v';
  // Bind only what the kernel reads: an unused binding would be missing from the pipeline's layout.
  const q = b.load(qN), k = b.load(kN), v = needDs ? b.load(vN) : '', dO = b.load(dON), s = b.load(sN);
  b.decl(visibleFn(b, n, 5, d));
  const st = plan.storage(outNode);
  // p_ij (and, for dq and dk, dp_ij and ds_ij) for query (bb, h, i) and key j; lse_i and Δ_i from stats.
  // dv needs only p: its kernel skips the dO·v dot product.
  const pd = `let qb = ${qRow(d, 'bb', 'h', 'i')};
    let kb = ${kvRow(d, 'bb', 'h', 'j')};
    var sc = 0.0;${needDs ? ' var dp = 0.0;' : ''}
    for (var c = 0u; c < ${DN}; c++) { sc += f32(${q}(qb + c)) * f32(${k}(kb + c));${needDs ? ` dp += f32(${dO}(qb + c)) * f32(${v}(kb + c));` : ''} }
    let si = (bb * ${u(d.H)} + h) * ${u(d.Tq)} + i;
    let p = exp(sc * ${f32lit(d.scale)} - ${s}(si * 2u));${needDs ? `
    let ds = p * (dp - ${s}(si * 2u + 1u)) * ${f32lit(d.scale)};` : ''}`;
  let total: number, body: string;
  if (which === 'q') {
    total = d.B * d.H * d.Tq;
    body = `  let i = t % ${u(d.Tq)};
  let h = (t / ${u(d.Tq)}) % ${u(d.H)};
  let bb = t / ${u(d.Tq * d.H)};
  var acc: array<f32, ${d.D}>;
  for (var j = 0u; j < ${u(d.Tk)}; j++) {
    if (!visible(bb, i, j)) { continue; }
    ${pd}
    for (var c = 0u; c < ${DN}; c++) { acc[c] += ds * f32(${k}(kb + c)); }
  }
  let ob = ${outRow(swap, 'bb', 'h', 'i', d.H, d.Tq, d.D)};
  for (var c = 0u; c < ${DN}; c++) { out[ob + c] = ${storeConv(st, 'acc[c]')}; }`;
  } else {
    total = d.B * d.Hkv * d.Tk;
    const src = which === 'k' ? `ds * f32(${q}(qb + c))` : `p * f32(${dO}(qb + c))`;
    body = `  let j = t % ${u(d.Tk)};
  let hk = (t / ${u(d.Tk)}) % ${u(d.Hkv)};
  let bb = t / ${u(d.Tk * d.Hkv)};
  var acc: array<f32, ${d.D}>;
  for (var r = 0u; r < ${u(d.rep)}; r++) {
    let h = hk * ${u(d.rep)} + r;
    for (var i = 0u; i < ${u(d.Tq)}; i++) {
      if (!visible(bb, i, j)) { continue; }
      ${pd}
      for (var c = 0u; c < ${DN}; c++) { acc[c] += ${src}; }
    }
  }
  let ob = ${outRow(swap, 'bb', 'hk', 'j', d.Hkv, d.Tk, d.D)};
  for (var c = 0u; c < ${DN}; c++) { out[ob + c] = ${storeConv(st, 'acc[c]')}; }`;
  }
  const disp = dispatch1d(total, 64, maxDim);
  const wgsl = `${header(b.usesF16() || st === 'f16')}${outDecl(0, st)}
${b.decls()}
${soft ? 'var<private> DN: u32;\n' : ''}@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  ${soft ? `DN = select(${u(d.D)}, 0u, arrayLength(&out) == 0u);` : ''}
  let t = (wid.y * ${u(disp.nx)} + wid.x) * 64u + lid;
  if (t >= ${u(total)}) { return; }
${body}
}
`;
  return { name: n.op, wgsl, workgroups: disp.workgroups, bound: b.bound };
}
