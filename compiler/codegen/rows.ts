// Reduce-then-broadcast kernels: one workgroup per row, workgroup tree reductions in f32 (on software adapters
// with enough short rows, a lane per row instead), inputs read through fused load functions, contiguous rows
// 4 elements at a time (RowForm). softmax / log_softmax (any axis), layernorm / layernorm2d / rmsnorm forward
// and their grad_x (two-pass statistics), row statistics for grad_w, cross_entropy, and large reductions.

import type { DType, Node } from '../ir/node.js';
import { numel, stridesOf } from '../ir/node.js';
import { Builder, dispatch1d, f32lit, header, outDecl, storeConv, sty, u, type PlanView } from './expr.js';
import { reduceIndex } from './loaders.js';
import type { EmittedKernel } from './kernel.js';

/** Rows of `axis` in `shape`: count, length, element stride and the WGSL of a row's base offset from `row`. */
export function axisRows(shape: readonly number[], axis: number): { rows: number; n: number; stride: number; base: string } {
  const r = shape.length;
  const a = ((axis % r) + r) % r;
  const n = shape[a]!, stride = stridesOf(shape)[a]!;
  const rows = numel(shape) / n;
  const base = stride === 1 ? `row * ${u(n)}` : `(row / ${u(stride)}) * ${u(n * stride)} + row % ${u(stride)}`;
  return { rows, n, stride, base };
}

/**
 * Invocations per row of length n, among `rows` rows: enough for the row, at most 256. On software adapters a
 * workgroup runs as SIMD lanes of one CPU thread, each barrier of a tree reduction switches between all its
 * lane groups, and each workgroup costs about 0.5 µs to start: there, rows up to LANE_MAX_N long among at
 * least LANE_MIN_ROWS get a lane each (no barriers: see rowKernel), others SOFT_ROW_WG invocations (one 8-lane
 * SIMD group). lavapipe, 2 cores, ms per 2^20 elements, a workgroup of 8 per row → a lane per row:
 * rmsnorm 9.5 → 4.2 (64-long rows), 7.5 → 4.5 (128), 5.4 → 3.4 (256, 512), 4.4 → 5.6 (1024); softmax
 * 12.8 → 5.1, 10.1 → 6.4, 8.4 → 6.1, 7.7 → 4.9, 5.9 → 5.7. (Before that, 256 invocations per row to 8:
 * rmsnorm_grad_x over 256×256, 7.5 → 0.66 ms.) Those rows were scalar; with vec4 rows (RowForm, `vec`) a
 * lane per row also wins at 1024 and 2048 (1024×1024, ms: softmax 3.5 → 3.0, rmsnorm 2.4 → 1.8, rmsnorm_grad_x
 * 9.1 → 6.0, cross_entropy_grad 5.5 → 4.5; 512×2048 rmsnorm 3.2 → 2.3) and ties at 4096.
 */
const wgFor = (n: number, rows: number, env: RowEnv, vec = false): number =>
  env.software && rows >= LANE_MIN_ROWS && n <= (vec ? LANE_MAX_N_VEC : LANE_MAX_N) ? 1
    : Math.min(env.software ? SOFT_ROW_WG : 256, Math.max(32, 1 << Math.ceil(Math.log2(Math.max(1, n)))));
const SOFT_ROW_WG = 8;
/** A lane per row from this many rows: fewer would leave CPU threads (and SIMD lanes) idle on long rows. */
const LANE_MIN_ROWS = 64;
const LANE_MAX_N = 512;
/** The same for rows stepped through as vec4s (RowForm; `vec` in wgFor). */
const LANE_MAX_N_VEC = 2048;
/** Rows (lanes) per workgroup in lane-per-row kernels: one SIMD group (32 or 64 were no faster). */
const LANES = 8;

function reducers(WG: number): string {
  const red = (name: string, op: (a: string, b: string) => string): string => `fn ${name}(v: f32, lid: u32) -> f32 {
  red[lid] = v;
  workgroupBarrier();
  for (var s = ${u(WG / 2)}; s > 0u; s = s >> 1u) {
    if (lid < s) { red[lid] = ${op('red[lid]', 'red[lid + s]')}; }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier();
  return r;
}`;
  return `var<workgroup> red: array<f32, ${WG}>;\n${red('wg_sum', (a, b) => `${a} + ${b}`)}\n${red('wg_max', (a, b) => `max(${a}, ${b})`)}`;
}

