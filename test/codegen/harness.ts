// Test harness for codegen: compile a graph, run it on the real adapter with temps/outputs poisoned (NaN),
// and compare every requested output with the CPU reference interpreter, scaled by the output's magnitude.
import { expect } from 'vitest';
import type { Graph } from '../../compiler/ir/graph.js';
import type { Node } from '../../compiler/ir/node.js';
import { compileProgram } from '../../compiler/codegen/compile.js';
import type { Program } from '../../compiler/codegen/program.js';
import { evaluate } from '../../runtime/reference.js';
import { Executor } from '../../runtime/executor.js';
import { kernelCaps, type KernelCaps } from '../../compiler/codegen/caps.js';
import type { GpuDevice } from '../../runtime/device.js';

export { rand, randInt, randomFeeds } from './harness-data.js';

export interface RunResult { program: Program; gpu: Map<string, Float32Array | Int32Array>; ref: Map<string, Float64Array>; assigns: Map<string, Float32Array | Int32Array> }

/** `caps` overrides what the compiler is told about the adapter (e.g. software: false, to emit a GPU's kernels here). */
export async function runGraph(dev: GpuDevice, g: Graph, outputs: string[], feeds: Map<string, Float64Array>, precision: 'f32' | 'f16' = 'f32', steps = 1,
  caps: KernelCaps = kernelCaps(dev.caps)): Promise<RunResult> {
  const program = compileProgram(g, { outputs, caps, precision });
  const ex = await Executor.create(dev, program);
  try {
    for (const [n, info] of g.leaves) {
      const data = feeds.get(n.name!);
      if (!data || info.kind === 'const' || !ex.hasLeaf(n.name!)) continue;
      const arr = n.dtype === 'i32' || n.dtype === 'u32' ? Int32Array.from(data) : Float32Array.from(data);
      ex.setInput(n.name!, arr);
    }
    for (let s = 0; s < steps; s++) { ex.poison(); await ex.step(); }
    const gpu = new Map<string, Float32Array | Int32Array>();
    for (const o of outputs) gpu.set(o, await ex.readOutput(o));
    const assigns = new Map<string, Float32Array | Int32Array>();
    for (const t of g.assigns.keys()) assigns.set(t.name!, await ex.readState(t.name!));
    if (process.env.MM_TIME) console.log("gpu done", Date.now());
    const nodes: Node[] = outputs.map((o) => g.outputs.get(o)!);
    const vals = evaluate(g, feeds, [...nodes, ...g.assigns.values()], { precision: 'f32' });
    const ref = new Map<string, Float64Array>();
    outputs.forEach((o, i) => ref.set(o, vals.get(nodes[i]!)!.data));
    for (const [t, v] of g.assigns) ref.set(`assign:${t.name}`, vals.get(v)!.data);
    return { program, gpu, ref, assigns };
  } finally { ex.destroy(); }
}

/** max |a − b| ≤ tol · max(1, max |b|); NaN anywhere fails. */
export function expectClose(a: ArrayLike<number>, b: ArrayLike<number>, tol: number, what = ''): void {
  expect(a.length, `${what} length`).toBe(b.length);
  let scale = 1, worst = 0, at = -1;
  for (let i = 0; i < b.length; i++) scale = Math.max(scale, Math.abs(b[i]!));
  for (let i = 0; i < b.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (!(d <= worst) ) { worst = Number.isNaN(d) ? Infinity : d; at = i; if (Number.isNaN(d)) break; }
  }
  if (!(worst <= tol * scale)) {
    throw new Error(`${what}: max error ${worst} at ${at} (gpu ${a[at]}, ref ${b[at]}) > ${tol}·${scale}`);
  }
}

/** Run and compare every output. */
export async function check(dev: GpuDevice, g: Graph, outputs: string[], feeds: Map<string, Float64Array>, tol = 1e-5, precision: 'f32' | 'f16' = 'f32',
  caps?: KernelCaps): Promise<RunResult> {
  const t0 = Date.now();
  const r = await runGraph(dev, g, outputs, feeds, precision, 1, caps);
  if (process.env.MM_TIME) console.log("runGraph", Date.now() - t0);
  for (const o of outputs) expectClose(r.gpu.get(o)!, r.ref.get(o)!, tol, o);
  for (const [t] of g.assigns) expectClose(r.assigns.get(t.name!)!, r.ref.get(`assign:${t.name}`)!, tol, `assign ${t.name}`);
  return r;
}
