// sgmat: f16 matmul on subgroup matrices (chromium_experimental_subgroup_matrix; tensor cores on NVIDIA).
// Why: DAWN.md measured 19 TFLOP/s for one subgroup per 32×32 tile reading storage directly; the operands
// must be reused from workgroup memory. Here a workgroup stages BM×BK and BK×BN slices of A and B into
// workgroup memory (the next slice prefetched into registers), and each subgroup multiplies several 16×16 tiles.

import { hasSubgroupMatrix, type KernelCaps } from './caps.js';
import { decodeTile, flatDispatch, geometry, prelude, u, prefetchedKLoop } from './matmul-common.js';
import type { MatmulKernel, MatmulSpec } from './matmul.js';

export interface SgmatOptions {
  /** 'new': subgroupMatrixLoad<T, row_major>(p, off, stride) (Dawn from Aug 2026); 'old': (p, off, colMajor, stride). */
  api?: 'new' | 'old';
  tile?: 'large' | 'medium' | 'small' | SgmatCfg;
  /** Also `enable subgroups;` (some Dawn builds may want it beside the subgroup-matrix extension). */
  enableSubgroups?: boolean;
}

/** BM×BN outputs per workgroup, BK-deep slices (a multiple of 16), SGM×SGN subgroups each (BM/SGM)×(BN/SGN). */
export interface SgmatCfg { BM: number; BN: number; BK: number; SGM: number; SGN: number }   // SGM×SGN subgroups per workgroup
type Cfg = SgmatCfg;
// H200, 4096³ f16→f32 (bench/RESULTS.md): 256×128 with 4×2 subgroups of 64×64 141 TFLOP/s, 128×128 4×2 (32×64
// each) 117, 64×128 2×2 100, 64×64 2×2 67; the 2×4 layouts (each subgroup 64×32) only 39: keep subgroups tall.
const CFGS: Record<'large' | 'medium' | 'small', Cfg> = {
  large: { BM: 256, BN: 128, BK: 32, SGM: 4, SGN: 2 },   // 8 subgroups, each 64×64 = 4×4 tiles
  medium: { BM: 128, BN: 128, BK: 32, SGM: 4, SGN: 2 },  // 8 subgroups, each 32×64 = 2×4 tiles
  small: { BM: 64, BN: 64, BK: 32, SGM: 2, SGN: 2 },     // 4 subgroups, each 32×32 = 2×2 tiles
};
const PAD = 8;   // f16 elements of padding per staged row: spreads banks, keeps rows 16-byte aligned

/** Results go straight to `out` when every 16×16 tile is inside it and nothing is fused; else via scratch. */
function direct(c: Cfg, spec: MatmulSpec): boolean {
  return !spec.epilogue && spec.outType === 'f32' && spec.M % c.BM === 0 && spec.N % c.BN === 0;
}

function sharedBytes(c: Cfg, spec: MatmulSpec): number {
  const a = spec.transA ? c.BK * (c.BM + PAD) : c.BM * (c.BK + PAD);
  const b = spec.transB ? c.BN * (c.BK + PAD) : c.BK * (c.BN + PAD);
  return (a + b) * 2 + (direct(c, spec) ? 0 : c.SGM * c.SGN * 256 * 4);
}

export function sgmatFits(spec: MatmulSpec, caps: KernelCaps, tile: 'large' | 'medium' | 'small' | Cfg = 'large'): boolean {
  const c = typeof tile === 'string' ? CFGS[tile] : tile, sg = caps.subgroupMaxSize;
  return spec.inType === 'f16' && caps.f16 && hasSubgroupMatrix(caps) &&
    sg > 0 && caps.subgroupMinSize === sg && c.SGM * c.SGN * sg <= caps.limits.maxComputeInvocationsPerWorkgroup &&
    sharedBytes(c, spec) <= caps.limits.maxComputeWorkgroupStorageSize;
}

