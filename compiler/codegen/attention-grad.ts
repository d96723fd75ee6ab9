// Attention backward kernels (see attention.ts for the design): dq query-major over key tiles; dk and dv
// key-major over query tiles, sharing one kernel where registers and bindings allow (pairKV); probabilities
// recomputed from the (lse, Δ) statistics the stats kernel writes.

import type { Node } from '../ir/node.js';
import type { FusionPlan } from '../passes/fusion.js';
import { Builder, dispatch1d, f32lit, outDecl, u, type PlanView } from './expr.js';
import type { EmittedKernel } from './kernel.js';
import { blockGroups, causalByIndex, chunk, dims, frame, hideBound, BLOCK, blockParams, keyBlocks, kvRow, opening, outRow, qRow, queryMajor, ROWS, stage, storeChunk, tileRows, tiles, visibility, sharedMask, type Dims, type SharedMask, type Visibility } from './attention-common.js';
import { emitOnline, emitStatsFromLse } from './attention.js';

/** attention_grad_q/k/v with the stats node appended as the last input (see passes/rewrite.ts). */
/** `share`: software adapters with subgroups read keys through subgroupBroadcast (attention.ts sharedKeyLoop). */
export function emitAttentionGrad(n: Node, plan: PlanView, maxDim: number, swap = false, outNode: Node = n, soft = false, share = false): EmittedKernel {
  if (n.op === '_attn_stats') return n.attrs.fromLse === true ? emitStatsFromLse(n, plan, maxDim) : emitOnline(n, plan, maxDim, soft, false, false, n, undefined, share);
  return n.op === 'attention_grad_q' ? emitGradQ(n, plan, maxDim, swap, outNode, soft, share) : emitGradKV(n, plan, maxDim, [{ grad: n, swap, outNode }], soft, share);
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
  const keyOf = (grad: Node): string => `${grad.inputs.map((x) => x.id).join(',')}:${JSON.stringify(grad.attrs)}`;   // same attention
  const byInputs = new Map<string, Partial<Record<'k' | 'v', KVOut>>>();
  const firsts: KVOut[] = [];
  for (const m of order) {
    if (!materialized.has(m)) continue;
    const grad = swapped.get(m) ?? m;
    const w = grad.op === 'attention_grad_k' ? 'k' : grad.op === 'attention_grad_v' ? 'v' : null;
    if (!w || !fusedKV(grad.inputs[0]!.shape[3]!, soft) || !fits(grad)) continue;
    const key = keyOf(grad);
    const slot = byInputs.get(key) ?? {};
    if (slot[w]) continue;
    slot[w] = { grad, swap: swapped.has(m), outNode: m };
    byInputs.set(key, slot);
    if (!slot[w === 'k' ? 'v' : 'k']) firsts.push(slot[w]!);
  }
  const pairs = new Map<Node, KVOut>();
  for (const f of firsts) {
    const slot = byInputs.get(keyOf(f.grad))!;
    const other = f.grad.op === 'attention_grad_k' ? slot.v : slot.k;
    if (!other) continue;
    const later = (consumers.get(f.outNode) ?? []).every((c) => at.get(c)! > at.get(other.outNode)!);
    if (later) pairs.set(other.outNode, f); else pairs.set(f.outNode, other);
  }
  return pairs;
}

/** dk and dv of the same attention (same inputs) in one kernel; `second` is written at binding 1. */
export function emitAttentionGradKV(first: KVOut, second: KVOut, plan: PlanView, maxDim: number, soft: boolean, share = false): EmittedKernel {
  return emitGradKV(first.grad, plan, maxDim, [first, second], soft, share);
}

/**
 * dq_i = scale · Σ_j p_ij (dp_ij − Δ_i) k_j, dp_ij = dO_i·v_j; key and value tiles staged, or with `share`
 * blocks of 8 keys read through subgroupBroadcast (as attention.ts sharedKeyLoop).
 */
