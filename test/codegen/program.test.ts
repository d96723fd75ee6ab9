// Program-level behaviour: binding-limit splitting, dispatches past the per-dimension limit, temp reuse by
// the memory planner, multi-step execution with assigns (an SGD loop vs the reference), text forms.
import { beforeAll, describe, expect, it } from 'vitest';
import { Graph } from '../../compiler/ir/graph.js';
import type { Node } from '../../compiler/ir/node.js';
import { compileProgram } from '../../compiler/codegen/compile.js';
import { check as checkSpec, lowerTrainStep, render } from '../../compiler/compile.js';
import * as fs from 'node:fs';
import { programKernelsText, programWgslText } from '../../compiler/codegen/program.js';
import { CPU_SAFE_CAPS, type KernelCaps } from '../../compiler/codegen/caps.js';
import { evaluateStep } from '../../runtime/reference.js';
import { Executor } from '../../runtime/executor.js';
import { kernelCaps } from '../../compiler/codegen/caps.js';
import { openDevice, type GpuDevice } from '../../runtime/device.js';
import { check, expectClose, rand, randomFeeds, runGraph } from './harness.js';

let dev: GpuDevice;
let caps: KernelCaps;
beforeAll(async () => { dev = await openDevice(); caps = kernelCaps(dev.caps); });

const withLimits = (c: KernelCaps, l: Partial<KernelCaps['limits']>): KernelCaps => ({ ...c, limits: { ...c.limits, ...l } });

