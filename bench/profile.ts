// Where a training step's time goes: GPU time per kernel (timestamp queries, Executor.profile) for a spec's
// whole training step or one of the decoder bench configurations, grouped by kernel kind, beside the step's
// wall time. The gap between the two is host and dispatch overhead. Inputs are random but well-formed (the
// kernels' cost does not depend on the values), so a spec profiles without its data set.

import { Graph } from '../compiler/ir/graph.js';
import { lowerTrain } from '../compiler/lower/index.js';
import { buildTrainStep } from '../compiler/optim/adamw.js';
import { lowerTrainStep, trainShape } from '../compiler/compile.js';
import type { ResolvedSpec } from '../compiler/semantics/spec.js';
import type { GpuDevice } from '../runtime/device.js';
import { GpuEngine } from '../runtime/gpu-engine.js';
import { DECODER_CONFIGS, decoderModel } from './train.js';

export interface KernelKind { kind: string; count: number; ms: number; share: number }
export interface KernelTime { index: number; name: string; ms: number; workgroups: [number, number, number]; ops: string[] }
export interface ProfileReport {
  target: string;
  device: string;
  kernels: number;
  /** Mean wall time of a normal step (one pass, one submit, waited for). */
  stepMs: number;
  /** Sum of the kernels' GPU times in a profiled step (mean over the profiled steps). */
  gpuMs: number;
  byKind: KernelKind[];
  top: KernelTime[];
}

/** Random, well-formed inputs: token ids below the vocab, no images placed, positions 0..T-1. */
export function feedRandom(engine: GpuEngine, g: Graph, vocab: number): void {
  let s = 7;
  const rnd = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) >>> 8) / 16777216;
  for (const [node, info] of g.leaves) {
    if (info.kind !== 'input' || !engine.hasInput(node.name!)) continue;
    const n = node.shape.reduce((a, d) => a * d, 1), name = node.name!;
    const T = node.shape[node.shape.length - 1] ?? 1;
    let data: Float32Array | Int32Array;
    if (name === 'tokens' || name === 'targets') data = Int32Array.from({ length: n }, () => Math.floor(rnd() * vocab));
    else if (name === 'positions') data = Int32Array.from({ length: n }, (_, i) => i % T);
    else if (name === 'segments') data = new Int32Array(n);
    else if (name === 'image_slots') data = new Int32Array(n).fill(-1);
    else if (name === 'image_mask') data = new Float32Array(n);
    else if (name === 'loss_scale' || name === 'apply') data = new Float32Array(n).fill(1);
    else if (name === 'lr') data = new Float32Array(n).fill(1e-3);
    else if (name === 'bc1' || name === 'bc2') data = new Float32Array(n).fill(0.5);
    else if (node.dtype === 'i32' || node.dtype === 'u32') data = new Int32Array(n);
    else data = Float32Array.from({ length: n }, () => rnd() - 0.5);
    engine.setInput(name, data);
  }
}

/** The training-step graph of a spec file's model, or of a decoder bench configuration by name. */
export function profileTarget(target: string | ResolvedSpec): { graph: Graph; vocab: number; label: string } {
  if (typeof target !== 'string') {
    return { graph: lowerTrainStep(target, trainShape(target)), vocab: target.model.decoder.vocab, label: target.file };
  }
  const c = DECODER_CONFIGS.find((x) => x.name === target);
  if (!c) throw new Error(`unknown configuration '${target}' (have ${DECODER_CONFIGS.map((x) => x.name).join(', ')}, or give a .mm file)`);
  const g = new Graph();
  const { loss } = lowerTrain(decoderModel(c), { B: c.B, T: c.T, maxImages: 0 }, g);
  buildTrainStep(g, loss, { betas: [0.9, 0.95], eps: 1e-8, weightDecay: 0.1, clip: 1.0, accumulate: 1 });
  return { graph: g, vocab: c.vocab, label: `decoder ${c.name}` };
}

export async function profileTrainStep(dev: GpuDevice, target: string | ResolvedSpec, opts: { steps?: number; top?: number; precision?: 'f32' | 'f16' } = {}): Promise<ProfileReport> {
  if (!dev.caps.timestampQuery) throw new Error(`${dev.caps.description || dev.caps.device} has no 'timestamp-query': kernel times cannot be measured`);
  const { graph, vocab, label } = profileTarget(target);
  const engine = await GpuEngine.create(dev, graph, { outputs: ['loss'], precision: opts.precision ?? 'f32', seed: 1 });
  try {
    feedRandom(engine, graph, vocab);
    const steps = Math.max(1, opts.steps ?? 3);
    await engine.run();                                   // warm-up: pipelines and caches
    const t0 = performance.now();
    for (let i = 0; i < steps; i++) await engine.run();
    const stepMs = (performance.now() - t0) / steps;
    const kernels = engine.program.kernels;
    const sum = new Array<number>(kernels.length).fill(0);
    for (let i = 0; i < steps; i++) (await engine.exec.profile())!.forEach((ms, k) => { sum[k]! += ms / steps; });
    const gpuMs = sum.reduce((a, b) => a + b, 0);
    const kinds = new Map<string, KernelKind>();
    kernels.forEach((k, i) => {
      const e = kinds.get(k.name) ?? kinds.set(k.name, { kind: k.name, count: 0, ms: 0, share: 0 }).get(k.name)!;
      e.count++; e.ms += sum[i]!;
    });
    for (const e of kinds.values()) e.share = e.ms / (gpuMs || 1);
    const top = kernels.map((k, i) => ({ index: i, name: k.name, ms: sum[i]!, workgroups: k.workgroups, ops: k.ops }))
      .sort((a, b) => b.ms - a.ms).slice(0, opts.top ?? 15);
    return { target: label, device: dev.caps.description || dev.caps.device, kernels: kernels.length, stepMs, gpuMs,
      byKind: [...kinds.values()].sort((a, b) => b.ms - a.ms), top };
  } finally {
    engine.dispose();
  }
}

export function formatProfile(r: ProfileReport): string {
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  const lines = [
    `${r.target} on ${r.device}: ${r.kernels} kernels`,
    `step wall time ${r.stepMs.toFixed(2)} ms; kernels' GPU time ${r.gpuMs.toFixed(2)} ms (${pct(r.gpuMs / r.stepMs)} of the step; the rest is host and dispatch overhead)`,
    '',
    '| kernel kind | count | GPU ms | share |',
    '|---|---|---|---|',
    ...r.byKind.map((k) => `| ${k.kind} | ${k.count} | ${k.ms.toFixed(3)} | ${pct(k.share)} |`),
    '',
    `slowest ${r.top.length} kernels:`,
    ...r.top.map((k) => `  #${String(k.index).padEnd(4)} ${k.name.padEnd(18)} ${k.ms.toFixed(3).padStart(8)} ms  wg [${k.workgroups.join(', ')}]  ${k.ops[k.ops.length - 1] ?? ''}`),
  ];
  return lines.join('\n');
}
