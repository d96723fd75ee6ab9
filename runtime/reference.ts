// The CPU reference interpreter: evaluates IR nodes with each op's plain f64 `ref` from compiler/ops. It is
// the oracle every WGSL kernel is tested against, so it favours clarity over speed: only the nodes the
// requested outputs need are evaluated (in id order, which is topological), each once.
// precision 'f32' rounds every float result to its dtype (f32 via Math.fround, f16 via f16round).

import { f16round } from '@petamoriken/float16';
import '../compiler/ops/index.js';
import type { DType, Node } from '../compiler/ir/node.js';
import { numel } from '../compiler/ir/node.js';
import type { Graph } from '../compiler/ir/graph.js';
import { getOp, type RefTensor } from '../compiler/ops/registry.js';
import { initLeaf } from '../compiler/ir/init.js';

export type { RefTensor };
export type Feed = Float64Array | RefTensor;
export interface EvalOptions {
  precision?: 'f64' | 'f32';
  /** Seed for params/state that are not fed (initialised from their Init); default 0. */
  seed?: number;
}

/** Round a value to what a tensor of `dtype` can hold (ints always; floats only when simulating f32). */
function rounder(dtype: DType, simulate: boolean): ((x: number) => number) | null {
  if (dtype === 'i32') return (x) => Math.trunc(x) | 0;
  if (dtype === 'u32') return (x) => Math.trunc(x) >>> 0;
  if (!simulate) return null;
  return dtype === 'f16' ? f16round : Math.fround;
}

function leafValue(graph: Graph, n: Node, feeds: ReadonlyMap<string, Feed>, opts: EvalOptions): Float64Array {
  const fed = feeds.get(n.name!);
  const info = graph.leaves.get(n);
  let data: Float64Array | undefined;
  if (fed) data = fed instanceof Float64Array ? fed : fed.data;
  else if (info?.kind === 'const') data = info.value;
  else if ((info?.kind === 'param' || info?.kind === 'state') && info.init) data = initLeaf(n.name!, n.shape, info.init, opts.seed ?? 0);
  if (!data) throw new Error(`reference: no value fed for ${info?.kind ?? 'leaf'} "${n.name}"`);
  if (data.length !== numel(n.shape)) throw new Error(`reference: "${n.name}" needs ${numel(n.shape)} values, got ${data.length}`);
  return data;
}

/** Evaluate `outputs` (and everything they depend on). Leaves come from `feeds` by name. */
export function evaluate(graph: Graph, feeds: ReadonlyMap<string, Feed>, outputs: readonly Node[], opts: EvalOptions = {}): Map<Node, RefTensor> {
  const simulate = opts.precision === 'f32';
  // The set of needed nodes, then evaluation in id order.
  const need = new Set<Node>();
  const stack = [...outputs];
  while (stack.length) {
    const n = stack.pop()!;
    if (need.has(n)) continue;
    need.add(n);
    stack.push(...n.inputs);
  }
  const values = new Map<Node, RefTensor>();
  for (const n of [...need].sort((a, b) => a.id - b.id)) {
    let data: Float64Array;
    if (graph.leaves.has(n)) data = Float64Array.from(leafValue(graph, n, feeds, opts));
    else {
      const ins = n.inputs.map((i) => values.get(i)!);
      data = getOp(n.op).ref(ins, n.attrs, { shape: n.shape, dtype: n.dtype });
      if (data.length !== numel(n.shape)) throw new Error(`reference: op '${n.op}' produced ${data.length} values for shape [${n.shape.join(', ')}]`);
    }
    const round = rounder(n.dtype, simulate);
    if (round) data = data.map(round);
    values.set(n, { shape: n.shape, dtype: n.dtype, data });
  }
  return values;
}

/** One step: every named output, and the new value of every assigned leaf (by leaf name). */
export function evaluateStep(graph: Graph, feeds: ReadonlyMap<string, Feed>, opts: EvalOptions = {}): { outputs: Map<string, RefTensor>; assigns: Map<string, RefTensor> } {
  const roots = [...graph.outputs.values(), ...graph.assigns.values()];
  const vals = evaluate(graph, feeds, roots, opts);
  const outputs = new Map<string, RefTensor>();
  for (const [name, n] of graph.outputs) outputs.set(name, vals.get(n)!);
  const assigns = new Map<string, RefTensor>();
  for (const [t, v] of graph.assigns) assigns.set(t.name!, vals.get(v)!);
  return { outputs, assigns };
}

/** A RefTensor from plain numbers (tests and tools). */
export function tensor(shape: readonly number[], data: ArrayLike<number>, dtype: DType = 'f32'): RefTensor {
  return { shape, dtype, data: Float64Array.from(data) };
}
