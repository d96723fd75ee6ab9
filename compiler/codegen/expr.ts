// Per-element load functions: every fusable node becomes a WGSL function `fn v_<k>(i: u32) -> T` giving its
// element at flat row-major index i, built from its inputs' functions. Materialized nodes read their buffer.
// Movement ops are pure index arithmetic, so reshape/permute/expand/slice/pad/concat fuse into any consumer;
// ops with a closed per-element formula (gather, rope, one_hot, conv, pooling, ...) are added by loaders.ts.
// Kernels that handle 4 consecutive elements per invocation also ask for `fn w_<k>(i: u32) -> vec4<T>` (load4):
// buffers read with one vec4 load, elementwise ops computed on vec4, everything else gathered from 4 scalar
// loads. lavapipe, 2^20-element add: 3.2 GB/s with 4 scalar loads per input, 4.1 with one vec4 load.

import type { DType, Node, Shape } from '../ir/node.js';
import { numel, stridesOf } from '../ir/node.js';
import { getOp } from '../ops/registry.js';

/** WGSL value type of a node inside kernels: floats compute in f32 (f16 is a storage format). */
export const vty = (t: DType): string => (t === 'f32' || t === 'f16' ? 'f32' : t);
/** WGSL element type of a buffer holding `t`. */
export const sty = (t: DType): string => t;

/** A finite-safe f32 literal. */
export function f32lit(v: number): string {
  if (Number.isNaN(v)) return 'bitcast<f32>(0x7fc00000u)';
  // WGSL constants cannot be infinite: ±inf becomes ±f32 max (a max-reduction's identity, exp(-max) = 0).
  if (!Number.isFinite(v)) return v > 0 ? 'f32(3.4028234663852886e38)' : 'f32(-3.4028234663852886e38)';
  const s = String(v);
  return `f32(${/[.e]/.test(s) ? s : `${s}.0`})`;
}
export const u = (v: number): string => `${Math.trunc(v)}u`;
/**
 * `n` as a u32 the shader compiler cannot see through (it depends on the length of the runtime-sized array
 * `arr`). Software adapters bound loops with it: llvmpipe unrolls a constant-count loop of per-lane loads
 * completely and can spend seconds compiling it (a 32-row column sum: 4.5 s, 0.09 s with the bound hidden).
 */
export const hiddenBound = (n: number, arr = 'out'): string => `select(${u(n)}, 0u, arrayLength(&${arr}) == 0u)`;

/** What the kernel builder needs from the fusion plan. */
export interface PlanView {
  /** True if the node's value lives in a buffer (leaves, anchors, materialized nodes). */
  isBuffer(n: Node): boolean;
  /** Storage dtype of the node's buffer. */
  storage(n: Node): DType;
}

/** Per-op emitter of a load function body for ops beyond plain elementwise/movement (see loaders.ts). */
export type Loader = (b: Builder, n: Node) => string;
const loaders = new Map<string, Loader>();
export function defineLoader(op: string, f: Loader): void { loaders.set(op, f); }
export function hasLoader(op: string): boolean { return loaders.has(op) || isPlainFusable(op); }
export function hasCustomLoader(op: string): boolean { return loaders.has(op); }
/** A custom loader's vec4 form (4 consecutive outputs from flat index i, a multiple of 4) where `ok(n)`. */
export interface Loader4 { ok(n: Node): boolean; emit(b: Builder, n: Node): string }
const loaders4 = new Map<string, Loader4>();
export function defineLoader4(op: string, l: Loader4): void { loaders4.set(op, l); }

const MOVEMENT = new Set(['reshape', 'permute', 'expand', 'slice', 'pad', 'concat']);
export function isPlainFusable(op: string): boolean {
  if (MOVEMENT.has(op)) return true;
  try { return getOp(op).kind === 'elementwise'; } catch { return false; }
}

