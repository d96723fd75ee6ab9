// Pieces shared by the attention kernels (attention.ts: forward, decoding, statistics; attention-grad.ts: dq,
// dk and dv): shapes, the visibility mask, row offsets, vec4 row chunks, tile staging, the opening that maps a
// workgroup to a block of rows, and the kernel module's frame. See attention.ts for the kernels' design.

import type { DType, Node } from '../ir/node.js';
import { subgroupSharing, type KernelCaps } from './caps.js';
import { Builder, header, hiddenBound, outDecl, storeConv, u } from './expr.js';

export interface Dims { B: number; H: number; Hkv: number; Tq: number; Tk: number; D: number; rep: number; scale: number; W: number; DV: number }

export function dims(n: Node): Dims {
  const [q, k] = n.inputs as [Node, Node];
  const [B, H, Tq, D] = q.shape as [number, number, number, number];
  const [, Hkv, Tk] = k.shape as [number, number, number];
  const scale = typeof n.attrs.scale === 'number' ? n.attrs.scale : 1 / Math.sqrt(D);
  const W = D % 4 === 0 ? 4 : 1;                 // vector width of a row chunk
  return { B, H, Hkv, Tq, Tk, D, rep: H / Hkv, scale, W, DV: D / W };
}

/** Rows per workgroup (one per invocation). */
export const ROWS = 32;

/** Whether attention reads the other side's rows through subgroupBroadcast, in blocks of BLOCK (keys in the
 *  forward and dq: attention.ts sharedKeyLoop; queries in dk and dv: attention-grad.ts sharedQueryLoop). */
export const sharesKeys = (caps: KernelCaps): boolean => subgroupSharing(caps, BLOCK, ROWS);
/** Rows per shared block: one per lane of a subgroup of 8. */
export const BLOCK = 8;

/** A shared block's row indices `J` and a head-dim loop bound `DU` WGSL sees as uniform (loops holding
 *  subgroupBroadcast may not use the private DN). */
export function blockParams(d: Dims, soft: boolean): { J: number[]; DU: string } {
  return { J: [...Array(BLOCK).keys()], DU: hideBound(d, soft) ? hiddenBound(d.DV) : u(d.DV) };
}

/**
 * The opening of a query-major shared key loop (sharesKeys): the mask's hoisted query values, then blocks of
 * BLOCK keys up to jEnd with lane sl's key row offset `kb` and its key's segment; `ok(j)` whether the block's
 * j-th key is visible to this lane's query (sharedMask). Used by the forward (attention.ts sharedKeyLoop) and dq.
 */
export function keyBlocks(d: Dims, soft: boolean, vis: Visibility): { open: string; ok: (j: number) => string; J: number[]; DU: string } {
  const mask = sharedMask(vis, d, false);
  return {
    open: `${mask.pre}
  for (var j0 = 0u; j0 < jEnd; j0 += ${u(BLOCK)}) {
    let kb = ${kvRow(d, 'bb', 'h', `min(j0 + sl, ${u(d.Tk - 1)})`)};${mask.block ? `\n${mask.block}` : ''}`,
    ok: mask.ok,
    ...blockParams(d, soft),
  };
}
/** Staged rows per tile: `arrays` D-wide f32 tiles (plus `extra` f32 per row) within the 16 KiB every device grants. */
export const tileRows = (D: number, arrays: number, extra = 0): number => Math.max(1, Math.min(32, Math.floor(16384 / ((arrays * D + extra) * 4))));

/** The explicit query positions [Tq] (after the optional segment pair; the mask inputs start at `first`), if any. */
export const posInput = (n: Node, first: number): Node | null =>
  (n.attrs.hasPos === true ? n.inputs[first + (n.attrs.hasSeg === true ? 2 : 0)]! : null);

/**
 * The visibility mask: `fn seen(qs, ks, qp, j)` decides from query i's segment qs and position qp and key j's
 * segment ks (segments, padding by ks < 0, causality); `fn visible(bb, i, j)` loads those and calls it. Shared
 * loops (sharesKeys) call `seen` with values loaded once per lane and broadcast, not per (query, key) pair.
 * `qs`, `ks` and `qp` give the expressions for query i and key j of batch row bb; `seg` and `pos` whether they
 * read memory (else they are constants or index arithmetic).
 */
export interface Visibility { decl: string; qs(i: string): string; ks(j: string): string; qp(i: string): string; seg: boolean; pos: boolean }

