// Pieces every matmul variant shares: the spec's memory geometry, the bindings, bounds-checked operand loaders
// (vec4 bindings when the contiguous dimension allows it), the fused epilogue + guarded store, and the
// flattening of (tile, tile, batch) into a dispatch that respects maxComputeWorkgroupsPerDimension.
// Shapes are baked into each kernel as literals: the compiler knows them, and constant strides let the
// shader compiler fold the index arithmetic.

import type { KernelCaps } from './caps.js';
import type { MatmulSpec } from './matmul.js';

export const u = (n: number): string => `${n}u`;

/** Where an operand lives in memory: [batch][R][C] row-major, C contiguous; `vec` = bound as array<vec4<T>>. */
export interface Geometry { R: number; C: number; S: number; vec: boolean }

export function geometry(spec: MatmulSpec): { A: Geometry; B: Geometry } {
  const A = spec.transA ? { R: spec.K, C: spec.M } : { R: spec.M, C: spec.K };
  const B = spec.transB ? { R: spec.N, C: spec.K } : { R: spec.K, C: spec.N };
  return {
    A: { ...A, S: spec.aBatchStride, vec: A.C % 4 === 0 && spec.aBatchStride % 4 === 0 },
    B: { ...B, S: spec.bBatchStride, vec: B.C % 4 === 0 && spec.bBatchStride % 4 === 0 },
  };
}

export function validateSpec(spec: MatmulSpec): void {
  for (const k of ['batch', 'M', 'N', 'K'] as const) {
    if (!Number.isInteger(spec[k]) || spec[k] < 1) throw new Error(`matmul '${spec.name}': ${k} must be a positive integer, got ${spec[k]}`);
  }
  for (const k of ['aBatchStride', 'bBatchStride'] as const) {
    if (!Number.isInteger(spec[k]) || spec[k] < 0) throw new Error(`matmul '${spec.name}': ${k} must be a non-negative integer`);
  }
  if (spec.batch * spec.M * spec.N >= 2 ** 32) throw new Error(`matmul '${spec.name}': output exceeds u32 indexing`);
}

/**
 * `enable` lines, bindings, loaders, epilogue and store: put(bi, row, col, acc) one element; with `vecOut`
 * (N a multiple of 4) the output is bound as vec4 and put4(bi, row, col, acc4) stores columns col..col+3.
 */
export function prelude(spec: MatmulSpec, g: { A: Geometry; B: Geometry }, extraEnables: string[] = [], vecOut = false): string {
  const T = spec.inType, O = spec.outType;
  const f16 = T === 'f16' || O === 'f16' || /\bf16\b/.test(spec.epilogue?.decls ?? '');
  const enables = [...(f16 ? ['enable f16;'] : []), ...extraEnables].join('\n');
  const at = g.A.vec ? `vec4<${T}>` : T, bt = g.B.vec ? `vec4<${T}>` : T;
  const epi = spec.epilogue;
  return `${enables}
// matmul: batch ${spec.batch}, M ${spec.M}, N ${spec.N}, K ${spec.K}, transA ${spec.transA}, transB ${spec.transB}, ${T} -> ${O}
@group(0) @binding(0) var<storage, read> a: array<${at}>;
@group(0) @binding(1) var<storage, read> b: array<${bt}>;
@group(0) @binding(2) var<storage, read_write> out: array<${vecOut ? `vec4<${O}>` : O}>;
${epi ? epi.decls : ''}
${loaders('a', g.A)}
${loaders('b', g.B)}
${vecOut ? `fn epi4(acc: vec4<f32>, bi: u32, row: u32, col: u32) -> vec4<f32> { return ${epi ? epi.expr4! : 'acc'}; }
fn put4(bi: u32, row: u32, col: u32, acc: vec4<f32>) {
  if (row < ${u(spec.M)} && col < ${u(spec.N)}) {
    out[(bi * ${u(spec.M * spec.N)} + row * ${u(spec.N)} + col) / 4u] = vec4<${O}>(epi4(acc, bi, row, col));
  }
}` : `fn epi(acc: f32, bi: u32, row: u32, col: u32) -> f32 { return ${epi ? epi.expr : 'acc'}; }
fn put(bi: u32, row: u32, col: u32, acc: f32) {
  if (row < ${u(spec.M)} && col < ${u(spec.N)}) {
    out[bi * ${u(spec.M * spec.N)} + row * ${u(spec.N)} + col] = ${O}(epi(acc, bi, row, col));
  }
}`}
`;
}

/**
 * `xAt(bi, r, c)`: one element as f32 (0 outside the matrix). `xRow4(bi, r, c)`: elements c..c+3 of row r
 * (c a multiple of 4): one vec4 load when the binding is vec4, else four guarded scalar loads.
 */