/** Where the dispatch limit is and whether subgroup operations may be used. */
export interface RowEnv { maxDim: number; subgroups: boolean; software: boolean }

/**
 * Subgroup variant: subgroupAdd/Max within each subgroup, then one partial per subgroup through workgroup
 * memory (subgroups are taken to be runs of consecutive local indices, as on every Vulkan driver).
 */
function subgroupReducers(WG: number): string {
  const red = (name: string, sgop: string, op: (a: string, b: string) => string, init: string): string => `fn ${name}(v: f32, lid: u32) -> f32 {
  let s = ${sgop}(v);
  if (lid % sg_size == 0u) { red[lid / sg_size] = s; }
  workgroupBarrier();
  var r = ${init};
  let parts = (${u(WG)} + sg_size - 1u) / sg_size;
  for (var k = 0u; k < parts; k++) { r = ${op('r', 'red[k]')}; }
  workgroupBarrier();
  return r;
}`;
  return `var<private> sg_size: u32;\nvar<workgroup> red: array<f32, ${WG}>;\n${red('wg_sum', 'subgroupAdd', (a, b) => `${a} + ${b}`, '0.0')}\n${red('wg_max', 'subgroupMax', (a, b) => `max(${a}, ${b})`, f32lit(-Infinity))}`;
}

/**
 * Assembles a row kernel: `body` runs per workgroup with `row`, `base`, `lid` in scope; `j` loops use WG.
 * It writes `node` as `out`, or with several `outs` each outs[j] as `out<j>` at binding j; `outDeclsText`
 * replaces their declarations (vec4 outputs).
 */
function rowKernel(name: string, node: Node, b: Builder, rows: number, WG: number, body: string, env: RowEnv, outs?: Node[], outDeclsText?: string): EmittedKernel {
  const decls = b.decls();
  const written = outs ?? [node];
  const outDecls = outDeclsText ?? (outs ? outs.map((n, j) => outDecl(j, b.plan.storage(n), `out${j}`)).join('\n') : outDecl(0, b.plan.storage(node), 'out'));
  if (WG === 1 && env.software) {
    // A lane per row: the reductions are the lane's own loops (wg_sum and wg_max return their argument), and
    // `lid` is 0 but opaque to the compiler, so llvmpipe cannot unroll the row loops (see expr.ts hiddenBound).
    const L = LANES;
    const d = dispatch1d(rows, L, env.maxDim);
    const wgsl = `${header(b.usesF16() || written.some((n) => b.plan.storage(n) === 'f16'))}${outDecls}
${decls}
fn wg_sum(v: f32, lid: u32) -> f32 { return v; }
fn wg_max(v: f32, lid: u32) -> f32 { return v; }
@compute @workgroup_size(${L})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lidx: u32) {
  let row = (wid.y * ${u(d.nx)} + wid.x) * ${u(L)} + lidx;
  if (row >= ${u(rows)}) { return; }
  let lid = select(0u, 1u, arrayLength(&${outs ? 'out0' : 'out'}) == 0u);
${body}
}
`;
    return { name, wgsl, workgroups: d.workgroups, bound: b.bound };
  }
  const d = dispatch1d(rows, 1, env.maxDim);
  const sg = env.subgroups;
  const wgsl = `${sg ? 'enable subgroups;\n' : ''}${header(b.usesF16() || written.some((n) => b.plan.storage(n) === 'f16'))}${outDecls}
${decls}
${sg ? subgroupReducers(WG) : reducers(WG)}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32${sg ? ', @builtin(subgroup_size) sgs: u32' : ''}) {
  ${sg ? 'sg_size = sgs;' : ''}
  let row = wid.y * ${u(d.nx)} + wid.x;
  if (row >= ${u(rows)}) { return; }
${body}
}
`;
  return { name, wgsl, workgroups: d.workgroups, bound: b.bound };
}