/** Lines computing the coordinates c0..c{r-1} of flat index `i` in `shape` (prefix p). */
export function coords(shape: Shape, i: string, p = 'c'): string[] {
  const st = stridesOf(shape);
  return shape.map((d, k) => {
    const q = st[k] === 1 ? i : `(${i} / ${u(st[k]!)})`;
    return k === 0 ? `let ${p}${k} = ${q};` : `let ${p}${k} = ${q} % ${u(d)};`;
  });
}

/** Flat index into `inShape` (right-aligned, size-1 dims broadcast) from output coordinates c*. */
export function bcastIndex(outShape: Shape, inShape: Shape, p = 'c'): string {
  const off = outShape.length - inShape.length;
  const st = stridesOf(inShape);
  const terms: string[] = [];
  inShape.forEach((d, k) => { if (d !== 1) terms.push(st[k] === 1 ? `${p}${k + off}` : `${p}${k + off} * ${u(st[k]!)}`); });
  return terms.length ? terms.join(' + ') : '0u';
}

/** Builds the declarations (bindings + load functions) of one kernel. */
export class Builder {
  /** Nodes whose buffers are bound, in binding order starting at `base`. */
  readonly bound: Node[] = [];
  /** Nodes computed inline (load functions with a body), in post-order. */
  readonly inlined: Node[] = [];
  /** Load functions, rendered in decls(): a buffer's scalar read depends on whether it ends up bound as vec4. */
  private readonly fns: (() => string)[] = [];
  private readonly names = new Map<Node, string>();
  private readonly names4 = new Map<Node, string>();
  /** Buffers some load4 reads: bound as array<vec4<T>>, scalar reads pick a component. */
  private readonly vecBufs = new Set<Node>();
  /** Broadcast views by (node, input) → name. */
  private readonly views = new Map<string, string>();
  /**
   * Function names count up per kernel, in the order the functions are first asked for, rather than naming
   * nodes: kernels built the same way from different nodes (every layer's) are then the same text, and the
   * device compiles them once (GpuDevice.pipeline caches by text).
   */
  private seq = 0;
  private fresh(prefix: string): string { return `${prefix}_${this.seq++}`; }
  /** Scalar load functions whose own body loops (reductions, convolutions, ...: never fused, so kernel roots). */
  private readonly loopy = new Set<string>();
  /** Set when a load4 had to call a looping scalar function 4 times: 4 copies of the loop for the JIT. */
  gatheredLoop = false;
  /** The kernel's runtime-sized output array whose length hides loop bounds (software adapters), or null. */
  opaque: string | null = null;

  /** The end of a loop of `n` iterations: a literal, or hidden from the shader compiler (see hiddenBound). */
  loopEnd(n: number): string { return this.opaque ? hiddenBound(n, this.opaque) : u(n); }
  private readonly extra: string[] = [];
  private readonly onStack = new Set<Node>();
  /** `subst`: nodes replaced by a scalar expression of i; `subst4`: by a vec4 expression of i (for load4). */
  constructor(readonly plan: PlanView, readonly base: number, readonly subst: ReadonlyMap<Node, string> = new Map(),
    readonly subst4: ReadonlyMap<Node, string> = new Map()) {}

  /** The variable name of `n`'s bound buffer (read-only storage). */
  buf(n: Node): string {
    let k = this.bound.indexOf(n);
    if (k < 0) { k = this.bound.length; this.bound.push(n); }
    return `b${this.base + k}`;
  }

  /** Extra module-scope declarations (private vars, helper functions). */
  decl(text: string): void { if (!this.extra.includes(text)) this.extra.push(text); }

  /** Load function computing `n` itself (the kernel's output: never read from its own buffer). */
  compute(n: Node): string { return this.load(n, true); }