function loaders(x: 'a' | 'b', g: Geometry): string {
  const base = `bi * ${u(g.S)} + r * ${u(g.C)} + c`;
  const at = g.vec ? `${x}[i / 4u][i % 4u]` : `${x}[i]`;
  const row4 = g.vec
    ? `if (r < ${u(g.R)} && c < ${u(g.C)}) { return vec4<f32>(${x}[(${base}) / 4u]); }\n  return vec4<f32>(0.0);`
    : `return vec4<f32>(${x}At(bi, r, c), ${x}At(bi, r, c + 1u), ${x}At(bi, r, c + 2u), ${x}At(bi, r, c + 3u));`;
  return `fn ${x}At(bi: u32, r: u32, c: u32) -> f32 {
  if (r < ${u(g.R)} && c < ${u(g.C)}) { let i = ${base}; return f32(${at}); }
  return 0.0;
}
fn ${x}Row4(bi: u32, r: u32, c: u32) -> vec4<f32> {
  ${row4}
}`;
}

/** Logical loaders: A[m, k..k+3] and B[k, n..n+3] whatever the transposes. */
export function logicalLoaders(spec: MatmulSpec): string {
  const a4k = spec.transA
    ? 'return vec4<f32>(aAt(bi, k, m), aAt(bi, k + 1u, m), aAt(bi, k + 2u, m), aAt(bi, k + 3u, m));'
    : 'return aRow4(bi, m, k);';
  const b4n = spec.transB
    ? 'return vec4<f32>(bAt(bi, n, k), bAt(bi, n + 1u, k), bAt(bi, n + 2u, k), bAt(bi, n + 3u, k));'
    : 'return bRow4(bi, k, n);';
  return `fn a4k(bi: u32, m: u32, k: u32) -> vec4<f32> { ${a4k} }
fn b4n(bi: u32, k: u32, n: u32) -> vec4<f32> { ${b4n} }
`;
}

/** Spreads `total` workgroups over x, y, z (each at most maxDim); the kernel re-linearises them. */
export function flatDispatch(total: number, maxDim: number): [number, number, number] {
  const x = Math.min(total, maxDim);
  let y = Math.ceil(total / x), z = 1;
  if (y > maxDim) { z = Math.ceil(y / maxDim); y = maxDim; }
  if (z > maxDim) throw new Error(`matmul needs ${total} workgroups: more than a dispatch can hold`);
  return [x, y, z];
}

/** WGSL lines that turn @builtin(workgroup_id) `wg` into tile indices `tm`, `tn` and batch `bi` (or return). */
export function decodeTile(dispatch: [number, number, number], tilesM: number, tilesN: number, batch: number): string {
  const [x, y] = dispatch;
  return `  let wid = wg.x + wg.y * ${u(x)} + wg.z * ${u(x * y)};
  if (wid >= ${u(tilesM * tilesN * batch)}) { return; }
  let tn = wid % ${u(tilesN)};
  let tm = (wid / ${u(tilesN)}) % ${u(tilesM)};
  let bi = wid / ${u(tilesM * tilesN)};`;
}

export function extraBindingsFit(spec: MatmulSpec, caps: KernelCaps): void {
  const n = 3 + (spec.epilogue?.extraBindings ?? 0);
  if (n > caps.limits.maxStorageBuffersPerShaderStage) {
    throw new Error(`matmul '${spec.name}' needs ${n} storage buffers; the device allows ${caps.limits.maxStorageBuffersPerShaderStage}`);
  }
}

/** Register staging of one operand's workgroup-memory tile: declarations, global loads, shared-memory stores. */
export interface StagedOperand { decls: string[]; loads: string[]; stores: string[] }

/**
 * The k loop both tiled kernels share: tile kt is stored to workgroup memory while tile kt + 1 is already being
 * loaded into registers (prefetch), then `compute` runs on the stored tile. `k0` is the loads' k offset.
 */
export function prefetchedKLoop(sa: StagedOperand, sb: StagedOperand, NK: number, BK: number, compute: string[]): string {
  return `${sa.decls.join('\n')}
${sb.decls.join('\n')}
  var k0 = 0u;
  ${[...sa.loads, ...sb.loads].join('\n  ')}
  for (var kt = 0u; kt < ${u(NK)}; kt++) {
    ${[...sa.stores, ...sb.stores].join('\n    ')}
    workgroupBarrier();
    if (kt + 1u < ${u(NK)}) {
      k0 = (kt + 1u) * ${u(BK)};
      ${[...sa.loads, ...sb.loads].join('\n      ')}
    }
${compute.join('\n')}
    workgroupBarrier();
  }`;
}
