// Per-element formulas for ops that are not plain elementwise: indexing (gather, take_along, one_hot, rope,
// cache_write) fuse into consumers; the loop-carrying ones (reductions, topk, cumsum, scatter_add, conv,
// pooling, a fallback matmul) are the generic kernels every op gets: one invocation per output element.
// Dedicated kernels (rows.ts, attention.ts, matmul) replace the slow ones where it matters.

import type { Node } from '../ir/node.js';
import { numel, stridesOf } from '../ir/node.js';
import { coords, defineLoader, defineLoader4, f32lit, u, vty, type Builder } from './expr.js';

const last = (n: Node): number => n.shape[n.shape.length - 1]!;
const normAxes = (axes: readonly number[], r: number): number[] => axes.map((a) => (a < 0 ? a + r : a));

// ── indexing (fusable) ───────────────────────────────────────────────────────────────────────────────
defineLoader('gather', (b, n) => {
  const [t, idx] = n.inputs as [Node, Node];
  const [V, D] = t.shape as [number, number];
  return `let id = i32(${b.load(idx)}(i / ${u(D)}));
if (id < 0i || id >= ${V}i) { return ${vty(n.dtype)}(0); }
return ${b.load(t)}(u32(id) * ${u(D)} + i % ${u(D)});`;
});

defineLoader('take_along', (b, n) => {
  const [x, idx] = n.inputs as [Node, Node];
  const L = last(x), K = last(idx);
  return `let id = i32(${b.load(idx)}(i));
if (id < 0i || id >= ${L}i) { return ${vty(n.dtype)}(0); }
return ${b.load(x)}((i / ${u(K)}) * ${u(L)} + u32(id));`;
});

defineLoader('one_hot', (b, n) => {
  const N = n.attrs.n as number;
  return `return select(0.0, 1.0, i32(${b.load(n.inputs[0]!)}(i / ${u(N)})) == i32(i % ${u(N)}));`;
});

/** rope(x [B, H, T, Dh], pos int [T] or [B, T]): rotate-half pairs (j, j + Dh/2) by pos·θ^(-2j/Dh). */
defineLoader('rope', (b, n) => {
  const [x, pos] = n.inputs as [Node, Node];
  const r = x.shape.length;
  const Dh = x.shape[r - 1]!, T = x.shape[r - 2]!, half = Dh / 2;
  const perBatch = numel(pos.shape) !== T;
  const HTD = x.shape.slice(1).reduce((a, d) => a * d, 1);
  const pidx = perBatch ? `(i / ${u(HTD)}) * ${u(T)} + t` : 't';
  const lt = Math.log(n.attrs.theta as number);
  const xl = b.load(x);
  return `let d = i % ${u(Dh)};
let t = (i / ${u(Dh)}) % ${u(T)};
let p = f32(${b.load(pos)}(${pidx}));
let j = d % ${u(half)};
let ang = p * exp(f32(j) * ${f32lit(-2 * lt / Dh)});
let cs = cos(ang); let sn = ${n.attrs.inverse === true ? '-' : ''}sin(ang);
if (d < ${u(half)}) { return ${xl}(i) * cs - ${xl}(i + ${u(half)}) * sn; }
return ${xl}(i) * cs + ${xl}(i - ${u(half)}) * sn;`;
});

/** cache_write(cache [.., Tmax, D], x [.., Tn, D], pos [1]) as a select (used when not done in place). */
defineLoader('cache_write', (b, n) => {
  const [cache, x, pos] = n.inputs as [Node, Node, Node];
  const r = cache.shape.length;
  const D = cache.shape[r - 1]!, Tm = cache.shape[r - 2]!, Tn = x.shape[r - 2]!;
  return `let d = i % ${u(D)};
let t = i32((i / ${u(D)}) % ${u(Tm)});
let bh = i / ${u(D * Tm)};
let p = i32(${b.load(pos)}(0u));
if (t >= p && t < p + ${Tn}i) { return ${b.load(x)}((bh * ${u(Tn)} + u32(t - p)) * ${u(D)} + d); }
return ${b.load(cache)}(i);`;
});

