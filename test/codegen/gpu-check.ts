// Standalone GPU check (no vitest): the transformer block forward + backward, f32 and f16, plus a few row and
// attention kernels, against the CPU reference on whatever adapter is present. Prints one line per case and
// exits 1 on any mismatch. Run: node --import tsx test/codegen/gpu-check.ts
import { Graph } from '../../compiler/ir/graph.js';
import { grad } from '../../compiler/autodiff/grad.js';
import { compileProgram } from '../../compiler/codegen/compile.js';
import { evaluate } from '../../runtime/reference.js';
import { Executor } from '../../runtime/executor.js';
import { kernelCaps } from '../../compiler/codegen/caps.js';
import { openDevice } from '../../runtime/device.js';
import { block } from './models.js';
import { randomFeeds } from './harness-data.js';

const dev = await openDevice();
const fullCaps = kernelCaps(dev.caps);
let caps = fullCaps;
console.log(`adapter: ${dev.caps.vendor} ${dev.caps.device} f16=${caps.f16} subgroups=${caps.subgroups} sg=${dev.caps.subgroupMinSize}-${dev.caps.subgroupMaxSize} storageBuffers=${caps.limits.maxStorageBuffersPerShaderStage}`);
let bad = 0;

async function run(name: string, g: Graph, outputs: string[], feeds: Map<string, Float64Array>, tol: number, precision: 'f32' | 'f16'): Promise<void> {
  try {
    const p = compileProgram(g, { outputs, caps, precision });
    const ex = await Executor.create(dev, p);
    for (const [n, info] of g.leaves) {
      const d = feeds.get(n.name!);
      if (!d || info.kind === 'const' || !ex.hasLeaf(n.name!)) continue;
      ex.setInput(n.name!, n.dtype === 'i32' ? Int32Array.from(d) : Float32Array.from(d));
    }
    ex.poison();
    const t0 = performance.now();
    await ex.step();
    const ms = performance.now() - t0;
    const vals = evaluate(g, feeds, outputs.map((o) => g.outputs.get(o)!), { precision: 'f32' });
    let worst = 0, wname = '';
    for (const o of outputs) {
      const a = await ex.readOutput(o), b = vals.get(g.outputs.get(o)!)!.data;
      let scale = 1, e = 0;
      for (let i = 0; i < b.length; i++) scale = Math.max(scale, Math.abs(b[i]!));
      for (let i = 0; i < b.length; i++) { const d = Math.abs(a[i]! - b[i]!); e = Number.isNaN(d) ? Infinity : Math.max(e, d); }
      if (e / scale > worst) { worst = e / scale; wname = o; }
    }
    ex.destroy();
    const ok = worst <= tol;
    if (!ok) bad++;
    console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}: ${p.kernels.length} kernels, rel err ${worst.toExponential(2)} (${wname}), step ${ms.toFixed(1)} ms, variants ${[...new Set(p.kernels.map((k) => k.name))].join(' ')}`);
  } catch (e) { bad++; console.log(`FAIL ${name}: ${(e as Error).message.slice(0, 2000)}`); }
}

const ar = (n: number): Float64Array => Float64Array.from({ length: n }, (_, i) => i);
for (const [precision, sgmat] of [['f32', true], ['f16', true], ['f16', false]] as const) {
  caps = sgmat ? fullCaps : { ...fullCaps, subgroupMatrixConfigs: [] };
  for (const [B, T, D, H, Hkv, F] of [[2, 12, 32, 4, 2, 48], [2, 64, 128, 4, 2, 256]] as const) {
    const g = new Graph();
    const { x, y, params } = block(g, B, T, D, H, Hkv, F);
    const r = g.input('r', y.shape);
    const loss = g.sum(g.mul(y, r), [0, 1, 2]);
    g.output('y', y);
    g.output('loss', loss);
    const outs = ['y', 'loss'];
    for (const [n, gn] of grad(g, loss, [x, ...params])) { g.output(`grad:${n.name}`, gn); outs.push(`grad:${n.name}`); }
    // Whole fwd+bwd chains of ~50 kernels: f32 tolerance 5e-5 of the largest magnitude (single kernels: 1e-5).
    await run(`block ${precision}${sgmat ? '' : ' (no subgroup matrices)'} B${B} T${T} D${D}`, g, outs, randomFeeds(g, 1, 4, { pos: ar(T) }), precision === 'f32' ? 5e-5 : 2e-2, precision);
  }
}
caps = fullCaps;
{
  const g = new Graph();
  const x = g.input('x', [7, 1000]), w = g.input('w', [1000]), t = g.input('t', [7], 'i32');
  g.output('sm', g.softmax(x, -1)); g.output('ln', g.layernorm(x, w, w)); g.output('ce', g.crossEntropy(x, t)); g.output('s', g.sum(x, [0]));
  await run('rows', g, ['sm', 'ln', 'ce', 's'], randomFeeds(g, 3, 1000), 1e-5, 'f32');
}
// The tiny text spec's whole training step (AdamW in place, scatter_add for the embedding) and a decode step.
{
  const { readFileSync } = await import('node:fs');
  const { check: checkSpec, lowerTrainStep, lowerInference } = await import('../../compiler/compile.js');
  const { initLeaf } = await import('../../compiler/ir/init.js');
  const { numel } = await import('../../compiler/ir/node.js');
  const { rand, randInt } = await import('./harness-data.js');
  const spec = (checkSpec(readFileSync('specs/tiny-text.mm', 'utf8'), 'specs/tiny-text.mm') as { value: any }).value;
  const feedsFor = (g: Graph, special: (name: string, n: number) => Float64Array | null): Map<string, Float64Array> => {
    const f = new Map<string, Float64Array>();
    for (const [n, info] of g.leaves) {
      if (info.kind === 'const') continue;
      f.set(n.name!, special(n.name!, numel(n.shape)) ?? ((info.kind === 'param' || info.kind === 'state') && info.init ? initLeaf(n.name!, n.shape, info.init, 0)
        : n.dtype === 'i32' ? randInt(numel(n.shape), 7, 0, 4) : rand(numel(n.shape), 7, 0, 1)));
    }
    return f;
  };
  const tg = lowerTrainStep(spec);
  await run('tiny-text train step', tg, ['loss', 'grad_norm'], feedsFor(tg, () => null), 1e-5, 'f32');
  const dg = lowerInference(spec.model, { B: 1, Tn: 1, Tmax: 16, maxImages: 0 });
  await run('tiny-text decode step', dg, ['logits'], feedsFor(dg, (name, n) => name === 'cache_pos' ? Float64Array.of(4)
    : name === 'positions' ? Float64Array.of(4) : name === 'cache_seg' ? Float64Array.from({ length: n }, (_, i) => (i < 5 ? 0 : -1))
    : name.startsWith('cache.') ? rand(n, 5, -1, 1) : null), 1e-5, 'f32');
}
console.log(bad ? `${bad} FAILED` : 'all ok');
dev.destroy();
process.exit(bad ? 1 : 0);
