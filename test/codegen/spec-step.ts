// End-to-end helper: a spec's graph compiled and run for one step on the real adapter against the CPU
// reference (outputs and every assigned leaf). Used by specs-train.test.ts and specs-decode.test.ts.
import { readFileSync } from 'node:fs';
import { check as checkSpec } from '../../compiler/compile.js';
import { compileProgram } from '../../compiler/codegen/compile.js';
import type { Graph } from '../../compiler/ir/graph.js';
import { numel } from '../../compiler/ir/node.js';
import { initLeaf } from '../../compiler/ir/init.js';
import type { GpuDevice } from '../../runtime/device.js';
import { kernelCaps } from '../../compiler/codegen/caps.js';
import { Executor } from '../../runtime/executor.js';
import { evaluateStep } from '../../runtime/reference.js';
import { expectClose, rand, randInt } from './harness.js';


export const spec = () => {
  const r = checkSpec(readFileSync('specs/tiny-text.mm', 'utf8'), 'specs/tiny-text.mm');
  if (!r.value) throw new Error(JSON.stringify(r.diagnostics));
  return r.value;
};

export async function runStep(dev: GpuDevice, g: Graph, outputs: string[], feed: (name: string, n: number, kind: string) => Float64Array | null) {
  const p = compileProgram(g, { outputs, caps: kernelCaps(dev.caps) });
  const ex = await Executor.create(dev, p);
  const feeds = new Map<string, Float64Array>();
  for (const [n, info] of g.leaves) {
    if (info.kind === 'const') continue;
    const d = feed(n.name!, numel(n.shape), info.kind) ?? ((info.kind === 'param' || info.kind === 'state') && info.init ? initLeaf(n.name!, n.shape, info.init, 0)
      : n.dtype === 'i32' ? randInt(numel(n.shape), 7, 0, 4) : rand(numel(n.shape), 7, 0, 1));
    feeds.set(n.name!, d);
    if (ex.hasLeaf(n.name!)) ex.setInput(n.name!, n.dtype === 'i32' ? Int32Array.from(d) : Float32Array.from(d));
  }
  ex.poison();
  await ex.step();
  const ref = evaluateStep(g, feeds, { precision: 'f32' });
  for (const o of outputs) expectClose(await ex.readOutput(o), ref.outputs.get(o)!.data, 1e-5, o);
  // Adam's first step moves each weight by ≈ lr·sign(g): where |g| is near 0 the sign is ill-conditioned,
  // so params get a looser bound than the moments (which are linear in g).
  for (const [name, v] of ref.assigns) {
    const isParam = g.leaves.get(g.byName.get(name)!)?.kind === 'param';
    expectClose(await ex.readState(name), v.data, isParam ? 1e-3 : 1e-5, `assign ${name}`);
  }
  ex.destroy();
  return p;
}