export function visibility(b: Builder, n: Node, first: number, d: Dims): Visibility {
  const seg = n.attrs.hasSeg === true, causal = n.attrs.causal === true;
  const pos = causal ? posInput(n, first) : null;
  const qsf = seg ? b.load(n.inputs[first]!) : '', ksf = seg ? b.load(n.inputs[first + 1]!) : '';
  const pf = pos ? b.load(pos) : '';
  const v = {
    qs: (i: string) => (seg ? `i32(${qsf}(bb * ${u(d.Tq)} + ${i}))` : '0i'),
    ks: (j: string) => (seg ? `i32(${ksf}(bb * ${u(d.Tk)} + ${j}))` : '0i'),
    qp: (i: string) => (!causal ? '0i' : pos ? `i32(${pf}(${i}))` : `i32(${i}) + ${d.Tk - d.Tq}i`),
    seg, pos: pos !== null,
  };
  const tests = [...(seg ? ['if (ks < 0i || qs != ks) { return false; }'] : []), ...(causal ? ['if (i32(j) > qp) { return false; }'] : []), 'return true;'];
  const decl = `fn seen(qs: i32, ks: i32, qp: i32, j: u32) -> bool {\n  ${tests.join('\n  ')}\n}
fn visible(bb: u32, i: u32, j: u32) -> bool { return seen(${v.qs('i')}, ${v.ks('j')}, ${v.qp('i')}, j); }`;
  return { decl, ...v };
}

/**
 * The mask of a shared loop (sharesKeys), its per-lane values loaded once: `pre` before the loops, `block` in
 * each block of 8 (after `kb`/`qb`), `ok(j)` whether the block's j-th row is visible. Query-major (lane = query,
 * keys broadcast): query i's segment and position hoisted, lane sl loads key j0 + sl's segment. Key-major (lane
 * = key, queries broadcast): key kj's segment hoisted, lane sl loads query ql's segment and position.
 */
export interface SharedMask { pre: string; block: string; ok: (j: number) => string }
export function sharedMask(vis: Visibility, d: Dims, keyMajor: boolean): SharedMask {
  // The broadcasts are taken before the masks use them: a mask sits right of `live &&`, which WGSL's uniformity
  // analysis treats as non-uniform control flow, where subgroupBroadcast may not be called.
  const J = [...Array(BLOCK).keys()];
  const bcs = (x: string, ind: string): string => J.map((j) => `${ind}let ${x}${j} = subgroupBroadcast(${x}L, ${j}u);`).join('\n');
  if (!keyMajor) {
    return {
      pre: `  let vqs = ${vis.qs('qi')};\n  let vqp = ${vis.qp('qi')};`,
      block: vis.seg ? `    let ksL = ${vis.ks(`min(j0 + sl, ${u(d.Tk - 1)})`)};\n${bcs('ks', '    ')}` : '',
      ok: (j) => `seen(vqs, ${vis.seg ? `ks${j}` : '0i'}, vqp, j0 + ${j}u)`,
    };
  }
  return {
    pre: `  let vks = ${vis.ks('kj')};`,
    block: [vis.seg ? `      let qsL = ${vis.qs('ql')};\n${bcs('qs', '      ')}` : '', vis.pos ? `      let qpL = ${vis.qp('ql')};\n${bcs('qp', '      ')}` : ''].filter(Boolean).join('\n'),
    ok: (j) => `seen(${vis.seg ? `qs${j}` : '0i'}, vks, ${vis.pos ? `qp${j}` : vis.qp(`i0 + ${j}u`)}, kj)`,
  };
}

/** Whether the head-dim loops get the hidden bound DN: scalar rows on software adapters (vec4 rows of up to 32
 *  chunks unroll quickly there and run 1.6× faster unrolled). */
export const hideBound = (d: Dims, soft: boolean): boolean => soft && (d.W === 1 || d.DV > 32);

/** Causal by index (no query positions): query i sees keys j ≤ i + (Tk − Tq), so tiles outside can be skipped. */
export const causalByIndex = (n: Node): boolean => n.attrs.causal === true && n.attrs.hasPos !== true;

export const kvRow = (d: Dims, bb: string, h: string, j: string): string => `((${bb} * ${u(d.Hkv)} + ${h} / ${u(d.rep)}) * ${u(d.Tk)} + ${j}) * ${u(d.D)}`;
export const qRow = (d: Dims, bb: string, h: string, i: string): string => `((${bb} * ${u(d.H)} + ${h}) * ${u(d.Tq)} + ${i}) * ${u(d.D)}`;
/** Output row offset; `swap` writes [B, T, H, D] (the permute(0, 2, 1, 3) that merges heads, fused in). */
export const outRow = (swap: boolean, bb: string, h: string, i: string, Hn: number, T: number, D: number): string =>
  swap ? `((${bb} * ${u(T)} + ${i}) * ${u(Hn)} + ${h}) * ${u(D)}` : `((${bb} * ${u(Hn)} + ${h}) * ${u(T)} + ${i}) * ${u(D)}`;