function emitGradQ(n: Node, plan: PlanView, maxDim: number, swap: boolean, outNode: Node, soft: boolean, share = false): EmittedKernel {
  const d = dims(n);
  const DN = hideBound(d, soft) ? 'DN' : u(d.DV);
  const b = new Builder(plan, 1);
  const [qN, kN, vN, , dON] = n.inputs as [Node, Node, Node, Node, Node];
  const sN = n.inputs[n.inputs.length - 1]!;
  const q = b.load(qN), k = b.load(kN), v = b.load(vN), dO = b.load(dON), s = b.load(sN);
  const vis = visibility(b, n, 5, d);
  b.decl(vis.decl);
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
${share ? sharedGradQLoop(d, soft, k, v, vis) : `  for (var j0 = 0u; j0 < jEnd; j0 += ${u(TILE)}) {
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
  }`}
  if (!live) { return; }
  let ob = ${outRow(swap, 'bb', 'h', 'i', d.H, d.Tq, d.D)};
  for (var c = 0u; c < ${DN}; c++) { ${storeChunk(d, st, `ob + c * ${u(d.W)}`, 'acc[c]')} }`;
  return { name: n.op, wgsl: frame(b, d, st, soft, share ? '' : tiles(d, TILE, ['kt', 'vt']), body, '', ROWS, share), workgroups: disp.workgroups, bound: b.bound };
}

/** dq's key loop in blocks of 8 keys read through subgroupBroadcast (lane sl loads key j0 + sl's k and v chunks). */
function sharedGradQLoop(d: Dims, soft: boolean, k: string, v: string, vis: Visibility): string {
  const { open, ok, J, DU } = keyBlocks(d, soft, vis);
  return `${open}
${J.map((j) => `    var sc${j} = 0.0; var dp${j} = 0.0;`).join('\n')}
    for (var c = 0u; c < ${DU}; c++) {
      let kc = ${chunk(d, k, `kb + c * ${u(d.W)}`)};
      let vc = ${chunk(d, v, `kb + c * ${u(d.W)}`)};
${J.map((j) => `      sc${j} += vdot(qv[c], subgroupBroadcast(kc, ${j}u)); dp${j} += vdot(gv[c], subgroupBroadcast(vc, ${j}u));`).join('\n')}
    }
${J.map((j) => `    let ds${j} = select(0.0, exp(sc${j} * ${f32lit(d.scale)} - lse) * (dp${j} - delta) * ${f32lit(d.scale)}, live && j0 + ${j}u < jEnd && ${ok(j)});`).join('\n')}
    for (var c = 0u; c < ${DU}; c++) {
      let kc = ${chunk(d, k, `kb + c * ${u(d.W)}`)};
      acc[c] += ${J.map((j) => `ds${j} * subgroupBroadcast(kc, ${j}u)`).join(' + ')};
    }
  }`;
}

/**
 * dk_j = scale · Σ_{h in group, i} p_ij (dp_ij − Δ_i) q_i;  dv_j = Σ_{h in group, i} p_ij dO_i.
 * One invocation per key (its k row, and for dk its v row, in registers); query and dO tiles with their
 * (lse, Δ) staged, or with `share` blocks of 8 queries read through subgroupBroadcast (sharedQueryLoop).
 * `outs` lists dk, dv or both (one kernel: p is computed once for both). Without dk the kernel needs no dO·v
 * product and binds no V.
 */
function emitGradKV(n: Node, plan: PlanView, maxDim: number, outs: KVOut[], soft: boolean, share = false): EmittedKernel {
  const d = dims(n);
  const DN = hideBound(d, soft) ? 'DN' : u(d.DV);
  const isK = outs.some((o) => o.grad.op === 'attention_grad_k');
  const b = new Builder(plan, outs.length);
  const [qN, kN, vN, , dON] = n.inputs as [Node, Node, Node, Node, Node];
  const sN = n.inputs[n.inputs.length - 1]!;
  // Bind only what the kernel reads: an unused binding would be missing from the pipeline's layout.
  const q = b.load(qN), k = b.load(kN), v = isK ? b.load(vN) : '', dO = b.load(dON), s = b.load(sN);
  const vis = visibility(b, n, 5, d);
  b.decl(vis.decl);
  const mask = share ? sharedMask(vis, d, true) : null;
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
${mask ? `${mask.pre}\n` : ''}  let iStart = ${iStart};
  for (var r = 0u; r < ${u(d.rep)}; r++) {
    let h = hk * ${u(d.rep)} + r;
${mask ? sharedQueryLoop(d, soft, q, dO, s, mask, outs.map((o) => o.grad.op === 'attention_grad_k' ? 'k' : 'v')) : `    for (var i0 = iStart; i0 < ${u(d.Tq)}; i0 += ${u(TILE)}) {
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
    }`}
  }
  if (!live) { return; }
${stores}`;
  const shared = share ? '' : `${tiles(d, TILE, ['qt', 'gt'])}\nvar<workgroup> lt: array<f32, ${2 * TILE}>;`;
  const st0 = plan.storage(outs[0]!.outNode);
  const second = outs[1] ? outDecl(1, plan.storage(outs[1].outNode), 'out1') : '';
  const name = outs.length > 1 ? 'attention_grad_kv' : n.op;
  return { name, wgsl: frame(b, d, st0, soft, shared, body, second, ROWS, share), workgroups: disp.workgroups, bound: b.bound,
    ...(outs[1] ? { layout: ['out', outs[1].outNode, ...b.bound] } : {}) };
}

