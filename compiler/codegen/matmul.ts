// Batched matmul kernels (A·B with optional transposes, batch broadcast and a fused epilogue) emitted as WGSL
// specialised to one shape. Four variants, chosen per adapter: `reg4` and `lanes` for software adapters (no
// workgroup memory), `tiled` (workgroup-memory tiles, register blocking) for GPUs, and `sgmat` (subgroup matrices, f16
// in, f32 accumulate) where the adapter has them. Every variant is bounds-checked: any M, N, K, batch.

import { hasSubgroupMatrix, subgroupSharing, type KernelCaps } from './caps.js';
import { hiddenBound } from './expr.js';
import { decodeTile, extraBindingsFit, flatDispatch, geometry, logicalLoaders, prelude, u, validateSpec, prefetchedKLoop } from './matmul-common.js';
import { emitSgmat, sgmatFits, type SgmatOptions } from './matmul-sgmat.js';

export interface MatmulSpec {
  name: string;
  batch: number; M: number; N: number; K: number;
  transA: boolean; transB: boolean;           // A is [batch, M, K] (or [batch, K, M] if transA); B is [batch, K, N] (or [batch, N, K])
  aBatchStride: number; bBatchStride: number; // elements between batches; 0 = broadcast over batch
  inType: 'f32' | 'f16'; outType: 'f32' | 'f16';  // accumulation is always f32
  /** Fused epilogue: WGSL declarations (extra bindings start at binding 3, after a=0, b=1, out=2) and an expression of the f32 accumulator `acc` and indices `bi` (batch), `row`, `col` (u32), e.g. `acc + bias[col]`;
   *  optionally `expr4`, the same for 4 consecutive columns from `col` (acc a vec4<f32>), which reg4 uses when N is a multiple of 4. */
  epilogue?: { decls: string; extraBindings: number; expr: string; expr4?: string };
}

/** A matmul's shape and types: the spec without its name and epilogue WGSL (plain data, JSON-safe). */
export type MatmulShape = Omit<MatmulSpec, 'name' | 'epilogue'> & { epilogueBindings: number };

export function matmulShape(s: MatmulSpec): MatmulShape {
  return { batch: s.batch, M: s.M, N: s.N, K: s.K, transA: s.transA, transB: s.transB, aBatchStride: s.aBatchStride, bBatchStride: s.bBatchStride,
    inType: s.inType, outType: s.outType, epilogueBindings: s.epilogue?.extraBindings ?? 0 };
}

/** The key of a shape in the tuning table: sizes, transposes, batch strides and types (epilogues share the plain choice). */
export function tuningKey(s: Omit<MatmulSpec, 'name' | 'epilogue'>): string {
  return `${s.batch}x${s.M}x${s.N}x${s.K}${s.transA ? ' At' : ''}${s.transB ? ' Bt' : ''} sa${s.aBatchStride} sb${s.bBatchStride} ${s.inType}>${s.outType}`;
}

export interface MatmulKernel { wgsl: string; workgroups: [number, number, number]; variant: string }

export type MatmulVariantName = 'reg4' | 'lanes' | 'tiled' | 'sgmat';

/** Overrides for tests, the benchmark and the autotuner; normal callers pass none. */
export interface MatmulOptions {
  variant?: MatmulVariantName;
  /** reg4: invocations per workgroup (each computes reg4Rows rows × 4 columns; default 8, and 8 rows when M ≥ 32 else 4). */
  reg4Workgroup?: number;
  reg4Rows?: number;
  /** lanes: invocations per workgroup, rows and columns per invocation. */
  lanes?: LanesCfg;
  /** tiled: 'large' = 128×128 tiles, 8×8 per thread; 'small' = 64×64, 4×4 per thread; or any TileCfg. */
  tile?: 'large' | 'small' | TileCfg;
  sgmat?: SgmatOptions;
}