// ── reductions: one invocation per output element (dedicated row kernels in rows.ts) ───────────────────
/** Index pieces of a reduction of `x` over `axes`: base from output index `i`, offset of reduced index `r`. */
export function reduceIndex(x: Node, axes: readonly number[]): { R: number; base: string[]; off: (r: string) => string[]; baseVar: string } {
  const rank = x.shape.length;
  const ax = normAxes(axes, rank);
  const st = stridesOf(x.shape);
  const kept = x.shape.map((_, k) => k).filter((k) => !ax.includes(k));
  const red = x.shape.map((_, k) => k).filter((k) => ax.includes(k));
  const keptShape = kept.map((k) => x.shape[k]!);
  const redShape = red.map((k) => x.shape[k]!);
  const base = [...coords(keptShape, 'i', 'k'), `let base = ${kept.map((k, j) => `k${j} * ${u(st[k]!)}`).join(' + ') || '0u'};`];
  const off = (r: string): string[] => [...coords(redShape, r, 'q'), `let off = ${red.map((k, j) => `q${j} * ${u(st[k]!)}`).join(' + ') || '0u'};`];
  return { R: redShape.reduce((a, d) => a * d, 1), base, off, baseVar: 'base' };
}

type ReduceKind = 'sum' | 'mean' | 'max' | 'logsumexp';

/**
 * A reduction's body: one output (`vec` false) or, in the vec4 form, 4 consecutive outputs, which read 4
 * consecutive inputs at every reduced index when the last axis is kept and a multiple of 4 long. One loop of
 * vec4 loads then replaces four scalar loops (lavapipe JIT: a 32-row column sum over three added inputs took
 * 19 s to compile as four loops).
 */
function reduceBody(b: Builder, n: Node, kind: ReduceKind, vec: boolean): string {
  const x = n.inputs[0]!;
  const { R, base, off } = reduceIndex(x, n.attrs.axes as number[]);
  const xl = vec ? b.load4(x) : b.load(x);
  const V = vec ? 'vec4<f32>' : 'f32', T = vec ? `vec4<${vty(n.dtype)}>` : vty(n.dtype);
  const loop = (acc: string, init: string, step: string): string[] =>
    [`var ${acc} = ${V}(${init});`, `for (var r = 0u; r < ${b.loopEnd(R)}; r++) {`, ...off('r').map((l) => `  ${l}`), `  let v = ${V}(${xl}(base + off));`, `  ${step}`, '}'];
  const lines = [...base];
  if (kind === 'sum' || kind === 'mean') lines.push(...loop('acc', '0.0', 'acc += v;'), `return ${T}(acc${kind === 'mean' ? ` / ${f32lit(R)}` : ''});`);
  else if (kind === 'max') lines.push(...loop('acc', f32lit(-Infinity), 'acc = max(acc, v);'), `return ${T}(acc);`);
  else {
    lines.push(...loop('m', f32lit(-Infinity), 'm = max(m, v);'), ...loop('s', '0.0', 's += exp(v - m);'));
    lines.push(`return select(m + log(s), m, m == ${V}(${f32lit(-Infinity)}));`);
  }
  return lines.join('\n');
}
for (const k of ['sum', 'mean', 'max', 'logsumexp'] as const) {
  defineLoader(k, (b, n) => reduceBody(b, n, k, false));
  defineLoader4(k, {
    ok: (n) => {
      const x = n.inputs[0]!, lastAxis = x.shape.length - 1;
      return lastAxis >= 0 && !normAxes(n.attrs.axes as number[], x.shape.length).includes(lastAxis) && x.shape[lastAxis]! % 4 === 0;
    },
    emit: (b, n) => reduceBody(b, n, k, true),
  });
}

