// The first steps of WGSL training track the CPU reference interpreter's: the same compiled training step
// (forward, backward, clipping, AdamW) run on both engines from the same initial weights and batches gives
// the same losses and gradient norms, step after step.
import { beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { checkFile } from '../../compiler/language.js';
import { lowerTrainStep } from '../../compiler/compile.js';
import { synth } from '../../runtime/data/synth.js';
import { Mixer, mixerOptionsFor } from '../../runtime/data/mixer.js';
import { trainTokenizerForData } from '../../runtime/data/corpus.js';
import { GpuEngine } from '../../runtime/gpu-engine.js';
import { ReferenceEngine } from '../../runtime/reference-engine.js';
import { feedBatch } from '../../runtime/train.js';
import type { Engine } from '../../runtime/engine.js';
import type { GpuDevice } from '../../runtime/device.js';
import { gpu } from '../helpers/gpu.js';

let dev: GpuDevice;
let dataDir: string;
beforeAll(async () => {
  dev = await gpu();
  dataDir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'mm-parity-')), 'data');
  await synth({ out: dataDir, images: 120, seed: 5 });
});

async function parity(specFile: string, steps: number): Promise<void> {
  const spec = structuredClone(checkFile(specFile).value!);
  for (const s of spec.data!.sources) s.path = path.join(dataDir, path.basename(s.path));
  spec.train!.microBatch = spec.train!.batch = 2;                  // small: the CPU reference is plain loops
  const graph = lowerTrainStep(spec);
  const gpuEngine = await GpuEngine.create(dev, graph, { outputs: ['loss', 'grad_norm'], seed: 7 });
  const cpuEngine = new ReferenceEngine(graph, { seed: 7, precision: 'f64' });
  const tok = await trainTokenizerForData(spec.data!);
  const mixer = new Mixer(spec.data!, tok, mixerOptionsFor(spec));
  for (let step = 0; step < steps; step++) {
    const batch = await mixer.next();
    const got: number[][] = [];
    for (const e of [gpuEngine, cpuEngine] as Engine[]) {
      feedBatch(e, batch);
      e.setInput('lr', new Float32Array([2e-3]));
      e.setInput('bc1', new Float32Array([1 - 0.9 ** (step + 1)]));
      e.setInput('bc2', new Float32Array([1 - 0.95 ** (step + 1)]));
      e.setInput('loss_scale', new Float32Array([1]));
      await e.run();
      got.push([(await e.readOutput('loss'))[0]!, (await e.readOutput('grad_norm'))[0]!]);
    }
    const [[gl, gn], [cl, cn]] = got as [[number, number], [number, number]];
    expect(Math.abs(gl - cl) / cl, `loss at step ${step}: gpu ${gl} cpu ${cl}`).toBeLessThan(1e-4);
    expect(Math.abs(gn - cn) / cn, `grad norm at step ${step}: gpu ${gn} cpu ${cn}`).toBeLessThan(1e-3);
  }
  // Every weight after the updates agrees too (the whole backward and the optimizer ran the same way on both;
  // the loss and the global norm alone could hide a wrong gradient in a small component such as the encoder).
  for (const name of gpuEngine.leafNames('param')) {
    const [a, b] = [await gpuEngine.readLeaf(name), await cpuEngine.readLeaf(name)];
    let maxErr = 0;
    for (let i = 0; i < a.length; i++) maxErr = Math.max(maxErr, Math.abs(a[i]! - b[i]!));
    expect(maxErr, name).toBeLessThan(1e-4);
  }
  gpuEngine.dispose();
  await mixer.close();
}

describe('GPU training tracks the CPU reference', () => {
  it('text-only decoder: 3 steps', async () => { await parity('specs/tiny-text.mm', 3); }, 600_000);
  it('multimodal (ViT + C-Abstractor + decoder): 2 steps', async () => { await parity('specs/tiny.mm', 2); }, 600_000);
  it('multimodal with mixture of experts: 2 steps', async () => { await parity('specs/tiny-moe.mm', 2); }, 600_000);
});