export function emitSgmat(spec: MatmulSpec, caps: KernelCaps, opts: SgmatOptions = {}): MatmulKernel {
  const api = opts.api ?? 'new';
  // The largest tile that still gives each of ~132 SMs a workgroup (and fits this device).
  const count = (bm: number, bn: number) => Math.ceil(spec.M / bm) * Math.ceil(spec.N / bn) * spec.batch;
  const tile = opts.tile ?? (count(256, 128) >= 128 && sgmatFits(spec, caps, 'large') ? 'large'
    : count(128, 128) >= 128 && sgmatFits(spec, caps, 'medium') ? 'medium' : 'small');
  const { BM, BN, BK, SGM, SGN } = typeof tile === 'string' ? CFGS[tile] : tile;
  if (!sgmatFits(spec, caps, tile)) throw new Error(`matmul '${spec.name}': the sgmat variant needs f16 inputs, f16×f16→f32 16×16×16 subgroup matrices, a fixed subgroup size and enough workgroup memory`);
  if (BK % 16 || BM % (16 * SGM) || BN % (16 * SGN)) throw new Error(`matmul '${spec.name}': bad sgmat tile ${JSON.stringify(tile)}`);
  const SG = caps.subgroupMaxSize, NSG = SGM * SGN, WG = NSG * SG;
  const TI = BM / SGM / 16, TJ = BN / SGN / 16;           // 16×16 tiles per subgroup along m and n
  const g = geometry(spec);
  const tilesM = Math.ceil(spec.M / BM), tilesN = Math.ceil(spec.N / BN), NK = Math.ceil(spec.K / BK);
  const dispatch = flatDispatch(tilesM * tilesN * spec.batch, caps.limits.maxComputeWorkgroupsPerDimension);

  // Staged layouts follow memory (the contiguous dimension stays contiguous), the matrix loads say which.
  const aRowsAreM = !spec.transA, bRowsAreK = !spec.transB;
  const SA = aRowsAreM ? BK + PAD : BM + PAD, SB = bRowsAreK ? BN + PAD : BK + PAD;
  const aLen = aRowsAreM ? BM * SA : BK * SA, bLen = bRowsAreK ? BK * SB : BN * SB;

  const stage = (x: 'a' | 'b') => {
    const isA = x === 'a';
    const trans = isA ? spec.transA : spec.transB;
    const outer = isA ? BM : BN;
    const contiguousIsOuter = isA ? trans : !trans;
    const [tileR, tileC] = contiguousIsOuter ? [BK, outer] : [outer, BK];
    const o = isA ? `tm * ${u(BM)}` : `tn * ${u(BN)}`;
    const [r0, c0] = isA ? (trans ? ['k0', o] : [o, 'k0']) : (trans ? [o, 'k0'] : ['k0', o]);
    const G = (tileR * tileC) / 4, L = Math.ceil(G / WG), guard = G % WG !== 0;
    const S = isA ? 'As' : 'Bs', stride = isA ? SA : SB;
    const decls: string[] = [], loads: string[] = [], stores: string[] = [];
    for (let i = 0; i < L; i++) {
      const gi = `(li + ${u(i * WG)})`;
      const rr = `(${gi} / ${u(tileC / 4)})`, cc = `((${gi} % ${u(tileC / 4)}) * 4u)`;
      decls.push(`  var p${x}${i} = vec4<f16>(0.0h);`);
      const ld = `p${x}${i} = vec4<f16>(${x}Row4(bi, ${r0} + ${rr}, ${c0} + ${cc}));`;
      const st = `{ let s = ${rr} * ${u(stride)} + ${cc}; ${[0, 1, 2, 3].map((j) => `${S}[s + ${j}u] = p${x}${i}[${j}];`).join(' ')} }`;
      loads.push(guard ? `if (${gi} < ${u(G)}) { ${ld} }` : ld);
      stores.push(guard ? `if (${gi} < ${u(G)}) ${st}` : st);
    }
    return { decls, loads, stores };
  };
  const sa = stage('a'), sb = stage('b');

  const load = (kind: 'left' | 'right', ptr: string, off: string, colMajor: boolean, stride: number): string =>
    api === 'new'
      ? `subgroupMatrixLoad<subgroup_matrix_${kind}<f16, 16, 16>, ${colMajor ? 'col_major' : 'row_major'}>(&${ptr}, ${off}, ${u(stride)})`
      : `subgroupMatrixLoad<subgroup_matrix_${kind}<f16, 16, 16>>(&${ptr}, ${off}, ${colMajor}, ${u(stride)})`;
  const store = (ptr: string, off: string, m: string, stride: string): string =>
    api === 'new'
      ? `subgroupMatrixStore<row_major>(&${ptr}, ${off}, ${m}, ${stride});`
      : `subgroupMatrixStore(&${ptr}, ${off}, ${m}, false, ${stride});`;

  const body: string[] = [];
  for (let kk = 0; kk < BK; kk += 16) {
    for (let i = 0; i < TI; i++) {
      const m = `wm + ${u(i * 16)}`;
      const off = aRowsAreM ? `(${m}) * ${u(SA)} + ${u(kk)}` : `${u(kk * SA)} + ${m}`;
      body.push(`    let a${kk}_${i} = ${load('left', 'As', off, !aRowsAreM, SA)};`);
    }
    for (let j = 0; j < TJ; j++) {
      const n = `wn + ${u(j * 16)}`;
      const off = bRowsAreK ? `${u(kk * SB)} + ${n}` : `(${n}) * ${u(SB)} + ${u(kk)}`;
      body.push(`    let b${kk}_${j} = ${load('right', 'Bs', off, !bRowsAreK, SB)};`);
    }
    for (let i = 0; i < TI; i++) for (let j = 0; j < TJ; j++) {
      body.push(`    c${i}_${j} = subgroupMatrixMultiplyAccumulate(a${kk}_${i}, b${kk}_${j}, c${i}_${j});`);
    }
  }

  const isDirect = direct({ BM, BN, BK, SGM, SGN }, spec);
  const tail: string[] = [];
  for (let i = 0; i < TI; i++) for (let j = 0; j < TJ; j++) {
    const row = `m0 + wm + ${u(i * 16)}`, col = `n0 + wn + ${u(j * 16)}`;
    if (isDirect) {
      tail.push(`  ${store('out', `bi * ${u(spec.M * spec.N)} + (${row}) * ${u(spec.N)} + ${col}`, `c${i}_${j}`, u(spec.N))}`);
    } else {
      tail.push(`  ${store('Cs', 'sg * 256u', `c${i}_${j}`, '16u')}
  workgroupBarrier();
  for (var e = lane; e < 256u; e += ${u(SG)}) { put(bi, ${row} + e / 16u, ${col} + e % 16u, Cs[sg * 256u + e]); }
  workgroupBarrier();`);
    }
  }

  const wgsl = `${prelude(spec, g, [...(opts.enableSubgroups ? ['enable subgroups;'] : []), 'enable chromium_experimental_subgroup_matrix;',
    // Offsets derive from local_invocation_index / subgroup size: uniform per subgroup, not per workgroup (H200: without this, Tint rejects them).
    'diagnostic(off, chromium.subgroup_matrix_uniformity);'])}
var<workgroup> As: array<f16, ${aLen}>;   // ${aRowsAreM ? `[BM][BK+${PAD}]` : `[BK][BM+${PAD}]`}
var<workgroup> Bs: array<f16, ${bLen}>;   // ${bRowsAreK ? `[BK][BN+${PAD}]` : `[BN][BK+${PAD}]`}
${isDirect ? '' : `var<workgroup> Cs: array<f32, ${NSG * 256}>;   // one 16×16 result tile per subgroup, for the epilogue`}

@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
${decodeTile(dispatch, tilesM, tilesN, spec.batch)}
  let sg = li / ${u(SG)};          // subgroups are consecutive runs of local_invocation_index (Vulkan, 1-D)
  let lane = li % ${u(SG)};
  let wm = (sg / ${u(SGN)}) * ${u(BM / SGM)};
  let wn = (sg % ${u(SGN)}) * ${u(BN / SGN)};
  let m0 = tm * ${u(BM)};
  let n0 = tn * ${u(BN)};
${Array.from({ length: TI }, (_, i) => Array.from({ length: TJ }, (_, j) => `  var c${i}_${j} = subgroup_matrix_result<f32, 16, 16>();`).join('\n')).join('\n')}
${prefetchedKLoop(sa, sb, NK, BK, body)}
${tail.join('\n')}
}
`;
  return { wgsl, workgroups: dispatch, variant: `sgmat-${BM}x${BN}x${BK}-${SGM}x${SGN}sg${isDirect ? '-direct' : ''}${api === 'old' ? '-oldapi' : ''}` };
}