// ── loops over rows (generic; slow but exact) ─────────────────────────────────────────────────────────
defineLoader('topk', (b, n) => {
  const x = n.inputs[0]!;
  const L = last(x), K = last(n);
  const xl = b.load(x);
  // Output j of a row is the element whose rank (strictly greater, or equal with a lower index) is j.
  return `let row = (i / ${u(K)}) * ${u(L)};
let j = i % ${u(K)};
for (var e = 0u; e < ${u(L)}; e++) {
  let ve = ${xl}(row + e);
  var rank = 0u;
  for (var f = 0u; f < ${u(L)}; f++) {
    let vf = ${xl}(row + f);
    if (vf > ve || (vf == ve && f < e)) { rank++; }
  }
  if (rank == j) { return i32(e); }
}
return 0i;`;
});

defineLoader('cumsum', (b, n) => {
  const x = n.inputs[0]!;
  const r = x.shape.length;
  const axis = ((n.attrs.axis as number) + r) % r;
  const L = x.shape[axis]!, st = stridesOf(x.shape)[axis]!;
  const rev = n.attrs.reverse === true;
  const T = vty(n.dtype);
  return `let j = (i / ${u(st)}) % ${u(L)};
let start = i - j * ${u(st)};
var acc = ${T}(0);
for (var k = ${rev ? 'j' : '0u'}; k <= ${rev ? u(L - 1) : 'j'}; k++) { acc += ${b.load(x)}(start + k * ${u(st)}); }
return acc;`;
});

defineLoader('scatter_add', (b, n) => {
  const [idx, src] = n.inputs as [Node, Node];
  const D = last(n), N = numel(idx.shape);
  return `let row = i32(i / ${u(D)});
let d = i % ${u(D)};
var acc = 0.0;
for (var k = 0u; k < ${u(N)}; k++) {
  if (i32(${b.load(idx)}(k)) == row) { acc += f32(${b.load(src)}(k * ${u(D)} + d)); }
}
return acc;`;
});

/** Fallback matmul (any batch broadcast): one dot product per output element. */
defineLoader('matmul', (b, n) => {
  const [a, bb] = n.inputs as [Node, Node];
  const tA = n.attrs.transA === true, tB = n.attrs.transB === true;
  const r = n.shape.length;
  const M = n.shape[r - 2]!, N = n.shape[r - 1]!;
  const K = tA ? a.shape[a.shape.length - 2]! : a.shape[a.shape.length - 1]!;
  const batch = n.shape.slice(0, -2);
  const bIdx = (x: Node): string => {
    const xb = x.shape.slice(0, -2), off = batch.length - xb.length;
    const st = stridesOf(xb), mat = x.shape[x.shape.length - 1]! * x.shape[x.shape.length - 2]!;
    return xb.map((d, k) => (d === 1 ? '' : `c${k + off} * ${u(st[k]! * mat)}`)).filter(Boolean).join(' + ') || '0u';
  };
  const aAt = tA ? `ab + k * ${u(M)} + m` : `ab + m * ${u(K)} + k`;
  const bAt = tB ? `bb + nn * ${u(K)} + k` : `bb + k * ${u(N)} + nn`;
  return [...coords(batch, `(i / ${u(M * N)})`), `let m = (i / ${u(N)}) % ${u(M)};`, `let nn = i % ${u(N)};`,
    `let ab = ${bIdx(a)};`, `let bb = ${bIdx(bb)};`, 'var acc = 0.0;',
    `for (var k = 0u; k < ${u(K)}; k++) { acc += f32(${b.load(a)}(${aAt})) * f32(${b.load(bb)}(${bAt})); }`,
    `return ${vty(n.dtype)}(acc);`].join('\n');
});

// ── convolution and pooling (NCHW) ──────────────────────────────────────────────────────────────────
interface CG { B: number; C: number; H: number; W: number; O: number; kh: number; kw: number; oh: number; ow: number; s: number; p: number; G: number }
const cg = (x: readonly number[], w: readonly number[], y: readonly number[], a: Node['attrs']): CG => ({
  B: x[0]!, C: x[1]!, H: x[2]!, W: x[3]!, O: w[0]!, kh: w[2]!, kw: w[3]!, oh: y[2]!, ow: y[3]!,
  s: (a.stride as number | undefined) ?? 1, p: (a.padding as number | undefined) ?? 0, G: (a.groups as number | undefined) ?? 1,
});