export function emitMatmul(spec: MatmulSpec, caps: KernelCaps, opts: MatmulOptions = {}): MatmulKernel {
  validateSpec(spec);
  extraBindingsFit(spec, caps);
  const variant = opts.variant ?? chooseVariant(spec, caps);
  switch (variant) {
    case 'reg4': return emitReg4(spec, caps, opts.reg4Workgroup ?? 8, opts.reg4Rows ?? defaultReg4Rows(spec, caps));
    case 'lanes': return emitLanes(spec, caps, opts.lanes ?? { WG: 8, RM: sixteenRows(spec, caps) ? 16 : 8, CN: 4 });
    case 'tiled': return emitTiled(spec, caps, opts.tile ?? chooseTile(spec, caps));
    case 'sgmat': return emitSgmat(spec, caps, opts.sgmat);
  }
}

/**
 * llvmpipe, f32, block-sized shapes (256–704, plain and A-transposed): 8 rows per invocation ran 6.6–7.9
 * GFLOP/s where 4 rows ran 5.2–6.5 (bench/RESULTS.md); a short M keeps 4 so few rows are wasted. With A shared
 * through subgroups (sharesA), B's loads are what is left to amortise, so 16 rows: 256³ 12.1 → 21.5 GFLOP/s,
 * 512³ 12.8 → 18.9, 4096×64×512 13.7 → 20.3 (24 rows about the same as 16, 32 slower, and slower to compile).
 */
const defaultReg4Rows = (spec: MatmulSpec, caps: KernelCaps): number => (sixteenRows(spec, caps) ? 16 : spec.M >= 32 ? 8 : 4);
/** 16 rows per invocation by default (reg4 and lanes) where A is shared through subgroups and M fills them. */
const sixteenRows = (spec: MatmulSpec, caps: KernelCaps): boolean => spec.M >= 64 && sharesA(caps, 16, 8);

/** The heuristic (a tuning table from `mm bench tune` can override it per adapter and shape). */
export function chooseVariant(spec: MatmulSpec, caps: KernelCaps): MatmulVariantName {
  // llvmpipe, f32 (bench/RESULTS.md): with B transposed, lanes (8 rows × 4 columns, 8 invocations) ran
  // 5.7-7.6 GFLOP/s where reg4 ran 2.7-4.6; with B in place reg4 stays ahead.
  if (caps.software) return spec.transB ? 'lanes' : 'reg4';
  if (sgmatFits(spec, caps, 'small') && spec.M >= 32 && spec.N >= 32 && spec.K >= 16) return 'sgmat';
  return 'tiled';
}

/**
 * Large tiles only when they still give every SM of a big GPU (~132) at least one workgroup; the deepest
 * K slice that fits workgroup memory. H200, 4096³ f32 (bench/RESULTS.md): 128×128×32 38.0 TFLOP/s,
 * 128×128×16 31.1, 128×128×8 32 (2048³), 64×64×16 29.5; at 1024³ 64×64×16 24.8 vs 17.8 for 128×128×32.
 */
function chooseTile(spec: MatmulSpec, caps: KernelCaps): 'small' | TileCfg {
  const tiles = Math.ceil(spec.M / 128) * Math.ceil(spec.N / 128) * spec.batch;
  if (tiles < 128) return 'small';
  const BK = caps.limits.maxComputeWorkgroupStorageSize >= 32768 ? 32 : 16;
  return { BM: 128, BN: 128, BK, TM: 8, TN: 8 };
}

export { hasSubgroupMatrix };

// ---------------------------------------------------------------------------------------------------------
// reg4: why — on lavapipe (llvmpipe JIT, 2 cores) workgroup memory and barriers are expensive and a workgroup
// runs as SIMD lanes of one thread, so the fastest kernel measured (DAWN.md: 6.0 GFLOP/s vs 1.3 for a 64×64
// shared-memory tile) has each invocation compute 4 rows × one vec4 of columns straight from storage.

/** The software variants' shared start: bindings and loaders, the entry point, the tile and its first row m0. */
function softwareHead(spec: MatmulSpec, g: ReturnType<typeof geometry>, wg: number, dispatch: [number, number, number], tilesM: number, tilesN: number, RM: number, vecOut = false, shareA = false): string {
  return `${prelude(spec, g, shareA ? ['enable subgroups;'] : [], vecOut)}
${logicalLoaders(spec)}
@compute @workgroup_size(${wg})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32${shareA ? ', @builtin(subgroup_invocation_id) sl: u32' : ''}) {
${decodeTile(dispatch, tilesM, tilesN, spec.batch)}
  let m0 = tm * ${u(RM)};`;
}

