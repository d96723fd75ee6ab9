// compileProgram: IR graph → Program. rewrite (internal stats/cast nodes) → fusion plan → one kernel per
// materialized node in topological order (the schedule) → liveness-based memory plan → plain-data Program.
// Kernels over the storage-binding limit force more materialization and the plan is redone.

import '../ops/index.js';
import type { Node } from '../ir/node.js';
import { isFloat, numel, shapeStr } from '../ir/node.js';
import type { Graph } from '../ir/graph.js';
import type { KernelCaps } from './caps.js';
import { bytesOf, type BufferKind, type Program, type ProgramBuffer, type ProgramKernel } from './program.js';
import { rewrite } from '../passes/rewrite.js';
import { isLeaf, planFusion, storageRule, viewRoots, type FusionPlan } from '../passes/fusion.js';
import { planMemory, type PlanValue } from '../passes/memory.js';
import { emitCacheWriteInPlace, emitKernels, emitMapInPlace, type EmittedKernel } from './kernel.js';
import { emitSums, statsOfNorm, type RowEnv } from './rows.js';
import { pairKV } from './attention-grad.js';
import { sameShape } from './expr.js';
import { getOp } from '../ops/registry.js';

export interface CompileOptions {
  outputs: string[];
  caps: KernelCaps;
  precision?: 'f32' | 'f16';
}

class OverLimit extends Error { constructor(readonly culprits: Node[]) { super('binding limit'); } }
class Rebuild extends Error { constructor(readonly inPlace: Map<Node, Node>) { super('in-place assigns found'); } }

export function compileProgram(graph: Graph, opts: CompileOptions): Program {
  const precision = opts.precision === 'f16' && opts.caps.f16 ? 'f16' : 'f32';
  const outNames = new Set(opts.outputs);
  const rootNodes = new Set<Node>([...opts.outputs].map((n) => graph.outputs.get(n)!).filter(Boolean));
  for (const v of graph.assigns.values()) rootNodes.add(v);
  const pre = storageRule(precision, opts.caps.f16, (n) => rootNodes.has(n));
  const rw = rewrite(graph, opts.outputs, (x) => precision === 'f16' && isFloat(x.dtype) && pre(x) !== 'f16', { splitK: !opts.caps.software });
  const views = viewRoots(rw.order, [...rw.roots.values(), ...rw.assigns.map(([, v]) => v)]);
  const roots = new Set<Node>(views.values());
  // Whatever is computed from a keepF32 leaf (the optimizer's moments and scalars) stays f32 in f16 mode.
  const keepF32 = new Set<Node>();
  for (const n of rw.order) {
    if (graph.leaves.get(n)?.keepF32 || n.inputs.some((x) => keepF32.has(x))) keepF32.add(n);
  }
  const storage = storageRule(precision, opts.caps.f16, (n) => roots.has(n) || views.has(n) || keepF32.has(n));
  const limit = opts.caps.limits.maxStorageBuffersPerShaderStage;
  const force = new Set<Node>();
  let ewInPlace: Map<Node, Node> | null = null;
  for (let attempt = 0; ; attempt++) {
    const plan = planFusion(rw.order, roots, storage, force);
    try {
      return build(graph, rw, plan, opts, precision, limit, outNames, ewInPlace);
    } catch (e) {
      if (e instanceof Rebuild) { ewInPlace = e.inPlace; continue; }
      if (!(e instanceof OverLimit) || attempt > 100) throw e;
      const before = force.size;
      for (const c of e.culprits) force.add(c);
      if (force.size === before) throw new Error('compileProgram: cannot split kernels under the storage-buffer limit');
      ewInPlace = null;
    }
  }
}

/**
 * Where to cut n's fused tree so every piece reads at most `budget` buffers: bottom-up, each inline node's
 * buffer set (a cut child counts as one buffer); when a node's set outgrows the budget, its largest inline
 * children are cut first. One pass finds all the cuts (a long add chain splits into budget-sized pieces).
 */
