// Reduce-then-broadcast kernels: one workgroup per row, workgroup tree reductions in f32 (on software adapters
// with enough short rows, a lane per row instead), inputs read through fused load functions. softmax /
// log_softmax (any axis), layernorm / layernorm2d / rmsnorm forward and their grad_x (two-pass statistics), row
// statistics for grad_w, cross_entropy, and large reductions.

import type { Node } from '../ir/node.js';
import { numel, stridesOf } from '../ir/node.js';
import { Builder, dispatch1d, f32lit, header, outDecl, storeConv, u, type PlanView } from './expr.js';
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
 * rmsnorm_grad_x over 256×256, 7.5 → 0.66 ms.)
 */
const wgFor = (n: number, rows: number, env: RowEnv): number =>
  env.software && rows >= LANE_MIN_ROWS && n <= LANE_MAX_N ? 1
    : Math.min(env.software ? SOFT_ROW_WG : 256, Math.max(32, 1 << Math.ceil(Math.log2(Math.max(1, n)))));
const SOFT_ROW_WG = 8;
/** A lane per row from this many rows: fewer would leave CPU threads (and SIMD lanes) idle on long rows. */
const LANE_MIN_ROWS = 64;
const LANE_MAX_N = 512;
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
 * It writes `node` as `out`, or with several `outs` each outs[j] as `out<j>` at binding j.
 */