const loop = (n: number, WG: number, stride: number, inner: string): string =>
  `  for (var j = lid; j < ${u(n)}; j += ${u(WG)}) {\n    let e = base + j${stride === 1 ? '' : ` * ${u(stride)}`};\n    ${inner}\n  }`;

/**
 * How a row kernel steps through its rows: one element at a time (any stride), or 4 consecutive elements when
 * rows are contiguous and a multiple of 4 long (`vec`): vector load functions, vec4 partial results folded
 * (`sum`, `max`) before the workgroup reduction, one vec4 store. Inside `loop`, `j` is the (first) element's
 * index in the row and `e` its flat index. lavapipe, scalar → vec4 steps, ms (rows of 1024: a workgroup of 8
 * per row; of 64 and 512: a lane per row):
 *   softmax             1024×1024 7.48 → 3.74   4096×64 2.01 → 1.19   512×512 1.97 → 1.03
 *   rmsnorm                       6.06 → 3.66           1.47 → 0.81           0.87 → 0.73
 *   rmsnorm_grad_x               10.94 → 7.23           2.69 → 1.61           2.57 → 0.99
 *   cross_entropy_grad            7.04 → 3.41           2.40 → 1.50           1.84 → 1.15
 */
interface RowForm {
  /** Invocations per row (wgFor, for this form). */
  WG: number;
  /** The compute type of a step's value: f32 or vec4<f32>. */
  F: string;
  loop(inner: string): string;
  /** The load function of `x` (its element, or 4 from element i). */
  ld(x: Node): string;
  /** A step's partial fold into a scalar. */
  sum(v: string): string;
  max(v: string): string;
  /** Declaration of output `name` at `binding`, and the statement storing F-typed `v` at e. */
  decl(st: DType, name?: string, binding?: number): string;
  store(st: DType, v: string, name?: string): string;
  /** The one-hot of class `t` (an i32) at the step's element(s). */
  isClass(t: string): string;
}

function rowForm(b: Builder, n: number, WG: number, stride: number, vec: boolean): RowForm {
  if (!vec) {
    return {
      WG, F: 'f32', loop: (inner) => loop(n, WG, stride, inner), ld: (x) => b.load(x), sum: (v) => v, max: (v) => v,
      decl: (st, name = 'out', binding = 0) => outDecl(binding, st, name),
      store: (st, v, name = 'out') => `${name}[e] = ${storeConv(st, v)};`,
      isClass: (t) => `select(0.0, 1.0, i32(j) == ${t})`,
    };
  }
  return {
    WG, F: 'vec4<f32>',
    loop: (inner) => `  for (var j4 = lid; j4 < ${u(n / 4)}; j4 += ${u(WG)}) {\n    let j = j4 * 4u;\n    let e = base + j;\n    ${inner}\n  }`,
    ld: (x) => b.load4(x),
    sum: (v) => `dot(${v}, vec4<f32>(1.0))`, max: (v) => `max(max(${v}.x, ${v}.y), max(${v}.z, ${v}.w))`,
    decl: (st, name = 'out', binding = 0) => `@group(0) @binding(${binding}) var<storage, read_write> ${name}: array<vec4<${sty(st)}>>;`,
    store: (st, v, name = 'out') => `${name}[e / 4u] = vec4<${sty(st)}>(${v});`,
    isClass: (t) => `select(vec4<f32>(), vec4<f32>(1.0), vec4<i32>(i32(j)) + vec4<i32>(0, 1, 2, 3) == vec4<i32>(${t}))`,
  };
}

/** Whether rows can be stepped through as vec4s: contiguous, and a multiple of 4 long. */
const vecRows = (n: number, stride: number): boolean => stride === 1 && n % 4 === 0;

/**
 * A row kernel over `rows` rows of n built by `build` in the vec4 form where rows allow it (stride 1, length a
 * multiple of 4), else (or when a vector load would repeat a looping load function 4 times: see emitMap) in the
 * scalar form, each with its own invocations per row.
 */