function splitPoints(n: Node, plan: FusionPlan, budget: number): Node[] {
  const cuts: Node[] = [];
  const sets = new Map<Node, Set<Node>>();
  const mm = plan.epilogue.get(n);
  const visit = (x: Node): Set<Node> => {
    const hit = sets.get(x);
    if (hit) return hit;
    if (x !== n && (plan.isBuffer(x) || x === mm)) { const one = new Set<Node>(x === mm ? [] : [x]); sets.set(x, one); return one; }
    const kids = [...new Set(x.inputs)].filter((i) => i !== mm);
    const kidSets = kids.map((i) => [i, visit(i)] as const);
    const union = (): Set<Node> => { const u = new Set<Node>(); for (const [, ks] of kidSets) for (const b of ks) u.add(b); return u; };
    let all = union();
    if (all.size > budget) {
      const inl = kidSets.filter(([i, ks]) => !plan.isBuffer(i) && ks.size > 1).sort((a, b) => b[1].size - a[1].size);
      for (const [i] of inl) {
        if (all.size <= budget) break;
        cuts.push(i);
        const single = new Set<Node>([i]);
        sets.set(i, single);
        kidSets.splice(kidSets.findIndex(([j]) => j === i), 1, [i, single]);
        all = union();
      }
    }
    sets.set(x, all);
    return all;
  };
  visit(n);
  return cuts;
}

/** Does n's kernel read `leaf` only at its own output index (through same-shape elementwise nodes)? */
function alignedUse(n: Node, leaf: Node, plan: FusionPlan): boolean {
  let ok = true;
  const seen = new Set<Node>();
  const visit = (x: Node, aligned: boolean): void => {
    if (x === leaf) { if (!aligned || !sameShape(leaf.shape, n.shape)) ok = false; return; }
    if (seen.has(x) || (x !== n && plan.isBuffer(x))) return;
    seen.add(x);
    let el = false;
    try { const d = getOp(x.op); el = d.kind === 'elementwise' && !!d.wgsl && x.op !== 'cast'; } catch { el = false; }
    const next = aligned && el && sameShape(x.shape, n.shape);
    for (const i of x.inputs) visit(i, next && sameShape(i.shape, n.shape));
  };
  visit(n, true);
  return ok;
}