  /** Name of the load function of `n` (flat index → value), emitting it on first use. */
  load(n: Node, self = false): string {
    const hit = this.names.get(n);
    if (hit) return hit;
    const name = this.fresh('v');
    this.names.set(n, name);
    const T = vty(n.dtype);
    let body: () => string;
    const sub = this.subst.get(n);
    if (sub !== undefined) body = () => `return ${sub};`;
    else if (this.plan.isBuffer(n) && !self) {
      const s = this.plan.storage(n), buf = this.buf(n);
      body = () => {
        const at = this.vecBufs.has(n) ? `${buf}[i / 4u][i % 4u]` : `${buf}[i]`;
        return s === 'f16' ? `return f32(${at});` : `return ${at};`;
      };
    } else {
      const text = this.inline(n, () => this.body(n));
      if (/\bfor \(|\bloop \{/.test(text)) this.loopy.add(name);
      body = () => text;
    }
    this.fns.push(() => fnText(name, T, body()));
    return name;
  }

  /**
   * Name of the vector load function of `n`: `fn w_<k>(i: u32) -> vec4<T>`, its elements i..i+3 (i a multiple
   * of 4, and so the element count of `n`).
   */
  load4(n: Node, self = false): string {
    const hit = this.names4.get(n);
    if (hit) return hit;
    if (numel(n.shape) % 4 !== 0) throw new Error(`load4 of node ${n.id}: ${numel(n.shape)} elements`);
    const name = this.fresh('w');
    this.names4.set(n, name);
    const V = `vec4<${vty(n.dtype)}>`;
    const gather = (): string => {
      const v = this.load(n, self);
      if (this.loopy.has(v)) this.gatheredLoop = true;
      return `return ${V}(${[0, 1, 2, 3].map((c) => `${v}(i${c ? ` + ${c}u` : ''})`).join(', ')});`;
    };
    let body: string;
    const sub4 = this.subst4.get(n);
    if (sub4 !== undefined) body = `return ${sub4};`;
    else if (this.subst.has(n)) body = gather();
    else if (this.plan.isBuffer(n) && !self) {
      this.vecBufs.add(n);
      const at = `${this.buf(n)}[i / 4u]`;
      body = this.plan.storage(n) === 'f16' ? `return vec4<f32>(${at});` : `return ${at};`;
    } else body = this.body4(n, V) ?? gather();
    this.fns.push(() => fnText(name, V, body));
    return name;
  }

  /** `n`'s body computed on vec4 when its op and inputs allow it, else null (the caller gathers scalars). */
  private body4(n: Node, V: string): string | null {
    if (loaders.has(n.op)) {
      const l4 = loaders4.get(n.op);
      return l4 && l4.ok(n) ? this.inline(n, () => l4.emit(this, n)) : null;
    }
    const x = n.inputs[0];
    switch (n.op) {
      case 'reshape': case 'stop_gradient': return this.inline(n, () => `return ${this.load4(x!)}(i);`);
      case 'cast': return n.dtype === 'f16' ? null : this.inline(n, () => `return ${V}(${this.load4(x!)}(i));`);
      case 'permute': case 'slice': case 'pad': case 'concat': return null;
    }
    let def: ReturnType<typeof getOp>;
    try { def = getOp(n.op); } catch { return null; }
    const wgsl = def.wgsl?.bind(def);
    if ((def.kind !== 'elementwise' && n.op !== 'expand') || (n.op !== 'expand' && !wgsl)) return null;
    return this.inline(n, () => {
      const T = vty(n.dtype);
      const same = n.inputs.every((y) => vty(y.dtype) === vty(n.inputs[0]!.dtype));
      const argT = n.op === 'compare' && same && n.inputs.length ? vty(n.inputs[0]!.dtype) : T;
      const lines: string[] = [];
      if (n.inputs.some((y) => !sameShape(y.shape, n.shape) && numel(y.shape) !== 1)) lines.push(...coords(n.shape, 'i'));
      const args = n.inputs.map((y, k) => {
        const v = sameShape(y.shape, n.shape) ? `${this.load4(y)}(i)`
          : numel(y.shape) === 1 ? `vec4<${vty(y.dtype)}>(${this.load(y)}(0u))`
          : vecReadable(n, y) ? `${this.load4(y)}(${bcastIndex(n.shape, y.shape)})`
          : `vec4<${vty(y.dtype)}>(${[0, 1, 2, 3].map((c) => `${this.broadcastView(n, y)}(i${c ? ` + ${c}u` : ''})`).join(', ')})`;
        lines.push(`let a${k} = ${vty(y.dtype) === argT ? v : `vec4<${argT}>(${v})`};`);
        return `a${k}`;
      });
      lines.push(n.op === 'expand' ? `return ${V}(${args[0]});` : `return ${wgsl!(args, n.attrs, V)};`);
      return lines.join('\n');
    });
  }

  /** `fn` giving input `x` of `n` at `n`'s flat index (its broadcast), for inputs read one element at a time. */
  private broadcastView(n: Node, x: Node): string {
    const key = `${n.id}_${x.id}`;
    const hit = this.views.get(key);
    if (hit) return hit;
    const name = this.fresh('wv');
    this.views.set(key, name);
    const body = [...coords(n.shape, 'i'), `return ${this.load(x)}(${bcastIndex(n.shape, x.shape)});`].join('\n');
    this.fns.push(() => fnText(name, vty(x.dtype), body));
    return name;
  }

  /** Builds `n`'s inlined body (recording it among the kernel's fused nodes), guarding against cycles. */
  private inline(n: Node, build: () => string): string {
    if (this.onStack.has(n)) throw new Error(`cycle at node ${n.id}`);
    this.onStack.add(n);
    const text = build();
    this.onStack.delete(n);
    if (!this.inlined.includes(n)) this.inlined.push(n);
    return text;
  }

  private body(n: Node): string {
    const custom = loaders.get(n.op);
    if (custom) return custom(this, n);
    switch (n.op) {
      case 'reshape': case 'stop_gradient': return `return ${this.load(n.inputs[0]!)}(i);`;
      case 'cast': return this.cast(n);
      case 'permute': return this.permute(n);
      case 'expand': return this.bcastCall(n, n.inputs[0]!, (x) => `return ${x};`);
      case 'slice': return this.slice(n);
      case 'pad': return this.pad(n);
      case 'concat': return this.concat(n);
    }
    const def = getOp(n.op);
    if (def.kind !== 'elementwise' || !def.wgsl) throw new Error(`no WGSL for op '${n.op}'`);
    return this.elementwise(n, def.wgsl.bind(def));
  }

  private cast(n: Node): string {
    const x = n.inputs[0]!;
    const a = `${this.load(x)}(i)`;
    const to = n.dtype;
    // Round through f16 without needing the shader-f16 extension.
    // (pack2x16float round trips get folded away by some compilers: round the mantissa to 10 bits, ties to
    // even, with bit arithmetic; f16's range limits and subnormals are not modelled.)
    if (to === 'f16') return `let b = bitcast<u32>(${vty(x.dtype) === 'f32' ? a : `f32(${a})`});\nreturn bitcast<f32>((b + 0xfffu + ((b >> 13u) & 1u)) & 0xffffe000u);`;
    return `return ${vty(to)}(${a});`;
  }

  /** Elementwise op over broadcast inputs: arguments converted to the op's compute type. */
  private elementwise(n: Node, wgsl: (args: readonly string[], attrs: typeof n.attrs, ty: string) => string): string {
    const T = vty(n.dtype);
    const same = n.inputs.every((x) => vty(x.dtype) === vty(n.inputs[0]!.dtype));
    // compare on same-typed ints compares ints; everything else converts to the node's compute type.
    const argT = n.op === 'compare' && same && n.inputs.length ? vty(n.inputs[0]!.dtype) : T;
    const lines: string[] = [];
    const needC = n.inputs.some((x) => !sameShape(x.shape, n.shape) && numel(x.shape) !== 1);
    if (needC) lines.push(...coords(n.shape, 'i'));
    const args = n.inputs.map((x, k) => {
      const idx = sameShape(x.shape, n.shape) ? 'i' : numel(x.shape) === 1 ? '0u' : bcastIndex(n.shape, x.shape);
      const v = `${this.load(x)}(${idx})`;
      const conv = vty(x.dtype) === argT ? v : `${argT}(${v})`;
      lines.push(`let a${k} = ${conv};`);
      return `a${k}`;
    });
    lines.push(`return ${wgsl(args, n.attrs, T)};`);
    return lines.join('\n');
  }

  private bcastCall(n: Node, x: Node, ret: (v: string) => string): string {
    if (sameShape(x.shape, n.shape)) return ret(`${this.load(x)}(i)`);
    if (numel(x.shape) === 1) return ret(`${this.load(x)}(0u)`);
    return [...coords(n.shape, 'i'), ret(`${this.load(x)}(${bcastIndex(n.shape, x.shape)})`)].join('\n');
  }

  private permute(n: Node): string {
    const x = n.inputs[0]!;
    const perm = n.attrs.perm as number[];
    const st = stridesOf(x.shape);
    const idx = perm.map((p, k) => `c${k} * ${u(st[p]!)}`).join(' + ') || '0u';
    return [...coords(n.shape, 'i'), `return ${this.load(x)}(${idx});`].join('\n');
  }

  private slice(n: Node): string {
    const x = n.inputs[0]!;
    const start = n.attrs.start as number[];
    const st = stridesOf(x.shape);
    const base = start.reduce((a, s, k) => a + s * st[k]!, 0);
    const idx = n.shape.map((_, k) => `c${k} * ${u(st[k]!)}`).join(' + ') || '0u';
    return [...coords(n.shape, 'i'), `return ${this.load(x)}(${u(base)} + ${idx});`].join('\n');
  }

  private pad(n: Node): string {
    const x = n.inputs[0]!;
    const before = n.attrs.before as number[];
    const T = vty(n.dtype);
    const st = stridesOf(x.shape);
    const lines = coords(n.shape, 'i');
    const conds: string[] = [];
    const terms: string[] = [];
    x.shape.forEach((d, k) => {
      const b = before[k] ?? 0;
      lines.push(`let d${k} = i32(c${k}) - ${b}i;`);
      conds.push(`d${k} < 0i || d${k} >= ${d}i`);
      terms.push(`u32(d${k}) * ${u(st[k]!)}`);
    });
    const val = (n.attrs.value as number | undefined) ?? 0;
    const pv = T === 'f32' ? f32lit(val) : `${T}(${Math.trunc(val)})`;
    if (conds.length) lines.push(`if (${conds.join(' || ')}) { return ${pv}; }`);
    lines.push(`return ${this.load(x)}(${terms.join(' + ') || '0u'});`);
    return lines.join('\n');
  }

  private concat(n: Node): string {
    const axis = ((n.attrs.axis as number) + n.shape.length) % n.shape.length;
    const lines = coords(n.shape, 'i');
    let off = 0;
    n.inputs.forEach((x, k) => {
      const st = stridesOf(x.shape);
      const idx = x.shape.map((_, d) => (d === axis ? `(c${d} - ${u(off)})` : `c${d}`) + ` * ${u(st[d]!)}`).join(' + ') || '0u';
      const call = `return ${this.load(x)}(${idx});`;
      off += x.shape[axis]!;
      lines.push(k === n.inputs.length - 1 ? call : `if (c${axis} < ${u(off)}) { ${call} }`);
    });
    return lines.join('\n');
  }

  /** Binding declarations (read-only inputs) followed by helpers and load functions. */
  decls(): string {
    const binds = this.bound.map((n, k) => {
      const t = sty(this.plan.storage(n));
      return `@group(0) @binding(${this.base + k}) var<storage, read> b${this.base + k}: array<${this.vecBufs.has(n) ? `vec4<${t}>` : t}>;`;
    });
    return [...binds, ...this.extra, ...this.fns.map((f) => f())].join('\n');
  }

  usesF16(): boolean { return this.bound.some((n) => this.plan.storage(n) === 'f16'); }
}

const fnText = (name: string, T: string, body: string): string => `fn ${name}(i: u32) -> ${T} {\n  ${body.split('\n').join('\n  ')}\n}`;

/**
 * Whether input `x` of elementwise node `n` can be read 4 elements at a time: the same shape, a single value,
 * or a broadcast along leading axes only (the last axis kept, a multiple of 4 long), where the 4 consecutive
 * outputs read 4 consecutive inputs. Other broadcasts read x's 4 elements one by one.
 */
function vecReadable(n: Node, x: Node): boolean {
  if (sameShape(x.shape, n.shape) || numel(x.shape) === 1) return true;
  const last = n.shape[n.shape.length - 1]!;
  return x.shape.length > 0 && x.shape[x.shape.length - 1] === last && last % 4 === 0;
}

export function sameShape(a: Shape, b: Shape): boolean { return a.length === b.length && a.every((d, i) => d === b[i]); }

/** Index of invocation in a 1-D dispatch split over x/y (workgroups beyond 65535 spill into y). */
export function dispatch1d(n: number, wg: number, maxDim = 65535): { workgroups: [number, number, number]; nx: number } {
  const groups = Math.max(1, Math.ceil(n / wg));
  if (groups <= maxDim) return { workgroups: [groups, 1, 1], nx: groups };
  const y = Math.ceil(groups / maxDim);
  const x = Math.ceil(groups / y);
  return { workgroups: [x, y, 1], nx: x };
}

/**
 * How a generic kernel walks its `units` work items (elements, or vec4s of them): the dispatch, and the code
 * around the body, which sees the item as `t`. On GPUs, one item per invocation. On software
 * adapters, at most SOFT_GROUPS workgroups, each invocation striding through the items: lavapipe spends about
 * 0.5 µs per workgroup (a 2^20-element add as 4096 workgroups of 64 vec4s: 3.6 GB/s; as 64 striding
 * workgroups: 8.9 GB/s; 2 cores). The loop's start is per-invocation, so llvmpipe cannot unroll it. `wrap`
 * places the body's lines; `skip` ends the current item early (`continue` in the loop, `return` without one).
 */
export function elementLoop(units: number, wg: number, maxDim: number, software: boolean):
  { workgroups: [number, number, number]; wrap: (body: string[]) => string; skip: string } {
  const indent = (body: string[], by: string): string => body.flatMap((l) => l.split('\n')).map((l) => by + l).join('\n');
  if (software) {
    const groups = Math.max(1, Math.min(SOFT_GROUPS, maxDim, Math.ceil(units / wg)));
    return { workgroups: [groups, 1, 1], skip: 'continue',
      wrap: (body) => `  for (var t = wid.x * ${u(wg)} + lid; t < ${u(units)}; t += ${u(groups * wg)}) {\n${indent(body, '    ')}\n  }` };
  }
  const d = dispatch1d(units, wg, maxDim);
  return { workgroups: d.workgroups, skip: 'return',
    wrap: (body) => `  let t = (wid.y * ${u(d.nx)} + wid.x) * ${u(wg)} + lid;\n  if (t >= ${u(units)}) { return; }\n${indent(body, '  ')}` };
}
/** Workgroups of a software adapter's generic kernel: a few per CPU thread for balance (2 cores: 16–64 best). */
const SOFT_GROUPS = 64;

/** Header: `enable f16;` when needed, plus an output binding declaration. */
export function header(f16: boolean): string { return f16 ? 'enable f16;\n' : ''; }

export function outDecl(binding: number, dtype: DType, name = 'out', atomic = false): string {
  return `@group(0) @binding(${binding}) var<storage, read_write> ${name}: array<${atomic ? 'atomic<u32>' : sty(dtype)}>;`;
}

/** Store expression converting a value of compute type to the buffer's storage type. */
export function storeConv(dtype: DType, v: string): string { return dtype === 'f16' ? `f16(${v})` : v; }