/**
 * Whether A's values go through subgroupBroadcast: every invocation of the workgroup needs the same A values,
 * and llvmpipe (Mesa 25.0) treats a load inside a loop as per-lane (a bounds-checked load for each of the 8
 * lanes and components) even when its address is the same in every lane. So lane s loads only the s-th of
 * the RM vec4s the tile needs (8 apart when RM is 16 or more) and the others read it from that lane: a register
 * extract and broadcast. lavapipe, reg4-wg8-r8, same process: 256³ 6.4 → 13.7 GFLOP/s, 512³ 6.9 → 10.1,
 * 4096×64×512 5.2 → 10.0, 128×128×64 3.5 → 8.0.
 */
const sharesA = (caps: KernelCaps, RM: number, wg: number): boolean =>
  (RM <= 8 || RM % 8 === 0) && subgroupSharing(caps, Math.min(RM, 8), wg);

/** Shared A rows m0..m0+RM-1 (A not transposed): lane sl loads rows m0 + 8h + sl, and row r is taken from lane r % 8. */
const sharedARows = (RM: number): string[] => [
  ...[...Array(Math.ceil(RM / 8)).keys()].map((h) => `    let al${h} = a4k(bi, m0 + ${u(8 * h)} + sl, k);`),
  ...[...Array(RM).keys()].map((r) => `    let a${r} = subgroupBroadcast(al${r >> 3}, ${u(r & 7)});`)];

/**
 * The stores of RM accumulator rows: `value(r)` is row r's accumulator (of type T), `part(r, c)` its column c,
 * and `put(row, acc)` the statements storing a row, reading it as acc() or acc(c). On software adapters
 * (RM ≥ 4) the rows are copied into an array and stored by one loop whose bound llvmpipe cannot see (hiddenBound), so the epilogue (its loads, bounds checks, activation) is
 * compiled once, not once per row: JIT of the tiny spec's 16-row epilogue kernels 1.3–2.4 s → 0.39–0.46 s, their
 * run time in the training step unchanged or lower (22.3 / 21.3 → 16.7 / 19.2 ms per step for 53 kernels).
 */
function storeRows(caps: KernelCaps, RM: number, T: string, value: (r: number) => string, part: (r: number, c: number) => string,
  put: (row: string, acc: (c?: number) => string) => string[]): string {
  const rows = [...Array(RM).keys()];
  if (!(caps.software && RM >= 4)) {
    return rows.flatMap((r) => put(`m0 + ${r}u`, (c) => (c === undefined ? value(r) : part(r, c))).map((l) => `  ${l}`)).join('\n');
  }
  return `  var accs: array<${T}, ${RM}>;
${rows.map((r) => `  accs[${r}] = ${value(r)};`).join('\n')}
  for (var r = 0u; r < ${hiddenBound(RM)}; r++) {
    ${put('m0 + r', (c) => (c === undefined ? 'accs[r]' : `accs[r][${c}]`)).join('\n    ')}
  }`;
}