function build(graph: Graph, rw: ReturnType<typeof rewrite>, plan: FusionPlan, opts: CompileOptions, precision: 'f32' | 'f16', limit: number, outNames: Set<string>, ewInPlace: Map<Node, Node> | null): Program {
  const maxDim = opts.caps.limits.maxComputeWorkgroupsPerDimension;
  // In-place cache writes: cache_write(leaf, x, pos) assigned back to that leaf, the leaf read by nothing else.
  const inPlace = new Map<Node, Node>();       // value → leaf
  for (const [leaf, v] of rw.assigns) {
    if (v.op === 'cache_write' && v.inputs[0] === leaf && (plan.consumers.get(leaf) ?? []).length === 1) inPlace.set(v, leaf);
  }
  // Kernels that write a second value: an attention forward its lse, a norm forward its row statistics, and
  // dk with dv (or dv with dk).
  const alsoWrites = new Map([...rw.order.filter((n) => n.op === '_attn_lse').map((l) => [l.inputs[0]!, l] as const), ...normStatsWriters(rw.order, plan)]);
  const kvWith = pairKV(rw.order, plan, opts.caps.software, limit);
  const written = new Set<Node>([...alsoWrites.values(), ...[...kvWith.values()].map((o) => o.outNode)]);
  let kernels: KernelEntry[] = [];
  const over: Node[] = [];
  for (const n of rw.order) {
    if (!plan.materialized.has(n) || isLeaf(n) || written.has(n)) continue;
    const ew = ewInPlace?.get(n);
    const ks: EmittedKernel[] = inPlace.has(n) ? [emitCacheWriteInPlace(n, plan, maxDim, opts.caps.software)]
      : ew ? [emitMapInPlace([n], [ew], plan, maxDim, opts.caps.software)]
      : emitKernels({ node: n, plan, caps: opts.caps, matmul: plan.epilogue.get(n), swapped: plan.swapped.get(n), alsoWrites: alsoWrites.get(n),
        kvWith: kvWith.get(n) });
    for (const [j, k] of ks.entries()) {
      const layout = k.layout ?? ['out', ...k.bound];
      if (layout.length > limit) {
        const cut = splitPoints(n, plan, limit - (layout.length - k.bound.length));
        if (!cut.length) throw new Error(`kernel for #${n.id} ${n.op} needs ${layout.length} storage buffers; the device allows ${limit}`);
        over.push(...cut);
        continue;
      }
      const members = j < ks.length - 1 ? [] : [...collectInline(n, plan)];
      const mm = plan.epilogue.get(n);
      if (mm && j === ks.length - 1) members.unshift(mm);
      const second = kvWith.get(n)?.outNode ?? alsoWrites.get(n);
      if (second && k.layout) members.push(...collectInline(second, plan), second);
      kernels.push({ k, node: n, layout, members, ...(second && k.layout ? { outs: [second] } : {}) });
    }
  }

  // Every over-limit kernel of this pass splits at once (one re-plan, not one per kernel).
  if (over.length) throw new OverLimit(over);

  // Elementwise assigns done in place: the value's map kernel reads its leaf only at its own index, and no
  // later kernel reads the leaf (its old value) again. Found on a first build, applied on a rebuild.
  if (ewInPlace === null) {
    const found = new Map<Node, Node>();
    const firstKernel = new Map<Node, number>();
    kernels.forEach((kk, i) => { if (!firstKernel.has(kk.node)) firstKernel.set(kk.node, i); });
    for (const [leaf, v] of rw.assigns) {
      const kv = firstKernel.get(v);
      if (kv === undefined || inPlace.has(v) || plan.epilogue.has(v) || plan.swapped.has(v) || !plan.materialized.has(v)) continue;
      if (!isFusableElementwise(v) || plan.storage(v) !== plan.storage(leaf) || [...found.values()].includes(leaf)) continue;
      if (kernels.slice(kv + 1).some((kk) => kk.layout.some((b) => b !== 'out' && plan.bufferOf(b) === leaf))) continue;
      if (!alignedUse(v, leaf, plan)) continue;
      found.set(v, leaf);
    }
    if (found.size) throw new Rebuild(found);
  }
  for (const [v, leaf] of ewInPlace ?? []) inPlace.set(v, leaf);
  if (ewInPlace?.size) kernels = mergeInPlaceUpdates(kernels, ewInPlace, plan, limit, maxDim, opts.caps.software);
  kernels = mergeSums(kernels, plan, limit, { maxDim, subgroups: opts.caps.subgroups, software: opts.caps.software });

  // Buffers: leaves first (persistent), then values through the memory plan.
  const buffers: ProgramBuffer[] = [];
  const bufOfNode = new Map<Node, number>();
  const leaves: Record<string, number> = {};
  // Every leaf of the graph gets its buffer, used or not, so params/state can always be set and read.
  const inOrder = new Set(rw.order);
  const leafNodes = [...rw.order.filter(isLeaf), ...[...graph.leaves.keys()].filter((l) => !inOrder.has(l))];
  for (const n of leafNodes) {
    const info = graph.leaves.get(n);
    const kind = (info?.kind ?? n.op) as BufferKind;
    const id = buffers.length;
    const st = plan.storage(n);
    const b: ProgramBuffer = { id, bytes: bytesOf(st, numel(n.shape)), dtype: st, shape: [...n.shape], kind, name: n.name };
    if (kind === 'const' && info?.value) b.data = Array.from(info.value);
    buffers.push(b);
    bufOfNode.set(n, id);
    if (n.name) leaves[n.name] = id;
  }
  for (const [v, leaf] of inPlace) bufOfNode.set(v, bufOfNode.get(leaf)!);
  const rootSet = new Set<Node>([...rw.roots.values(), ...rw.assigns.map(([, v]) => v)].map((r) => plan.bufferOf(r)));
  const values: PlanValue[] = [];
  const kernelOf = new Map<Node, number>();
  kernels.forEach((kk, i) => { for (const n of [...(kk.outs ?? []), kk.node]) if (!kernelOf.has(n)) kernelOf.set(n, i); });
  const lastUse = new Map<Node, number>();
  kernels.forEach((kk, i) => { for (const b of kk.layout) if (b !== 'out') lastUse.set(plan.bufferOf(b), i); });
  const valueNodes: Node[] = [];
  const isValue = new Set<Node>();
  for (const n of kernels.flatMap((kk) => [...(kk.outs ?? []), kk.node])) {
    if (bufOfNode.has(n) || isValue.has(n)) continue;
    isValue.add(n);
    const i = kernelOf.get(n)!;
    values.push({ key: valueNodes.length, bytes: bytesOf(plan.storage(n), numel(n.shape)), def: i, lastUse: Math.max(i, lastUse.get(n) ?? i), pinned: rootSet.has(n) });
    valueNodes.push(n);
  }
  const mem = planMemory(values, kernels.length);
  const slotBuf = new Map<number, number>();
  const outputNodes = new Map<Node, string>();
  for (const [name, n] of rw.roots) if (outNames.has(name)) outputNodes.set(plan.bufferOf(n), name);
  valueNodes.forEach((n, key) => {
    const s = mem.slot.get(key)!;
    let id = slotBuf.get(s);
    if (id === undefined) {
      id = buffers.length;
      slotBuf.set(s, id);
      const name = outputNodes.get(n);
      buffers.push({ id, bytes: mem.slotBytes[s]!, dtype: plan.storage(n), shape: [...n.shape], kind: name ? 'output' : 'temp', ...(name ? { name } : {}) });
    }
    bufOfNode.set(n, id);
  });

  const ids = (n: Node): number => rw.orig.get(n) ?? n.id;
  const pk: ProgramKernel[] = kernels.map(({ k, node, layout, members }) => ({
    name: k.name,
    wgsl: k.wgsl,
    nodes: [...members, node].map(ids),
    ops: [...members, node].map((m) => `#${ids(m)} ${m.op} ${m.dtype}${shapeStr(m.shape)}${m === node ? ' ->' : ''}`),
    bindings: layout.map((b) => {
      const id = bufOfNode.get(b === 'out' ? node : plan.bufferOf(b));
      if (id === undefined) throw new Error(`internal: no buffer for #${b === 'out' ? node.id : b.id}`);
      return id;
    }),
    workgroups: k.workgroups,
    ...(k.matmul ? { matmul: k.matmul } : {}),
  }));
  const outputs: Record<string, number> = {};
  for (const [name, n] of rw.roots) {
    const id = bufOfNode.get(plan.bufferOf(n));
    if (id === undefined) throw new Error(`internal: output '${name}' has no buffer`);
    outputs[name] = id;
  }
  const assigns = rw.assigns.map(([leaf, v]) => ({
    target: bufOfNode.get(leaf)!, value: bufOfNode.get(plan.bufferOf(v))!, inPlace: inPlace.has(v), name: leaf.name ?? `#${leaf.id}`,
  })).filter((a) => a.inPlace || a.target !== a.value);
  const tempUnplanned = mem.unplannedBytes;
  return {
    precision, buffers, kernels: pk, assigns, outputs, leaves,
    peakBytes: buffers.reduce((a, b) => a + b.bytes, 0),
    tempBytesUnplanned: tempUnplanned,
  };
}