describe('program', () => {
  it('splits a kernel that would exceed the storage-buffer limit', async () => {
    const g = new Graph();
    const xs: Node[] = Array.from({ length: 9 }, (_, i) => g.input(`x${i}`, [50]));
    let acc = xs[0]!;
    for (const x of xs.slice(1)) acc = g.add(g.mul(acc, x), g.exp(x));
    g.output('y', acc);
    const tight = withLimits(caps, { maxStorageBuffersPerShaderStage: 4 });
    const p = compileProgram(g, { outputs: ['y'], caps: tight });
    for (const k of p.kernels) expect(k.bindings.length).toBeLessThanOrEqual(4);
    expect(p.kernels.length).toBeGreaterThan(1);
    // Run that program on the device (the device's own limit is larger; the split program must still be right).
    const ex = await Executor.create(dev, p);
    const feeds = randomFeeds(g);
    for (const [name, v] of feeds) ex.setInput(name, Float32Array.from(v));
    ex.poison();
    await ex.step();
    const ref = evaluateStep(g, feeds, { precision: 'f32' }).outputs.get('y')!.data;
    expectClose(await ex.readOutput('y'), ref, 1e-5, 'y');
    ex.destroy();
  });

  it('concatenates many materialized parts within the binding limit', async () => {
    const g = new Graph();
    const parts = Array.from({ length: 15 }, (_, i) => g.input(`p${i}`, [2, i + 1]));
    g.output('y', g.concat(parts, 1));
    const p = compileProgram(g, { outputs: ['y'], caps: withLimits(caps, { maxStorageBuffersPerShaderStage: 8 }) });
    for (const k of p.kernels) expect(k.bindings.length).toBeLessThanOrEqual(8);
    const ex = await Executor.create(dev, p);
    const feeds = randomFeeds(g);
    for (const [name, v] of feeds) ex.setInput(name, Float32Array.from(v));
    ex.poison();
    await ex.step();
    expectClose(await ex.readOutput('y'), evaluateStep(g, feeds, { precision: 'f32' }).outputs.get('y')!.data, 1e-5, 'y');
    ex.destroy();
  });

  it('splits large 1-D dispatches over x and y', async () => {
    const g = new Graph();
    const x = g.input('x', [3, 1000]);
    g.output('y', g.mul(g.exp(x), g.scalar(0.5)));
    g.output('s', g.softmax(g.reshape(x, [3000, 1]), 0));
    // GPU kernels spill into y; a software adapter's generic kernel strides over at most maxDim workgroups.
    for (const software of [false, true]) {
      const tight = withLimits({ ...caps, software }, { maxComputeWorkgroupsPerDimension: 7 });
      const p = compileProgram(g, { outputs: ['y', 's'], caps: tight });
      for (const k of p.kernels) for (const d of k.workgroups) expect(d).toBeLessThanOrEqual(7);
      expect(p.kernels.some((k) => k.workgroups[1] > 1)).toBe(!software);
      expect(p.kernels.some((k) => k.wgsl.includes('for (var t = wid.x * 64u + lid; t < ')), 'strided generic kernel').toBe(software);
      const ex = await Executor.create(dev, p);
      const feeds = randomFeeds(g);
      ex.setInput('x', Float32Array.from(feeds.get('x')!));
      ex.poison();
      await ex.step();
      const ref = evaluateStep(g, feeds, { precision: 'f32' }).outputs;
      expectClose(await ex.readOutput('y'), ref.get('y')!.data, 1e-5, 'y');
      expectClose(await ex.readOutput('s'), ref.get('s')!.data, 1e-5, 's');
      ex.destroy();
    }
  });

  it('reuses temp buffers (liveness) and reports peak bytes', () => {
    const g = new Graph();
    let h = g.input('x', [64, 64]);
    for (let i = 0; i < 8; i++) h = g.rmsnorm(g.matmul(h, g.param(`w${i}`, [64, 64], { kind: 'zeros' })), g.param(`n${i}`, [64], { kind: 'ones' }));
    g.output('y', h);
    const p = compileProgram(g, { outputs: ['y'], caps: CPU_SAFE_CAPS });
    const temps = p.buffers.filter((b) => b.kind === 'temp');
    expect(temps.length).toBeLessThanOrEqual(2);
    expect(p.tempBytesUnplanned).toBe(16 * 64 * 64 * 4);
    expect(p.peakBytes).toBe(p.buffers.reduce((a, b) => a + b.bytes, 0));
    const text = programKernelsText(p);
    expect(text).toMatch(/k0 matmul/);
    expect(text).toMatch(/#\d+ rmsnorm f32\[64, 64\] ->/);
    expect(programWgslText(p)).toMatch(/@compute/);
    expect(JSON.parse(JSON.stringify(p))).toEqual(p);
  });

  it('runs several steps with assigns (SGD on a linear model) like the reference', async () => {
    const g = new Graph();
    const x = g.input('x', [8, 5]), t = g.input('t', [8, 3]);
    const w = g.param('w', [5, 3], { kind: 'zeros' });
    const m = g.state('m', [5, 3]);
    const err = g.sub(g.matmul(x, w), t);
    const loss = g.mean(g.unary('square', err), [0, 1]);
    const gw = g.matmul(x, g.mul(err, g.scalar(2 / 24)), { transA: true });
    const v = g.state('v', [5, 3]);
    const m2 = g.add(g.mul(m, g.scalar(0.9)), gw);
    const v2 = g.add(g.mul(v, g.scalar(0.99)), g.mul(g.unary('square', gw), g.scalar(0.01)));
    g.assign(m, m2);
    g.assign(v, v2);
    g.assign(w, g.sub(w, g.mul(g.div(m2, g.add(g.sqrt(v2), g.scalar(1e-3))), g.scalar(0.1))));
    g.output('loss', loss);
    const p = compileProgram(g, { outputs: ['loss'], caps });
    // Every update is elementwise over its own leaf's index and no later kernel reads the old value: in place.
    expect(p.assigns.filter((a) => a.inPlace).map((a) => a.name).sort()).toEqual(['m', 'v', 'w']);
    const ex = await Executor.create(dev, p);
    const feeds = new Map([['x', rand(40, 1)], ['t', rand(24, 2)], ['w', rand(15, 3)], ['m', new Float64Array(15)], ['v', new Float64Array(15)]]);
    ex.setInput('x', Float32Array.from(feeds.get('x')!));
    ex.setInput('t', Float32Array.from(feeds.get('t')!));
    ex.setParam('w', Float32Array.from(feeds.get('w')!));
    ex.setState('m', new Float32Array(15));
    ex.setState('v', new Float32Array(15));
    let cur = feeds;
    for (let s = 0; s < 3; s++) {
      ex.poison();
      await ex.step();
      const r = evaluateStep(g, cur, { precision: 'f32' });
      expectClose(await ex.readOutput('loss'), r.outputs.get('loss')!.data, 1e-5, `loss ${s}`);
      cur = new Map([...cur, ['w', r.assigns.get('w')!.data], ['m', r.assigns.get('m')!.data], ['v', r.assigns.get('v')!.data]]);
    }
    expectClose(await ex.readParam('w'), cur.get('w')!, 1e-5, 'w');
    expectClose(await ex.readState('v'), cur.get('v')!, 1e-5, 'v');
    ex.destroy();
  });

  it('kernels under the WebGPU default limits still run (8 storage buffers)', async () => {
    const g = new Graph();
    const a = g.input('a', [4, 6]);
    const ws = Array.from({ length: 10 }, (_, i) => g.input(`w${i}`, [6]));
    g.output('y', ws.reduce((acc, w) => g.add(acc, g.mul(w, g.sigmoid(acc))), a));
    const r = await runGraph(dev, g, ['y'], randomFeeds(g));
    for (const k of r.program.kernels) expect(k.bindings.length).toBeLessThanOrEqual(caps.limits.maxStorageBuffersPerShaderStage);
    await check(dev, g, ['y'], randomFeeds(g));
  });

  it('kernels built alike are the same text: a deeper decoder needs no more distinct pipelines', () => {
    // Load functions are numbered per kernel, not by node, so each layer's kernels repeat the first layer's
    // text and GpuDevice.pipeline (cached by text) compiles them once.
    const file = 'specs/tiny-text.mm', source = fs.readFileSync(file, 'utf8');
    // Per kernel kind of a transformer layer: how many kernels, and how many distinct texts.
    const LAYER = ['matmul', 'matmul_epilogue', 'rmsnorm', 'rmsnorm_grad_x', 'rmsnorm_grad_w', 'rope', 'attention', 'attention_stats', 'attention_grad_q', 'attention_grad_kv', 'silu_grad'];
    const kinds = (depth: number): Map<string, { kernels: number; texts: Set<string> }> => {
      const spec = checkSpec(source.replace('depth 2', `depth ${depth}`), file);
      if (!spec.value) throw new Error(JSON.stringify(spec.diagnostics));
      const m = new Map<string, { kernels: number; texts: Set<string> }>();
      for (const k of render(lowerTrainStep(spec.value), ['loss'], caps).kernels) {
        if (!LAYER.includes(k.name)) continue;
        const e = m.get(k.name) ?? { kernels: 0, texts: new Set<string>() };
        e.kernels++; e.texts.add(k.wgsl); m.set(k.name, e);
      }
      return m;
    };
    const two = kinds(2), six = kinds(6);
    expect([...six.keys()].sort()).toEqual([...LAYER].sort());
    for (const name of LAYER) {
      expect(six.get(name)!.kernels, name).toBeGreaterThan(two.get(name)!.kernels);   // the four more layers' kernels
      expect(six.get(name)!.texts.size, name).toBe(two.get(name)!.texts.size);       // and no new text among them
    }
  });
});