function emitReg4(spec: MatmulSpec, caps: KernelCaps, wg: number, RM: number): MatmulKernel {
  const g = geometry(spec);
  const tilesN = Math.ceil(spec.N / (4 * wg)), tilesM = Math.ceil(spec.M / RM);
  const dispatch = flatDispatch(tilesM * tilesN * spec.batch, caps.limits.maxComputeWorkgroupsPerDimension);
  const rows = [...Array(RM).keys()];
  // A[m, k..k+3] per row; with A transposed, A's memory rows run along m, so one vec4 holds 4 rows at one k
  // (llvmpipe, weight-gradient shapes: 5.7-7.1 GFLOP/s against 4.7-5.6 for per-row gathers).
  const aByK = spec.transA && RM % 4 === 0;
  const share = sharesA(caps, RM, wg);
  // Shared (see sharesA): lane sl loads row m0 + sl, or with A transposed the vec4 of rows m0 + 4q.. at k + j
  // for (j, q) = (sl % 4, sl / 4); the RM values then come from lanes 0..RM-1.
  const aLoads = share
    ? (aByK ? [...[...Array(Math.ceil(RM / 8)).keys()].map((h) => `    let al${h} = aRow4(bi, k + sl % 4u, m0 + ${u(8 * h)} + 4u * (sl / 4u));`),
         ...[0, 1, 2, 3].flatMap((j) => [...Array(RM / 4).keys()].map((q) => `    let a${j}_${q} = subgroupBroadcast(al${q >> 1}, ${u(j + 4 * (q & 1))});`))]
       : sharedARows(RM))
    : aByK
      ? [0, 1, 2, 3].flatMap((j) => [...Array(RM / 4).keys()].map((q) => `    let a${j}_${q} = aRow4(bi, k + ${j}u, m0 + ${4 * q}u);`))
      : rows.map((r) => `    let a${r} = a4k(bi, m0 + ${r}u, k);`);
  const aElem = (r: number, j: number): string => (aByK ? `a${j}_${r >> 2}[${r & 3}]` : `a${r}[${j}]`);
  // Each row's 4 columns are stored (and their epilogue computed) as one vec4 when N allows it: a quarter of the
  // guarded stores, and on lavapipe about half the JIT time of a kernel with a fused epilogue.
  const vecOut = vecStore(spec);
  const stores = storeRows(caps, RM, 'vec4<f32>', (r) => `c${r}`, (r, c) => `c${r}[${c}]`, (row, acc) => (vecOut ? [`put4(bi, ${row}, n0, ${acc()});`]
    : [0, 1, 2, 3].map((c) => `put(bi, ${row}, n0 + ${c}u, ${acc(c)});`)));
  const wgsl = `${softwareHead(spec, g, wg, dispatch, tilesM, tilesN, RM, vecOut, share)}
  let n0 = (tn * ${u(wg)} + li) * 4u;
${rows.map((r) => `  var c${r} = vec4<f32>(0.0);`).join('\n')}
  for (var k = 0u; k < ${u(spec.K)}; k += 4u) {
${[0, 1, 2, 3].map((j) => `    let b${j} = b4n(bi, k + ${j}u, n0);`).join('\n')}
${aLoads.join('\n')}
${rows.map((r) => `    c${r} += ${[0, 1, 2, 3].map((j) => `${aElem(r, j)} * b${j}`).join(' + ')};`).join('\n')}
  }
${stores}
}
`;
  return { wgsl, workgroups: dispatch, variant: `reg4-wg${wg}${RM === 4 ? '' : `-r${RM}`}${share ? '-sg' : ''}` };
}

/** reg4 stores vec4 rows when every row's columns come in aligned fours and the epilogue has a vec4 form. */
const vecStore = (spec: MatmulSpec): boolean => spec.N % 4 === 0 && (!spec.epilogue || spec.epilogue.expr4 !== undefined);

// ---------------------------------------------------------------------------------------------------------
// lanes: why — a CPU driver (llvmpipe) runs a workgroup's invocations as the lanes of SIMD registers, so every
// scalar of the shader costs a whole vector register and a per-lane vec4 load becomes four gathers. Here
// consecutive invocations take consecutive output columns: B's loads are contiguous across lanes (or vec4 along
// k when B is transposed), A's are the same address in every lane, and each invocation keeps RM × CN scalar
// accumulators (columns WG apart). No workgroup memory, no barriers.

export interface LanesCfg { WG: number; RM: number; CN: number }