/** A V-typed chunk of a row read through load function `fn` at element offset `off` (W consecutive elements). */
export const chunk = (d: Dims, fn: string, off: string): string =>
  d.W === 1 ? `f32(${fn}(${off}))` : `V(${[0, 1, 2, 3].map((t) => `f32(${fn}(${off}${t ? ` + ${t}u` : ''}))`).join(', ')})`;

/** Statements writing chunk `val` (a V) to output array `arr` at element offset `off`. */
export const storeChunk = (d: Dims, st: DType, off: string, val: string, arr = 'out'): string =>
  d.W === 1 ? `${arr}[${off}] = ${storeConv(st, val)};`
    : `let w4 = ${val}; ${['x', 'y', 'z', 'w'].map((c, t) => `${arr}[${off}${t ? ` + ${t}u` : ''}] = ${storeConv(st, `w4.${c}`)};`).join(' ')}`;

/** Staging: TILE rows from `row0` into each V-typed array (chunk e of the tile), zero past `limit`. */
export function stage(d: Dims, T: number, row0: string, limit: number, tiles: { arr: string; row: (r: string) => string; fn: string }[]): string {
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
export function opening(d: Dims, soft: boolean, disp: { nx: number }, heads: number, T: number, [hN, r0, r, rc]: [string, string, string, string]): string {
  const blocks = Math.ceil(T / ROWS), groups = blockGroups(d, heads, T);
  return `  ${hideBound(d, soft) ? `DN = ${hiddenBound(d.DV)};` : ''}
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
export const blockGroups = (d: Dims, heads: number, T: number): number => d.B * heads * Math.ceil(T / ROWS);

/**
 * Query-major opening, and the end of the keys the block's queries can see (an expression of the workgroup
 * alone, so every invocation loops over the same tiles). `first` is the index of the mask inputs.
 */
export function queryMajor(d: Dims, n: Node, disp: { nx: number }, soft: boolean, b: Builder, first: number): { pre: string; keyEnd: string } {
  let pre = opening(d, soft, disp, d.H, d.Tq, ['h', 'i0', 'i', 'qi']);
  let keyEnd = u(d.Tk);
  if (causalByIndex(n)) {
    // The block's last query i0 + ROWS − 1 sees keys up to i0 + ROWS − 1 + (Tk − Tq).
    keyEnd = `u32(clamp(i32(i0) + ${ROWS + d.Tk - d.Tq}i, 0i, ${d.Tk}i))`;
  } else if (n.attrs.causal === true && posInput(n, first)) {
    // Explicit positions (decoding over a KV cache): no key past the block's largest position + 1, so a
    // decode step reads the cache up to its position, not to its length.
    const qp = b.load(posInput(n, first)!);
    pre += `
  var posEnd = 0i;
  for (var r = i0; r < min(i0 + ${u(ROWS)}, ${u(d.Tq)}); r++) { posEnd = max(posEnd, i32(${qp}(r)) + 1i); }`;
    keyEnd = `u32(clamp(posEnd, 0i, ${d.Tk}i))`;
  }
  return { pre, keyEnd };
}

/** The kernel module; `outs2` declares a second output (binding 1) when there is one. */
export function frame(b: Builder, d: Dims, st: DType, soft: boolean, shared: string, body: string, outs2 = '', wg = ROWS, subgroups = false): string {
  return `${subgroups ? 'enable subgroups;\n' : ''}${header(b.usesF16() || st === 'f16' || outs2.includes('f16'))}${outDecl(0, st)}${outs2 ? `\n${outs2}` : ''}
${b.decls()}
alias V = ${d.W === 1 ? 'f32' : 'vec4<f32>'};
fn vdot(a: V, b: V) -> f32 { return ${d.W === 1 ? 'a * b' : 'dot(a, b)'}; }
${hideBound(d, soft) ? 'var<private> DN: u32;\n' : ''}${shared}
@compute @workgroup_size(${wg})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32${subgroups ? ', @builtin(subgroup_invocation_id) sl: u32' : ''}) {
${body}
}
`;
}

export const tiles = (d: Dims, T: number, names: string[]): string => names.map((nm) => `var<workgroup> ${nm}: array<V, ${T * d.DV}>;`).join('\n');