/** Norm forwards (materialized, computed before) → the `_norm_stats` node of the same rows that their kernel writes. */
function normStatsWriters(order: readonly Node[], plan: FusionPlan): Map<Node, Node> {
  const out = new Map<Node, Node>();
  const seen: Node[] = [];                       // materialized nodes so far: a writer must come first
  for (const n of order) {
    if (n.op === '_norm_stats') {
      const norm = seen.find((m) => !out.has(m) && statsOfNorm(m, n));
      if (norm) out.set(norm, n);
    } else if (plan.materialized.has(n) && !plan.epilogue.has(n) && !plan.swapped.has(n)) seen.push(n);
  }
  return out;
}

interface KernelEntry {
  k: EmittedKernel; node: Node; layout: (Node | 'out')[]; members: Node[];
  /** Other values this kernel writes (bound read-write in `layout`), defined here like `node`. */
  outs?: Node[];
}

/** Runs of consecutive entries that `joins` accepts, grown while `fits` holds; each run of 2+ becomes `merge(run)`. */
function mergeRuns(kernels: KernelEntry[], joins: (e: KernelEntry) => boolean, fits: (run: KernelEntry[]) => boolean,
  merge: (run: KernelEntry[]) => KernelEntry): KernelEntry[] {
  const out: KernelEntry[] = [];
  let run: KernelEntry[] = [];
  const flush = (): void => {
    if (run.length > 1) out.push(merge(run)); else out.push(...run);
    run = [];
  };
  for (const e of kernels) {
    if (!joins(e)) { flush(); out.push(e); continue; }
    if (run.length && !fits([...run, e])) flush();
    run.push(e);
  }
  flush();
  return out;
}