function rowKernel(name: string, node: Node, b: Builder, rows: number, WG: number, body: string, env: RowEnv, outs?: Node[]): EmittedKernel {
  const decls = b.decls();
  const written = outs ?? [node];
  const outDecls = outs ? outs.map((n, j) => outDecl(j, b.plan.storage(n), `out${j}`)).join('\n') : outDecl(0, b.plan.storage(node), 'out');
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

export function emitSoftmax(node: Node, plan: PlanView, env: RowEnv): EmittedKernel {
  const b = new Builder(plan, 1);
  const x = b.load(node.inputs[0]!);
  const { rows, n, stride, base } = axisRows(node.shape, (node.attrs.axis as number | undefined) ?? -1);
  const WG = wgFor(n, rows, env);
  const st = plan.storage(node);
  const fin = node.op === 'softmax' ? `(exp(f32(${x}(e)) - m) / s)` : `(f32(${x}(e)) - m - log(s))`;
  const body = `  let base = ${base};
  var m = ${f32lit(-Infinity)};
${loop(n, WG, stride, `m = max(m, f32(${x}(e)));`)}
  m = wg_max(m, lid);
  var s = 0.0;
${loop(n, WG, stride, `s += exp(f32(${x}(e)) - m);`)}
  s = wg_sum(s, lid);
${loop(n, WG, stride, `out[e] = ${storeConv(st, fin)};`)}`;
  return rowKernel(node.op, node, b, rows, WG, body, env);
}

/** The norms with dedicated kernels (forward, _grad_x, _grad_w) and the facts their kernels share. */
export const NORMS = new Set(['layernorm', 'layernorm2d', 'rmsnorm']);
/** The normalised axis of a norm op (or one of its grads): channels for layernorm2d, else the last. */
export const normAxis = (op: string, rank: number): number => (op.startsWith('layernorm2d') ? 1 : rank - 1);
export const epsOf = (n: Node, op: string): number => (typeof n.attrs.eps === 'number' ? n.attrs.eps : op.startsWith('layernorm2d') ? 1e-6 : 1e-5);
/** Lane 0 stores the row's (mean, rstd) into `arr` [rows, 2]. */
const storeStats = (arr: string): string => `  if (lid == 0u) { ${arr}[row * 2u] = mean; ${arr}[row * 2u + 1u] = rstd; }`;

/** Lines computing `mean` and `rstd` of the row (two-pass variance; rmsnorm: mean = 0). */
function statsBody(x: string, n: number, WG: number, stride: number, rms: boolean, eps: number): string {
  const meanPart = rms ? '  let mean = 0.0;' : `  var sm = 0.0;\n${loop(n, WG, stride, `sm += f32(${x}(e));`)}\n  let mean = wg_sum(sm, lid) / ${f32lit(n)};`;
  return `${meanPart}
  var sv = 0.0;
${loop(n, WG, stride, `let dd = f32(${x}(e)) - mean; sv += dd * dd;`)}
  let rstd = inverseSqrt(wg_sum(sv, lid) / ${f32lit(n)} + ${f32lit(eps)});`;
}

/** layernorm / layernorm2d / rmsnorm forward. */
export function emitNorm(node: Node, plan: PlanView, env: RowEnv, stats?: Node): EmittedKernel {
  const b = new Builder(plan, stats ? 2 : 1);
  const op = node.op;
  const rms = op === 'rmsnorm';
  const [xN, wN, bN] = node.inputs as [Node, Node, Node | undefined];
  const x = b.load(xN), w = b.load(wN), bb = bN ? b.load(bN) : null;
  const { rows, n, stride, base } = axisRows(node.shape, normAxis(op, node.shape.length));
  const WG = wgFor(n, rows, env);
  const val = `(f32(${x}(e)) - mean) * rstd * f32(${w}(j))${bb ? ` + f32(${bb}(j))` : ''}`;
  const out = stats ? 'out0' : 'out';
  const body = `  let base = ${base};
${statsBody(x, n, WG, stride, rms, epsOf(node, op))}${stats ? `\n${storeStats('out1')}` : ''}
${loop(n, WG, stride, `${out}[e] = ${storeConv(plan.storage(node), val)};`)}`;
  if (!stats) return rowKernel(op, node, b, rows, WG, body, env);
  // In training the forward also writes the row statistics the weight gradient needs (what norm_stats
  // would recompute), as a second output.
  return { ...rowKernel(op, node, b, rows, WG, body, env, [node, stats]), layout: ['out', stats, ...b.bound] };
}

/** Whether `stats` (a `_norm_stats` node) holds the row statistics the forward `norm` computes. */
export function statsOfNorm(norm: Node, stats: Node): boolean {
  return NORMS.has(norm.op) && stats.op === '_norm_stats' && stats.inputs[0] === norm.inputs[0] &&
    stats.attrs.axis === normAxis(norm.op, norm.shape.length) && stats.attrs.eps === epsOf(norm, norm.op) && (stats.attrs.rms === true) === (norm.op === 'rmsnorm');
}

/** *_grad_x(x, w, dy): dx = rstd·(ĝ − mean(ĝ) − x̂·mean(ĝ·x̂)), ĝ = dy·w (rmsnorm drops mean(ĝ)). */
export function emitNormGradX(node: Node, plan: PlanView, env: RowEnv): EmittedKernel {
  const b = new Builder(plan, 1);
  const op = node.op;
  const rms = op.startsWith('rmsnorm');
  const [xN, wN, dyN] = node.inputs as [Node, Node, Node];
  const x = b.load(xN), w = b.load(wN), dy = b.load(dyN);
  const { rows, n, stride, base } = axisRows(node.shape, normAxis(op, node.shape.length));
  const WG = wgFor(n, rows, env);
  const body = `  let base = ${base};
${statsBody(x, n, WG, stride, rms, epsOf(node, op))}
  var sg = 0.0; var sgx = 0.0;
${loop(n, WG, stride, `let gh = f32(${dy}(e)) * f32(${w}(j)); sg += gh; sgx += gh * (f32(${x}(e)) - mean) * rstd;`)}
  let mg = ${rms ? '0.0' : `wg_sum(sg, lid) / ${f32lit(n)}`};
  let mgx = wg_sum(sgx, lid) / ${f32lit(n)};
${loop(n, WG, stride, `let xh = (f32(${x}(e)) - mean) * rstd; out[e] = ${storeConv(plan.storage(node), `rstd * (f32(${dy}(e)) * f32(${w}(j)) - mg - xh * mgx)`)};`)}`;
  return rowKernel(op, node, b, rows, WG, body, env);
}

/** Row statistics [rows, 2] = (mean, rstd) of x along the norm axis (input of the grad_w column kernel). */
export function emitNormStats(node: Node, plan: PlanView, env: RowEnv): EmittedKernel {
  const b = new Builder(plan, 1);
  const xN = node.inputs[0]!;
  const { rows, n, stride, base } = axisRows(xN.shape, node.attrs.axis as number);
  const WG = wgFor(n, rows, env);
  const x = b.load(xN);
  const body = `  let base = ${base};
${statsBody(x, n, WG, stride, node.attrs.rms === true, node.attrs.eps as number)}
${storeStats('out')}`;
  return rowKernel('norm_stats', node, b, rows, WG, body, env);
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
  const b = new Builder(plan, 1);
  const [lN, tN] = node.inputs as [Node, Node];
  const V = lN.shape[lN.shape.length - 1]!;
  const rows = numel(lN.shape) / V;
  const x = b.load(lN), t = b.load(tN);
  const WG = wgFor(V, rows, env);
  const body = `  let base = row * ${u(V)};
  let tg = i32(${t}(row));
  var m = ${f32lit(-Infinity)};
${loop(V, WG, 1, `m = max(m, f32(${x}(e)));`)}
  m = wg_max(m, lid);
  var s = 0.0;
${loop(V, WG, 1, `s += exp(f32(${x}(e)) - m);`)}
  s = wg_sum(s, lid);
  if (lid == 0u) {
    var res = 0.0;
    if (tg >= 0i && tg < ${V}i) { res = m + log(s) - f32(${x}(base + u32(tg))); }
    out[row] = ${storeConv(plan.storage(node), 'res')};
  }`;
  return rowKernel('cross_entropy', node, b, rows, WG, body, env);
}

/** softmax_grad(y, dy): y·(dy − Σ dy·y); log_softmax_grad(y, dy): dy − exp(y)·Σ dy (along attr axis). */
export function emitSoftmaxGrad(node: Node, plan: PlanView, env: RowEnv): EmittedKernel {
  const b = new Builder(plan, 1);
  const [yN, dyN] = node.inputs as [Node, Node];
  const y = b.load(yN), dy = b.load(dyN);
  const { rows, n, stride, base } = axisRows(node.shape, (node.attrs.axis as number | undefined) ?? -1);
  const WG = wgFor(n, rows, env);
  const lsm = node.op === 'log_softmax_grad';
  const val = lsm ? `f32(${dy}(e)) - exp(f32(${y}(e))) * s` : `f32(${y}(e)) * (f32(${dy}(e)) - s)`;
  const body = `  let base = ${base};
  var s = 0.0;
${loop(n, WG, stride, lsm ? `s += f32(${dy}(e));` : `s += f32(${dy}(e)) * f32(${y}(e));`)}
  s = wg_sum(s, lid);
${loop(n, WG, stride, `out[e] = ${storeConv(plan.storage(node), val)};`)}`;
  return rowKernel(node.op, node, b, rows, WG, body, env);
}

/** cross_entropy_grad(logits [N, V], target [N], dy [N]) → dy_i·(softmax(l_i) − onehot(t_i)); ignored rows 0. */
export function emitCrossEntropyGrad(node: Node, plan: PlanView, env: RowEnv): EmittedKernel {
  const b = new Builder(plan, 1);
  const [lN, tN, dN] = node.inputs as [Node, Node, Node];
  const V = lN.shape[lN.shape.length - 1]!;
  const rows = numel(lN.shape) / V;
  const x = b.load(lN), t = b.load(tN), dy = b.load(dN);
  const WG = wgFor(V, rows, env);
  const body = `  let base = row * ${u(V)};
  let tg = i32(${t}(row));
  let ok = tg >= 0i && tg < ${V}i;
  let g = select(0.0, f32(${dy}(row)), ok);
  var m = ${f32lit(-Infinity)};
${loop(V, WG, 1, `m = max(m, f32(${x}(e)));`)}
  m = wg_max(m, lid);
  var s = 0.0;
${loop(V, WG, 1, `s += exp(f32(${x}(e)) - m);`)}
  s = wg_sum(s, lid);
${loop(V, WG, 1, `out[e] = ${storeConv(plan.storage(node), `g * (exp(f32(${x}(e)) - m) / s - select(0.0, 1.0, i32(j) == tg))`)};`)}`;
  return rowKernel('cross_entropy_grad', node, b, rows, WG, body, env);
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