function byRows(plan: PlanView, outs: number, rows: number, n: number, stride: number, env: RowEnv, build: (b: Builder, f: RowForm) => EmittedKernel): EmittedKernel {
  if (vecRows(n, stride)) {
    const b = new Builder(plan, outs);
    const k = build(b, rowForm(b, n, wgFor(n, rows, env, true), stride, true));
    if (!b.gatheredLoop) return k;
  }
  const b = new Builder(plan, outs);
  return build(b, rowForm(b, n, wgFor(n, rows, env), stride, false));
}

/** Lines computing the row's max `m` and Σ exp(X − m) `s` (softmax and cross-entropy). */
function maxAndSum(f: RowForm, X: string): string {
  return `  var mp = ${f.F}(${f32lit(-Infinity)});
${f.loop(`mp = max(mp, ${X});`)}
  let m = wg_max(${f.max('mp')}, lid);
  var sp = ${f.F}();
${f.loop(`sp += exp(${X} - m);`)}
  let s = wg_sum(${f.sum('sp')}, lid);`;
}

export function emitSoftmax(node: Node, plan: PlanView, env: RowEnv): EmittedKernel {
  const { rows, n, stride, base } = axisRows(node.shape, (node.attrs.axis as number | undefined) ?? -1);
  const st = plan.storage(node);
  return byRows(plan, 1, rows, n, stride, env, (b, f) => {
    const x = f.ld(node.inputs[0]!);
    const X = `${f.F}(${x}(e))`;
    const fin = node.op === 'softmax' ? `exp(${X} - m) / s` : `${X} - m - log(s)`;
    const body = `  let base = ${base};
${maxAndSum(f, X)}
${f.loop(f.store(st, fin))}`;
    return rowKernel(node.op, node, b, rows, f.WG, body, env, undefined, f.decl(st));
  });
}

/** The norms with dedicated kernels (forward, _grad_x, _grad_w) and the facts their kernels share. */
export const NORMS = new Set(['layernorm', 'layernorm2d', 'rmsnorm']);
/** The normalised axis of a norm op (or one of its grads): channels for layernorm2d, else the last. */
export const normAxis = (op: string, rank: number): number => (op.startsWith('layernorm2d') ? 1 : rank - 1);
export const epsOf = (n: Node, op: string): number => (typeof n.attrs.eps === 'number' ? n.attrs.eps : op.startsWith('layernorm2d') ? 1e-6 : 1e-5);
/** Lane 0 stores the row's (mean, rstd) into `arr` [rows, 2]. */
const storeStats = (arr: string): string => `  if (lid == 0u) { ${arr}[row * 2u] = mean; ${arr}[row * 2u + 1u] = rstd; }`;

/** Lines computing `mean` and `rstd` of the row whose step values are X (two-pass variance; rmsnorm: mean = 0). */
function statsBody(f: RowForm, X: string, n: number, rms: boolean, eps: number): string {
  const meanPart = rms ? '  let mean = 0.0;' : `  var sm = ${f.F}();\n${f.loop(`sm += ${X};`)}\n  let mean = wg_sum(${f.sum('sm')}, lid) / ${f32lit(n)};`;
  return `${meanPart}
  var sv = ${f.F}();
${f.loop(`let dd = ${X} - mean; sv += dd * dd;`)}
  let rstd = inverseSqrt(wg_sum(${f.sum('sv')}, lid) / ${f32lit(n)} + ${f32lit(eps)});`;
}

/** layernorm / layernorm2d / rmsnorm forward. */
export function emitNorm(node: Node, plan: PlanView, env: RowEnv, stats?: Node): EmittedKernel {
  const op = node.op;
  const rms = op === 'rmsnorm';
  const [xN, wN, bN] = node.inputs as [Node, Node, Node | undefined];
  const { rows, n, stride, base } = axisRows(node.shape, normAxis(op, node.shape.length));
  const st = plan.storage(node);
  return byRows(plan, stats ? 2 : 1, rows, n, stride, env, (b, f) => {
    const x = f.ld(xN), w = f.ld(wN), bb = bN ? f.ld(bN) : null;
    const X = `${f.F}(${x}(e))`;
    const val = `(${X} - mean) * rstd * ${f.F}(${w}(j))${bb ? ` + ${f.F}(${bb}(j))` : ''}`;
    const out = stats ? 'out0' : 'out';
    const body = `  let base = ${base};
${statsBody(f, X, n, rms, epsOf(node, op))}${stats ? `\n${storeStats('out1')}` : ''}
${f.loop(f.store(st, val, out))}`;
    if (!stats) return rowKernel(op, node, b, rows, f.WG, body, env, undefined, f.decl(st));
    // In training the forward also writes the row statistics the weight gradient needs (what norm_stats
    // would recompute), as a second output.
    const decls = `${f.decl(st, 'out0', 0)}\n${outDecl(1, plan.storage(stats), 'out1')}`;
    return { ...rowKernel(op, node, b, rows, f.WG, body, env, [node, stats], decls), layout: ['out', stats, ...b.bound] };
  });
}