function emitLanes(spec: MatmulSpec, caps: KernelCaps, cfg: LanesCfg): MatmulKernel {
  const { WG, RM, CN } = cfg;
  const g = geometry(spec);
  const tilesN = Math.ceil(spec.N / (WG * CN)), tilesM = Math.ceil(spec.M / RM);
  const dispatch = flatDispatch(tilesM * tilesN * spec.batch, caps.limits.maxComputeWorkgroupsPerDimension);
  const R = [...Array(RM).keys()], C = [...Array(CN).keys()];
  // With 4 columns per invocation and N a multiple of 4, an invocation's columns are consecutive, so each row is
  // stored (and its epilogue computed) as one vec4; otherwise they are WG apart.
  const vecOut = CN === 4 && vecStore(spec);
  const rowT = vecOut ? 'vec4<f32>' : `array<f32, ${CN}>`;
  const share = sharesA(caps, RM, WG);
  const aRows = share ? sharedARows(RM) : R.map((r) => `    let a${r} = a4k(bi, m0 + ${r}u, k);`);
  const inner = spec.transB
    ? [...C.map((c) => `    let b${c} = bRow4(bi, n${c}, k);`),
       ...aRows,
       ...R.flatMap((r) => C.map((c) => `    c${r}_${c} += dot(a${r}, b${c});`))]
    : [...aRows,
       ...[0, 1, 2, 3].flatMap((kk) => [
         ...C.map((c) => `    let b${c}_${kk} = bAt(bi, k + ${kk}u, n${c});`),
         ...R.flatMap((r) => C.map((c) => `    c${r}_${c} += a${r}[${kk}] * b${c}_${kk};`))])];
  const wgsl = `${softwareHead(spec, g, WG, dispatch, tilesM, tilesN, RM, vecOut, share)}
${C.map((c) => (vecOut ? `  let n${c} = (tn * ${u(WG)} + li) * 4u + ${u(c)};` : `  let n${c} = tn * ${u(WG * CN)} + ${u(c * WG)} + li;`)).join('\n')}
${R.flatMap((r) => C.map((c) => `  var c${r}_${c} = 0.0;`)).join('\n')}
  for (var k = 0u; k < ${u(spec.K)}; k += 4u) {
${inner.join('\n')}
  }
${storeRows(caps, RM, rowT, (r) => `${rowT}(${C.map((c) => `c${r}_${c}`).join(', ')})`, (r, c) => `c${r}_${c}`,
    (row, acc) => (vecOut ? [`put4(bi, ${row}, n0, ${acc()});`] : C.map((c) => `put(bi, ${row}, n${c}, ${acc(c)});`)))}
}
`;
  return { wgsl, workgroups: dispatch, variant: `lanes-wg${WG}-${RM}x${CN}${share ? '-sg' : ''}` };
}

// ---------------------------------------------------------------------------------------------------------
// tiled: why — on a GPU, operand reuse must come from workgroup memory and registers. BM×BN tile per
// workgroup, BK-deep slices staged through workgroup memory as vec4 (A stored k-major so both operands are
// read as vec4 along m and n), TM×TN accumulators per thread, and the next slice prefetched into registers
// while the current one is multiplied. DAWN.md: a plain 64×64 / 4×4 kernel ran 28 TFLOP/s on H200 at 4096³.

/** BM×BN outputs per workgroup, BK-deep slices, TM×TN per thread (TM, TN multiples of 4; BK a multiple of 4). */
export interface TileCfg { BM: number; BN: number; BK: number; TM: number; TN: number }
const TILES: Record<'large' | 'small', TileCfg> = {
  large: { BM: 128, BN: 128, BK: 8, TM: 8, TN: 8 },
  small: { BM: 64, BN: 64, BK: 16, TM: 4, TN: 4 },
};

