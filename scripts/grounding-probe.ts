// Does a model use its images? Trains a spec on its caption data only (or, with --no-train, loads a run), then
// measures the held-out loss with each image in its place and with the images shuffled across slots: the gap
// (in nats per text token) is how much the decoder relies on what it sees. Used for docs/ablations.md.
// usage: npx tsx scripts/grounding-probe.ts SPEC STEPS LR RUN_DIR [--no-train]

import { checkFile } from '../compiler/language.js';
import { lowerTrain } from '../compiler/lower/index.js';
import { trainShape } from '../compiler/compile.js';
import { Mixer, mixerOptionsFor } from '../runtime/data/mixer.js';
import { Tokenizer } from '../runtime/data/tokenizer.js';
import { loadCheckpoint, tensorToFloat32 } from '../runtime/checkpoint.js';
import { GpuEngine } from '../runtime/gpu-engine.js';
import { openDevice } from '../runtime/device.js';
import { feedBatch, trainRun } from '../runtime/train.js';

const [specFile, stepsArg, lrArg, out] = process.argv.slice(2);
if (!specFile || !out) { console.error('usage: grounding-probe.ts SPEC STEPS LR RUN_DIR [--no-train]'); process.exit(1); }
const spec = structuredClone(checkFile(specFile).value!);
spec.data!.sources = spec.data!.sources.filter((s) => s.kind === 'captions');
spec.train!.optimizer.lr = Number(lrArg);
let trainLoss = NaN;
if (!process.argv.includes('--no-train')) trainLoss = (await trainRun(spec, { out, steps: Number(stepsArg), progress: 'json' })).finalLoss;

const { graph } = lowerTrain(spec.model, trainShape(spec));
const engine = await GpuEngine.create(await openDevice(), graph, { outputs: ['loss'] });
const ck = loadCheckpoint(out);
for (const n of engine.leafNames('param')) engine.setLeaf(n, tensorToFloat32(ck.tensors.get(n)!));
const mixer = new Mixer(spec.data!, Tokenizer.load(`${out}/tokenizer.json`), mixerOptionsFor(spec, { seed: 99 }));
const px = 3 * spec.model.encoder!.image ** 2;
let right = 0, shuffled = 0;
const batches = 4;
for (let i = 0; i < batches; i++) {
  const batch = await mixer.next();
  feedBatch(engine, batch);
  await engine.run();
  right += (await engine.readOutput('loss'))[0]! / batches;
  const n = batch.numImages, sh = new Float32Array(batch.images.length);
  for (let k = 0; k < n; k++) sh.set(batch.images.subarray(((k + 1) % n) * px, ((k + 1) % n + 1) * px), k * px);
  engine.setInput('images', sh);
  await engine.run();
  shuffled += (await engine.readOutput('loss'))[0]! / batches;
}
console.log(JSON.stringify({ spec: specFile, steps: ck.step, lr: Number(lrArg), trainLoss, heldOutLoss: right, shuffledImagesLoss: shuffled, gap: shuffled - right }));
await mixer.close();
process.exit(0);