/**
 * Consecutive in-place elementwise updates, whatever their sizes, become one kernel (emitMapInPlace): AdamW's
 * parameter, m and v updates, and small parameters' updates together. Allowed when the merged kernel stays
 * under the binding limit and every leaf one update writes is read by the others only at its own index.
 */
function mergeInPlaceUpdates(kernels: KernelEntry[], inPlace: Map<Node, Node>, plan: FusionPlan, limit: number, maxDim: number, software: boolean): KernelEntry[] {
  const buffersOf = (e: KernelEntry): Node[] => e.layout.map((b) => (b === 'out' ? inPlace.get(e.node)! : plan.bufferOf(b)));
  const fits = (group: KernelEntry[]): boolean => {
    if (new Set(group.flatMap(buffersOf)).size > limit) return false;
    for (const w of group) {
      const leaf = inPlace.get(w.node)!;
      for (const r of group) if (r !== w && buffersOf(r).includes(leaf) && !alignedUse(r.node, leaf, plan)) return false;
    }
    return true;
  };
  return mergeRuns(kernels, (e) => inPlace.has(e.node), fits, (run) => {
    const values = run.map((e) => e.node);
    const k = emitMapInPlace(values, values.map((v) => inPlace.get(v)!), plan, maxDim, software);
    return { k, node: values[values.length - 1]!, layout: k.layout, members: [...run.flatMap((e) => e.members), ...values.slice(0, -1)] };
  });
}

/**
 * Consecutive sums (of everything, or row sums over a last axis of at least 128: the global norm's
 * per-parameter sums and their two-stage partials) become one kernel with a workgroup per row (emitSums),
 * within the binding limit, when none reads another.
 */
function mergeSums(kernels: KernelEntry[], plan: FusionPlan, limit: number, env: RowEnv): KernelEntry[] {
  const rowSum = (n: Node): boolean => {
    if (n.op !== 'sum') return false;
    if (numel(n.shape) === 1) return true;
    const x = n.inputs[0]!, r = x.shape.length, axes = (n.attrs.axes as number[] | undefined) ?? [];
    return axes.length === 1 && (axes[0]! + r) % r === r - 1 && x.shape[r - 1]! >= 128;
  };
  const isSum = (e: KernelEntry): boolean => rowSum(e.node) && !plan.epilogue.has(e.node) && !e.outs && e.layout[0] === 'out' && !e.k.layout;
  const inputs = (e: KernelEntry): Node[] => e.layout.slice(1).map((b) => plan.bufferOf(b as Node));
  const fits = (group: KernelEntry[]): boolean => {
    const outsSet = new Set(group.map((e) => e.node));
    const ins = new Set(group.flatMap(inputs));
    return group.length + ins.size <= limit && ![...ins].some((x) => outsSet.has(x));
  };
  return mergeRuns(kernels, isSum, fits, (run) => {
    const nodes = run.map((e) => e.node);
    const k = emitSums(nodes, plan, env);
    return { k, node: nodes[nodes.length - 1]!, layout: k.layout, members: [...run.flatMap((e) => e.members), ...nodes.slice(0, -1)], outs: nodes.slice(0, -1) };
  });
}

function isFusableElementwise(n: Node): boolean {
  try { const d = getOp(n.op); return d.kind === 'elementwise' && !!d.wgsl && n.op !== 'scalar'; } catch { return false; }
}

/** Nodes computed inline in n's kernel (post-order), found by walking non-buffer inputs. */
function collectInline(n: Node, plan: FusionPlan): Node[] {
  const out: Node[] = [];
  const seen = new Set<Node>();
  const mm = plan.epilogue.get(n);
  const visit = (x: Node): void => {
    if (seen.has(x) || x === mm) return;
    seen.add(x);
    if (x !== n && plan.isBuffer(x)) return;
    for (const i of x.inputs) visit(i);
    if (x !== n) out.push(x);
  };
  visit(n);
  return out;
}