defineLoader('conv2d', (b, n) => {
  const [x, w] = n.inputs as [Node, Node];
  const g = cg(x.shape, w.shape, n.shape, n.attrs);
  const Cg = g.C / g.G, Og = g.O / g.G;
  return `${coords(n.shape, 'i').join('\n')}
let grp = c1 / ${u(Og)};
var acc = 0.0;
for (var c = 0u; c < ${u(Cg)}; c++) { for (var ky = 0u; ky < ${u(g.kh)}; ky++) {
  let y = i32(c2 * ${u(g.s)} + ky) - ${g.p}i;
  if (y < 0i || y >= ${g.H}i) { continue; }
  for (var kx = 0u; kx < ${u(g.kw)}; kx++) {
    let xx = i32(c3 * ${u(g.s)} + kx) - ${g.p}i;
    if (xx < 0i || xx >= ${g.W}i) { continue; }
    acc += f32(${b.load(x)}(((c0 * ${u(g.C)} + grp * ${u(Cg)} + c) * ${u(g.H)} + u32(y)) * ${u(g.W)} + u32(xx))) * f32(${b.load(w)}(((c1 * ${u(Cg)} + c) * ${u(g.kh)} + ky) * ${u(g.kw)} + kx));
  }
} }
return acc;`;
});

/** dx[b, c, y, x] = Σ over (o in c's group, taps) with y = i·s − p + ky: dy[b, o, i, j]·w[o, c', ky, kx]. */
defineLoader('conv2d_grad_input', (b, n) => {
  const [dy, w] = n.inputs as [Node, Node];
  const g = cg(n.shape, w.shape, dy.shape, n.attrs);
  const Cg = g.C / g.G, Og = g.O / g.G;
  return `${coords(n.shape, 'i').join('\n')}
let grp = c1 / ${u(Cg)};
let cc = c1 % ${u(Cg)};
var acc = 0.0;
for (var ky = 0u; ky < ${u(g.kh)}; ky++) {
  let ty = i32(c2) + ${g.p}i - i32(ky);
  if (ty < 0i || ty % ${g.s}i != 0i || ty / ${g.s}i >= ${g.oh}i) { continue; }
  for (var kx = 0u; kx < ${u(g.kw)}; kx++) {
    let tx = i32(c3) + ${g.p}i - i32(kx);
    if (tx < 0i || tx % ${g.s}i != 0i || tx / ${g.s}i >= ${g.ow}i) { continue; }
    for (var oo = 0u; oo < ${u(Og)}; oo++) {
      let o = grp * ${u(Og)} + oo;
      acc += f32(${b.load(dy)}(((c0 * ${u(g.O)} + o) * ${u(g.oh)} + u32(ty / ${g.s}i)) * ${u(g.ow)} + u32(tx / ${g.s}i))) * f32(${b.load(w)}(((o * ${u(Cg)} + cc) * ${u(g.kh)} + ky) * ${u(g.kw)} + kx));
    }
  }
}
return acc;`;
});

defineLoader('conv2d_grad_weight', (b, n) => {
  const [x, dy] = n.inputs as [Node, Node];
  const g = cg(x.shape, n.shape, dy.shape, n.attrs);
  const Cg = g.C / g.G, Og = g.O / g.G;
  return `${coords(n.shape, 'i').join('\n')}
let ch = (c0 / ${u(Og)}) * ${u(Cg)} + c1;
var acc = 0.0;
for (var bb = 0u; bb < ${u(g.B)}; bb++) { for (var oy = 0u; oy < ${u(g.oh)}; oy++) {
  let y = i32(oy * ${u(g.s)} + c2) - ${g.p}i;
  if (y < 0i || y >= ${g.H}i) { continue; }
  for (var ox = 0u; ox < ${u(g.ow)}; ox++) {
    let xx = i32(ox * ${u(g.s)} + c3) - ${g.p}i;
    if (xx < 0i || xx >= ${g.W}i) { continue; }
    acc += f32(${b.load(x)}(((bb * ${u(g.C)} + ch) * ${u(g.H)} + u32(y)) * ${u(g.W)} + u32(xx))) * f32(${b.load(dy)}(((bb * ${u(g.O)} + c0) * ${u(g.oh)} + oy) * ${u(g.ow)} + ox));
  }
} }
return acc;`;
});