/** Whether `stats` (a `_norm_stats` node) holds the row statistics the forward `norm` computes. */
export function statsOfNorm(norm: Node, stats: Node): boolean {
  return NORMS.has(norm.op) && stats.op === '_norm_stats' && stats.inputs[0] === norm.inputs[0] &&
    stats.attrs.axis === normAxis(norm.op, norm.shape.length) && stats.attrs.eps === epsOf(norm, norm.op) && (stats.attrs.rms === true) === (norm.op === 'rmsnorm');
}

/** *_grad_x(x, w, dy): dx = rstd·(ĝ − mean(ĝ) − x̂·mean(ĝ·x̂)), ĝ = dy·w (rmsnorm drops mean(ĝ)). */
export function emitNormGradX(node: Node, plan: PlanView, env: RowEnv): EmittedKernel {
  const op = node.op;
  const rms = op.startsWith('rmsnorm');
  const [xN, wN, dyN] = node.inputs as [Node, Node, Node];
  const { rows, n, stride, base } = axisRows(node.shape, normAxis(op, node.shape.length));
  const st = plan.storage(node);
  return byRows(plan, 1, rows, n, stride, env, (b, f) => {
    const x = f.ld(xN), w = f.ld(wN), dy = f.ld(dyN);
    const X = `${f.F}(${x}(e))`, GH = `${f.F}(${dy}(e)) * ${f.F}(${w}(j))`;
    const body = `  let base = ${base};
${statsBody(f, X, n, rms, epsOf(node, op))}
  var sg = ${f.F}(); var sgx = ${f.F}();
${f.loop(`let gh = ${GH}; sg += gh; sgx += gh * (${X} - mean) * rstd;`)}
  let mg = ${rms ? '0.0' : `wg_sum(${f.sum('sg')}, lid) / ${f32lit(n)}`};
  let mgx = wg_sum(${f.sum('sgx')}, lid) / ${f32lit(n)};
${f.loop(`let xh = (${X} - mean) * rstd; ${f.store(st, `rstd * (${GH} - mg - xh * mgx)`)}`)}`;
    return rowKernel(op, node, b, rows, f.WG, body, env, undefined, f.decl(st));
  });
}

/** Row statistics [rows, 2] = (mean, rstd) of x along the norm axis (input of the grad_w column kernel). */
export function emitNormStats(node: Node, plan: PlanView, env: RowEnv): EmittedKernel {
  const xN = node.inputs[0]!;
  const { rows, n, stride, base } = axisRows(xN.shape, node.attrs.axis as number);
  return byRows(plan, 1, rows, n, stride, env, (b, f) => {
    const body = `  let base = ${base};
${statsBody(f, `${f.F}(${f.ld(xN)}(e))`, n, node.attrs.rms === true, node.attrs.eps as number)}
${storeStats('out')}`;
    return rowKernel('norm_stats', node, b, rows, f.WG, body, env);
  });
}

