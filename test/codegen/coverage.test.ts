// Every registered op has a GPU path (dedicated, generic per-element, or fused into consumers), and the row
// kernels run with and without subgroup operations.
import { beforeAll, describe, expect, it } from 'vitest';
import '../../compiler/ops/index.js';
import { allOps } from '../../compiler/ops/registry.js';
import { kernelCoverage } from '../../compiler/codegen/kernel.js';
import { Graph } from '../../compiler/ir/graph.js';
import { compileProgram } from '../../compiler/codegen/compile.js';
import { kernelCaps } from '../../compiler/codegen/caps.js';
import { Executor } from '../../runtime/executor.js';
import { evaluateStep } from '../../runtime/reference.js';
import { openDevice, type GpuDevice } from '../../runtime/device.js';
import { check, expectClose, randomFeeds } from './harness.js';

let dev: GpuDevice;
beforeAll(async () => { dev = await openDevice(); });

describe('coverage', () => {
  it('every op runs on the GPU', () => {
    const missing = allOps().filter((d) => d.kind !== 'leaf' && kernelCoverage(d.name) === null).map((d) => d.name);
    expect(missing).toEqual([]);
  });

  it('activation backward ops (elementwise with wgsl) match the reference', async () => {
    const g = new Graph();
    const x = g.input('x', [3, 17]), dy = g.input('dy', [3, 17]);
    const names: string[] = [];
    for (const op of ['silu_grad', 'gelu_tanh_grad', 'gelu_erf_grad']) { g.output(op, g.op(op, [x, dy])); names.push(op); }
    await check(dev, g, names, randomFeeds(g));
  });

  it('row kernels with and without subgroups agree with the reference', async () => {
    const g = new Graph();
    const x = g.input('x', [5, 300]), w = g.input('w', [300]);
    g.output('sm', g.softmax(x, -1));
    g.output('rms', g.rmsnorm(x, w));
    g.output('s', g.sum(x, [1]));
    const feeds = randomFeeds(g);
    const ref = evaluateStep(g, feeds, { precision: 'f32' }).outputs;
    const base = kernelCaps(dev.caps);
    for (const subgroups of dev.caps.subgroups ? [false, true] : [false]) {
      const p = compileProgram(g, { outputs: ['sm', 'rms', 's'], caps: { ...base, subgroups } });
      expect(p.kernels.some((k) => k.wgsl.includes('subgroupAdd'))).toBe(subgroups);
      const ex = await Executor.create(dev, p);
      ex.setInput('x', Float32Array.from(feeds.get('x')!));
      ex.setInput('w', Float32Array.from(feeds.get('w')!));
      ex.poison();
      await ex.step();
      for (const o of ['sm', 'rms', 's']) expectClose(await ex.readOutput(o), ref.get(o)!.data, 1e-5, `${o} subgroups=${subgroups}`);
      ex.destroy();
    }
  });
});