function emitTiled(spec: MatmulSpec, caps: KernelCaps, which: 'large' | 'small' | TileCfg): MatmulKernel {
  const { BM, BN, BK, TM, TN } = typeof which === 'string' ? TILES[which] : which;
  if (TM % 4 || TN % 4 || BK % 4 || BM % TM || BN % TN) throw new Error(`matmul '${spec.name}': bad tile ${JSON.stringify(which)}`);
  const TX = BN / TN, TY = BM / TM, WG = TX * TY;
  if (WG > caps.limits.maxComputeInvocationsPerWorkgroup) throw new Error(`matmul '${spec.name}': ${WG} invocations exceed the device limit`);
  if ((BM + BN) * BK * 4 > caps.limits.maxComputeWorkgroupStorageSize) throw new Error(`matmul '${spec.name}': tile exceeds workgroup memory`);
  const g = geometry(spec);
  const tilesM = Math.ceil(spec.M / BM), tilesN = Math.ceil(spec.N / BN), NK = Math.ceil(spec.K / BK);
  const dispatch = flatDispatch(tilesM * tilesN * spec.batch, caps.limits.maxComputeWorkgroupsPerDimension);

  // Staging one operand: its memory tile (tileR × tileC, contiguous along C) in vec4 groups, one or more per thread.
  const stage = (x: 'a' | 'b') => {
    const isA = x === 'a';
    const trans = isA ? spec.transA : spec.transB;
    const outer = isA ? BM : BN;                        // the tile's extent along m (A) or n (B)
    // A's memory is [m][k] (contiguous k) unless transA; B's is [k][n] (contiguous n) unless transB.
    const contiguousIsOuter = isA ? trans : !trans;
    const [tileR, tileC] = contiguousIsOuter ? [BK, outer] : [outer, BK];
    const G = (tileR * tileC) / 4, L = Math.ceil(G / WG), guard = G % WG !== 0;
    const org = isA ? ['tm * ' + u(BM), 'k0'] : ['k0', 'tn * ' + u(BN)];     // (m0,k0) or (k0,n0)
    const [r0, c0] = isA ? (trans ? [org[1], org[0]] : [org[0], org[1]]) : (trans ? [org[1], org[0]] : [org[0], org[1]]);
    const S = isA ? 'As' : 'Bs', Q = outer / 4;
    const loads: string[] = [], stores: string[] = [], decls: string[] = [];
    for (let i = 0; i < L; i++) {
      const gi = `(li + ${u(i * WG)})`;
      const rr = `(${gi} / ${u(tileC / 4)})`, cc = `((${gi} % ${u(tileC / 4)}) * 4u)`;
      decls.push(`  var p${x}${i} = vec4<f32>(0.0);`);
      const ld = `p${x}${i} = ${x}Row4(bi, ${r0} + ${rr}, ${c0} + ${cc});`;
      loads.push(guard ? `if (${gi} < ${u(G)}) { ${ld} }` : ld);
      // contiguous along m/n: the vec4 lands whole; contiguous along k: scatter its 4 k's.
      const st = contiguousIsOuter
        ? `${S}[${rr} * ${u(Q)} + ${cc} / 4u] = p${x}${i};`
        : [0, 1, 2, 3].map((j) => `${S}[(${cc} + ${j}u) * ${u(Q)} + ${rr} / 4u][${rr} % 4u] = p${x}${i}[${j}];`).join(' ');
      stores.push(guard ? `if (${gi} < ${u(G)}) { ${st} }` : st);
    }
    return { loads, stores, decls };
  };
  const sa = stage('a'), sb = stage('b');

  const MI = TM / 4, NJ = TN / 4;
  const compute: string[] = [];
  for (let kk = 0; kk < BK; kk++) {
    for (let i = 0; i < MI; i++) compute.push(`    let a${kk}_${i} = As[${u(kk * (BM / 4))} + ty + ${u(i * TY)}];`);
    for (let j = 0; j < NJ; j++) compute.push(`    let b${kk}_${j} = Bs[${u(kk * (BN / 4))} + tx + ${u(j * TX)}];`);
    for (let i = 0; i < MI; i++) for (let r = 0; r < 4; r++) for (let j = 0; j < NJ; j++) {
      compute.push(`    acc[${(i * 4 + r) * NJ + j}] += a${kk}_${i}[${r}] * b${kk}_${j};`);
    }
  }
  const puts: string[] = [];
  for (let i = 0; i < MI; i++) for (let r = 0; r < 4; r++) for (let j = 0; j < NJ; j++) for (let c = 0; c < 4; c++) {
    puts.push(`  put(bi, m0 + (ty + ${u(i * TY)}) * 4u + ${u(r)}, n0 + (tx + ${u(j * TX)}) * 4u + ${u(c)}, acc[${(i * 4 + r) * NJ + j}][${c}]);`);
  }
  const wgsl = `${prelude(spec, g)}
var<workgroup> As: array<vec4<f32>, ${BK * BM / 4}>;   // [BK][BM/4]: k-major so threads read vec4 along m
var<workgroup> Bs: array<vec4<f32>, ${BK * BN / 4}>;   // [BK][BN/4]

@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
${decodeTile(dispatch, tilesM, tilesN, spec.batch)}
  let tx = li % ${u(TX)};
  let ty = li / ${u(TX)};
  let m0 = tm * ${u(BM)};
  let n0 = tn * ${u(BN)};
  var acc: array<vec4<f32>, ${TM * NJ}>;
${prefetchedKLoop(sa, sb, NK, BK, compute)}
${puts.join('\n')}
}
`;
  return { wgsl, workgroups: dispatch, variant: `tiled-${BM}x${BN}x${BK}-${TM}x${TN}` };
}