/** *_grad_w(x, dy, stats) → dw [n]: one workgroup per column, Σ over rows of dy·x̂ with saved stats. */
export function emitNormGradW(node: Node, plan: PlanView, env: RowEnv): EmittedKernel {
  const b = new Builder(plan, 1);
  const [xN, dyN, sN] = node.inputs as [Node, Node, Node];
  const axis = normAxis(node.op, xN.shape.length);
  const { rows, stride, n } = axisRows(xN.shape, axis);
  const x = b.load(xN), dy = b.load(dyN), s = b.load(sN);
  const WG = wgFor(rows, n, env);
  // The workgroup's `row` is the column; it loops over the norm rows r.
  const rowBase = stride === 1 ? `r * ${u(n)}` : `(r / ${u(stride)}) * ${u(n * stride)} + r % ${u(stride)}`;
  const body = `  var acc = 0.0;
  for (var r = lid; r < ${u(rows)}; r += ${u(WG)}) {
    let e = ${rowBase} + row${stride === 1 ? '' : ` * ${u(stride)}`};
    acc += f32(${dy}(e)) * (f32(${x}(e)) - ${s}(r * 2u)) * ${s}(r * 2u + 1u);
  }
  acc = wg_sum(acc, lid);
  if (lid == 0u) { out[row] = ${storeConv(plan.storage(node), 'acc')}; }`;
  return rowKernel(node.op, node, b, n, WG, body, env);
}

/** sum / mean / max / logsumexp with one workgroup per output element (for long reductions). */
export function emitReduceRows(node: Node, plan: PlanView, env: RowEnv): EmittedKernel {
  const b = new Builder(plan, 1);
  const xN = node.inputs[0]!;
  const { R, base, off } = reduceIndex(xN, node.attrs.axes as number[]);
  const x = b.load(xN);
  const rows = numel(node.shape);
  const WG = wgFor(R, rows, env);
  const isMax = node.op === 'max' || node.op === 'logsumexp';
  const inner = (acc: string): string => `  for (var r = lid; r < ${u(R)}; r += ${u(WG)}) {\n${off('r').map((l) => `    ${l}`).join('\n')}\n    ${acc}\n  }`;
  let body = `  let i = row;\n${base.map((l) => `  ${l}`).join('\n')}\n`;
  if (isMax) body += `  var m = ${f32lit(-Infinity)};\n${inner(`m = max(m, f32(${x}(base + off)));`)}\n  m = wg_max(m, lid);\n`;
  if (node.op === 'logsumexp') {
    body += `  var s = 0.0;\n${inner(`s += exp(f32(${x}(base + off)) - m);`)}\n  s = wg_sum(s, lid);\n  var res = m + log(s);\n  if (m == ${f32lit(-Infinity)}) { res = m; }\n`;
  } else if (isMax) body += '  let res = m;\n';
  else body += `  var s = 0.0;\n${inner(`s += f32(${x}(base + off));`)}\n  let res = wg_sum(s, lid)${node.op === 'mean' ? ` / ${f32lit(R)}` : ''};\n`;
  body += `  if (lid == 0u) { out[row] = ${storeConv(plan.storage(node), 'res')}; }`;
  return rowKernel(`reduce_${node.op}`, node, b, rows, WG, body, env);
}

/** cross_entropy(logits [N, V], target int [N]) → [N]: logsumexp − logit[target]; target outside [0, V) → 0. */
export function emitCrossEntropy(node: Node, plan: PlanView, env: RowEnv): EmittedKernel {
  const [lN, tN] = node.inputs as [Node, Node];
  const V = lN.shape[lN.shape.length - 1]!;
  const rows = numel(lN.shape) / V;
  return byRows(plan, 1, rows, V, 1, env, (b, f) => {
    const x = f.ld(lN), x1 = b.load(lN), t = b.load(tN);
    const X = `${f.F}(${x}(e))`;
    const body = `  let base = row * ${u(V)};
  let tg = i32(${t}(row));
${maxAndSum(f, X)}
  if (lid == 0u) {
    var res = 0.0;
    if (tg >= 0i && tg < ${V}i) { res = m + log(s) - f32(${x1}(base + u32(tg))); }
    out[row] = ${storeConv(plan.storage(node), 'res')};
  }`;
    return rowKernel('cross_entropy', node, b, rows, f.WG, body, env);
  });
}