// Bin i of n over o outputs spans [floor(i·n/o), ceil((i+1)·n/o)).
defineLoader('adaptive_avg_pool2d', (b, n) => {
  const x = n.inputs[0]!;
  const [, , H, W] = x.shape as [number, number, number, number];
  const [, , oh, ow] = n.shape as [number, number, number, number];
  return `${coords(n.shape, 'i').join('\n')}
let y0 = (c2 * ${u(H)}) / ${u(oh)}; let y1 = ((c2 + 1u) * ${u(H)} + ${u(oh - 1)}) / ${u(oh)};
let x0 = (c3 * ${u(W)}) / ${u(ow)}; let x1 = ((c3 + 1u) * ${u(W)} + ${u(ow - 1)}) / ${u(ow)};
var acc = 0.0;
for (var y = y0; y < y1; y++) { for (var xx = x0; xx < x1; xx++) { acc += f32(${b.load(x)}(((c0 * ${u(x.shape[1]!)} + c1) * ${u(H)} + y) * ${u(W)} + xx)); } }
return acc / f32((y1 - y0) * (x1 - x0));`;
});

defineLoader('adaptive_avg_pool2d_grad', (b, n) => {
  const dy = n.inputs[0]!;
  const [, C, H, W] = n.shape as [number, number, number, number];
  const [, , oh, ow] = dy.shape as [number, number, number, number];
  // Output bins whose span covers pixel y: i with floor(i·H/oh) ≤ y < ceil((i+1)·H/oh); scan them all (small).
  return `${coords(n.shape, 'i').join('\n')}
var acc = 0.0;
for (var bi = 0u; bi < ${u(oh)}; bi++) {
  let y0 = (bi * ${u(H)}) / ${u(oh)}; let y1 = ((bi + 1u) * ${u(H)} + ${u(oh - 1)}) / ${u(oh)};
  if (c2 < y0 || c2 >= y1) { continue; }
  for (var bj = 0u; bj < ${u(ow)}; bj++) {
    let x0 = (bj * ${u(W)}) / ${u(ow)}; let x1 = ((bj + 1u) * ${u(W)} + ${u(ow - 1)}) / ${u(ow)};
    if (c3 < x0 || c3 >= x1) { continue; }
    acc += f32(${b.load(dy)}(((c0 * ${u(C)} + c1) * ${u(oh)} + bi) * ${u(ow)} + bj)) / f32((y1 - y0) * (x1 - x0));
  }
}
return acc;`;
});

/** cache_read(cache [.., Tmax, D], pos [1]) {len} → [.., len, D]: rows pos[0].. (zeros past Tmax). */
defineLoader('cache_read', (b, n) => {
  const [cache, pos] = n.inputs as [Node, Node];
  const r = cache.shape.length;
  const D = cache.shape[r - 1]!, Tm = cache.shape[r - 2]!, L = n.shape[r - 2]!;
  return `let d = i % ${u(D)};
let t = (i / ${u(D)}) % ${u(L)};
let bh = i / ${u(D * L)};
let row = u32(${b.load(pos)}(0u)) + t;
if (row >= ${u(Tm)}) { return ${vty(n.dtype)}(0); }
return ${b.load(cache)}((bh * ${u(Tm)} + row) * ${u(D)} + d);`;
});

/** Ops whose per-element formula is cheap enough to recompute inside any consumer. */
export const FUSABLE_INDEX_OPS = new Set(['gather', 'take_along', 'one_hot', 'rope', 'cache_write', 'cache_read']);