/**
 * dk/dv's query loop in blocks of 8 queries read through subgroupBroadcast: lane sl loads query i0 + sl's q and
 * dO chunks and its (lse, Δ), and every lane (one key each) takes the block's 8 from the subgroup. `outs` are the
 * accumulators to update ('k': accK += ds·q, 'v': accV += p·dO); dk needs the dO·v products and Δ.
 */
function sharedQueryLoop(d: Dims, soft: boolean, q: string, dO: string, s: string, mask: SharedMask, outs: ('k' | 'v')[]): string {
  const { J, DU } = blockParams(d, soft);
  const isK = outs.includes('k');
  const row = `qb + c * ${u(d.W)}`;
  const sums = (c: 'k' | 'v'): string => (c === 'k'
    ? `        accK[c] += ${J.map((j) => `ds${j} * subgroupBroadcast(qc, ${j}u)`).join(' + ')};`
    : `        accV[c] += ${J.map((j) => `p${j} * subgroupBroadcast(gc, ${j}u)`).join(' + ')};`);
  return `    for (var i0 = iStart; i0 < ${u(d.Tq)}; i0 += ${u(BLOCK)}) {
      let ql = min(i0 + sl, ${u(d.Tq - 1)});
      let qb = ${qRow(d, 'bb', 'h', 'ql')};
      let so = ((bb * ${u(d.H)} + h) * ${u(d.Tq)} + ql) * 2u;
      let lseL = ${s}(so);${isK ? `
      let deltaL = ${s}(so + 1u);` : ''}${mask.block ? `\n${mask.block}` : ''}
${J.map((j) => `      var sc${j} = 0.0;${isK ? ` var dp${j} = 0.0;` : ''}`).join('\n')}
      for (var c = 0u; c < ${DU}; c++) {
        let qc = ${chunk(d, q, row)};${isK ? `
        let gc = ${chunk(d, dO, row)};` : ''}
${J.map((j) => `        sc${j} += vdot(subgroupBroadcast(qc, ${j}u), kv[c]);${isK ? ` dp${j} += vdot(subgroupBroadcast(gc, ${j}u), vv[c]);` : ''}`).join('\n')}
      }
${J.map((j) => `      let p${j} = select(0.0, exp(sc${j} - subgroupBroadcast(lseL, ${j}u)), live && i0 + ${j}u < ${u(d.Tq)} && ${mask.ok(j)});${isK
    ? `
      let ds${j} = p${j} * (dp${j} - subgroupBroadcast(deltaL, ${j}u)) * ${f32lit(d.scale)};` : ''}`).join('\n')}
      for (var c = 0u; c < ${DU}; c++) {
${outs.map((o) => (o === 'k' ? `        let qc = ${chunk(d, q, row)};` : `        let gc = ${chunk(d, dO, row)};`)).join('\n')}
${outs.map(sums).join('\n')}
      }
    }`;
}