/** softmax_grad(y, dy): y·(dy − Σ dy·y); log_softmax_grad(y, dy): dy − exp(y)·Σ dy (along attr axis). */
export function emitSoftmaxGrad(node: Node, plan: PlanView, env: RowEnv): EmittedKernel {
  const [yN, dyN] = node.inputs as [Node, Node];
  const { rows, n, stride, base } = axisRows(node.shape, (node.attrs.axis as number | undefined) ?? -1);
  const lsm = node.op === 'log_softmax_grad';
  const st = plan.storage(node);
  return byRows(plan, 1, rows, n, stride, env, (b, f) => {
    const y = f.ld(yN), dy = f.ld(dyN);
    const Y = `${f.F}(${y}(e))`, DY = `${f.F}(${dy}(e))`;
    const val = lsm ? `${DY} - exp(${Y}) * s` : `${Y} * (${DY} - s)`;
    const body = `  let base = ${base};
  var sp = ${f.F}();
${f.loop(lsm ? `sp += ${DY};` : `sp += ${DY} * ${Y};`)}
  let s = wg_sum(${f.sum('sp')}, lid);
${f.loop(f.store(st, val))}`;
    return rowKernel(node.op, node, b, rows, f.WG, body, env, undefined, f.decl(st));
  });
}

/** cross_entropy_grad(logits [N, V], target [N], dy [N]) → dy_i·(softmax(l_i) − onehot(t_i)); ignored rows 0. */
export function emitCrossEntropyGrad(node: Node, plan: PlanView, env: RowEnv): EmittedKernel {
  const [lN, tN, dN] = node.inputs as [Node, Node, Node];
  const V = lN.shape[lN.shape.length - 1]!;
  const rows = numel(lN.shape) / V;
  const st = plan.storage(node);
  return byRows(plan, 1, rows, V, 1, env, (b, f) => {
    const x = f.ld(lN), t = b.load(tN), dy = b.load(dN);
    const X = `${f.F}(${x}(e))`;
    const body = `  let base = row * ${u(V)};
  let tg = i32(${t}(row));
  let ok = tg >= 0i && tg < ${V}i;
  let g = select(0.0, f32(${dy}(row)), ok);
${maxAndSum(f, X)}
${f.loop(f.store(st, `g * (exp(${X} - m) / s - ${f.isClass('tg')})`))}`;
    return rowKernel('cross_entropy_grad', node, b, rows, f.WG, body, env, undefined, f.decl(st));
  });
}

/**
 * Several row sums in one kernel, a workgroup per row: nodes[j] sums its input's last axis (or everything)
 * into its own buffer, bound read-write at binding j, and its rows follow nodes[j − 1]'s in the grid. The
 * global gradient norm takes, per parameter, a sum of everything or a two-stage one (partial row sums, then
 * their sum); one kernel for a run of them saves a dispatch each (tiny multimodal step: 375 → 316 kernels).
 */
export function emitSums(nodes: Node[], plan: PlanView, env: RowEnv): EmittedKernel & { layout: Node[] } {
  const b = new Builder(plan, nodes.length);
  let start = 0;
  const parts = nodes.map((n) => {
    const x = n.inputs[0]!, rows = numel(n.shape);
    const part = { rows, R: numel(x.shape) / rows, x: b.load(x), start, end: start + rows };
    start += rows;
    return part;
  });
  const WG = wgFor(Math.max(...parts.map((p) => p.R)), start, env);
  const chain = (stmt: (p: typeof parts[number], j: number) => string): string =>
    parts.map((p, j) => `${j ? ' else ' : ''}if (row < ${u(p.end)}) { let r = row - ${u(p.start)}; ${stmt(p, j)} }`).join('');
  const body = `  var s = 0.0;
  ${chain((p) => `for (var e = lid; e < ${u(p.R)}; e += ${u(WG)}) { s += f32(${p.x}(r * ${u(p.R)} + e)); }`)}
  s = wg_sum(s, lid);
  if (lid == 0u) {
    ${chain((_, j) => `out${j}[r] = ${storeConv(plan.storage(nodes[j]!), 's')};`)}
  }`;
  const k = rowKernel(`sum${nodes.length}`, nodes[0]!, b, start, WG, body, env, nodes);
  return { ...k, layout: [...nodes, ...b.bound] };
}
