import { Graph } from '../compiler/ir/graph.js';
import { lowerTrain } from '../compiler/lower/index.js';
import { buildTrainStep } from '../compiler/optim/adamw.js';
import { compileProgram } from '../compiler/codegen/compile.js';
import { kernelCaps } from '../compiler/codegen/caps.js';
import { readFileSync } from 'node:fs';
import { DECODER_CONFIGS, decoderModel } from './train.js';
const c = DECODER_CONFIGS.find((x) => x.name === (process.argv[2] ?? '134M'))!;
const g = new Graph();
const { loss } = lowerTrain(decoderModel(c), { B: c.B, T: c.T, maxImages: 0 }, g);
buildTrainStep(g, loss, { betas: [0.9, 0.95], eps: 1e-8, weightDecay: 0.1, clip: 1.0, accumulate: 1 });
const doc = JSON.parse(readFileSync('bench/results/h200-doctor.json', 'utf8'));
const caps = kernelCaps(doc.adapter);
const p = compileProgram(g, { outputs: ['loss', 'grad_norm'], caps });
console.log(p.kernels.length, 'kernels');
const counts = new Map<string, number>();
for (const k of p.kernels) counts.set(k.name, (counts.get(k.name) ?? 0) + 1);
console.log([...counts].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k}:${v}`).join(' '));
for (const k of p.kernels) {
  const wg = k.workgroups[0] * k.workgroups[1] * k.workgroups[2];
  const maxIn = Math.max(...k.bindings.map((b) => p.buffers[b]!.bytes));
  if (wg < 132 && maxIn > 1 << 20) console.log('FEW WG', k.name, k.workgroups.join('x'), (maxIn / 2 ** 20).toFixed(1), 'MiB', k.ops.at(-1));
}
