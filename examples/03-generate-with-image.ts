// Example 3: generate from a checkpoint with an image. Without --checkpoint, it first makes one: a tiny
// captioner (ViT → avg-pool connector → decoder) trained a few dozen steps on in-memory (image, caption)
// pairs, saved with saveCheckpoint. Then it loads the checkpoint into a KV-cache Generator and captions an
// image: a PNG/JPEG given with --image, or a red square drawn in code.
//
//   npx tsx examples/03-generate-with-image.ts [--checkpoint DIR] [--image FILE] [--steps N] [--gpu]

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { check, diagnosticLine, hasErrors, lowerTrainStep, trainShape, type ResolvedSpec } from '../compiler/index.js';
import {
  cpuEngineFactory, feedBatch, gpuEngineFactory, Generator, latestCheckpoint, loadCheckpoint, loadImage, lrAt,
  normalizeClip, ReferenceEngine, saveCheckpoint, tensorToFloat32, type Batch,
} from '../runtime/index.js';

const SPEC = `mm 1
encoder enc = vit { image 16; patch 8; width 16; depth 1; heads 2; mlp 32 }
connector conn = avg_pool { tokens 4 }
decoder dec = transformer { vocab 100; width 32; depth 1; heads 2; ffn 64; rope 10000 }
model captioner { encoder enc; connector conn; decoder dec }
data d { captions "unused.jsonl" weight 1 max_images 1; seq_len 24 }
train { model captioner; data d; steps 100; batch 6; micro_batch 6; precision f32
        optimizer adamw { lr 1e-2; betas 0.9 0.95; weight_decay 0.0; clip 1.0 }
        schedule cosine { warmup 3; final 0.1 } }
`;

const args = process.argv.slice(2);
const opt = (name: string): string | undefined => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);

// Token ids: printable ASCII → 0..95, then the two specials this example needs.
const IMAGE = 96, EOS = 97;
const encode = (s: string): number[] => [...s].map((c) => Math.min(95, Math.max(0, c.charCodeAt(0) - 32)));
const decode = (ids: number[]): string => ids.filter((i) => i < 96).map((i) => String.fromCharCode(i + 32)).join('');

/** An R×R RGB square of one colour on grey, CLIP-normalised to [3, R, R]. */
function square(R: number, rgb: [number, number, number]): Float32Array {
  const data = new Uint8Array(R * R * 3);
  for (let y = 0; y < R; y++) for (let x = 0; x < R; x++) {
    const inside = x >= R / 4 && x < (3 * R) / 4 && y >= R / 4 && y < (3 * R) / 4;
    data.set(inside ? rgb : [128, 128, 128], (y * R + x) * 3);
  }
  return normalizeClip({ width: R, height: R, data });
}

const COLOURS: [string, [number, number, number]][] = [['red', [230, 20, 20]], ['green', [20, 200, 40]], ['blue', [30, 40, 230]]];

/** One captioning row per sequence: M `<image>` ids, then "a red square" and EOS; the rest is padding. */
function captionBatch(spec: ResolvedSpec, step: number): Batch {
  const { B, T, maxImages } = trainShape(spec);
  const R = spec.model.encoder!.image, M = spec.model.connector!.tokens, NI = B * maxImages;
  const b: Batch = {
    B, T, tokens: new Int32Array(B * T), targets: new Int32Array(B * T).fill(-1), segments: new Int32Array(B * T).fill(-1),
    imageMask: new Float32Array(B * T), images: new Float32Array(NI * 3 * R * R), imageSlots: new Int32Array(NI * M).fill(-1),
    numImages: B, sources: Array(B).fill('captions'),
  };
  for (let r = 0; r < B; r++) {
    const [name, rgb] = COLOURS[(r + step) % COLOURS.length]!;
    const ids = [...Array(M).fill(IMAGE), ...encode(`a ${name} square`), EOS];
    ids.forEach((id, t) => {
      b.tokens[r * T + t] = id;
      b.segments[r * T + t] = 0;
      if (t + 1 < ids.length && ids[t + 1] !== IMAGE) b.targets[r * T + t] = ids[t + 1]!;
    });
    b.images.set(square(R, rgb), r * maxImages * 3 * R * R);                 // the row's first image slot
    for (let j = 0; j < M; j++) { b.imageSlots[r * maxImages * M + j] = r * T + j; b.imageMask[r * T + j] = 1; }
  }
  return b;
}

/** Trains the captioner for `steps` steps on the CPU reference and saves a checkpoint; returns the run folder. */
async function makeCheckpoint(spec: ResolvedSpec, steps: number): Promise<string> {
  const engine = new ReferenceEngine(lowerTrainStep(spec), { seed: spec.train!.seed, precision: 'f32' });
  const t = spec.train!, [b1, b2] = t.optimizer.betas;
  const schedule = { peak: t.optimizer.lr ?? 1e-2, warmup: t.schedule.warmup, final: t.schedule.final, total: steps, kind: t.schedule.kind };
  for (let step = 0; step < steps; step++) {
    feedBatch(engine, captionBatch(spec, step));
    engine.setInput('lr', Float32Array.of(lrAt(step, schedule)));
    engine.setInput('bc1', Float32Array.of(1 - b1 ** (step + 1)));
    engine.setInput('bc2', Float32Array.of(1 - b2 ** (step + 1)));
    engine.setInput('loss_scale', Float32Array.of(1));
    await engine.run();
    if (step % 10 === 0 || step === steps - 1) console.log(`train step ${step + 1}: loss ${(await engine.readOutput('loss'))[0]!.toFixed(4)}`);
  }
  const runDir = mkdtempSync(join(tmpdir(), 'mm-example-'));
  const tensors = new Map<string, Float32Array>();
  for (const name of engine.leafNames('param')) tensors.set(name, await engine.readLeaf(name));
  saveCheckpoint(runDir, { tensors, state: { step: steps } });
  engine.dispose();
  return runDir;
}

const checked = check(SPEC, 'captioner.mm');
if (!checked.value || hasErrors(checked.diagnostics)) {
  for (const d of checked.diagnostics) console.error(diagnosticLine(d));
  process.exit(1);
}
const spec = checked.value;
const R = spec.model.encoder!.image, M = spec.model.connector!.tokens;

const runDir = opt('--checkpoint') ?? await makeCheckpoint(spec, Number(opt('--steps') ?? 40));
const latest = latestCheckpoint(runDir);
if (!latest) { console.error(`no checkpoint in ${runDir}`); process.exit(1); }
const ck = loadCheckpoint(latest);
console.log(`checkpoint: ${latest} (step ${ck.step}, ${ck.tensors.size} tensors)`);

const imageFile = opt('--image');
const image = imageFile ? await loadImage(imageFile, R, { file: imageFile, line: 0 }) : square(R, [230, 20, 20]);
const factory = args.includes('--gpu') ? gpuEngineFactory() : cpuEngineFactory({ precision: 'f32' });
const gen = await Generator.create(factory, spec.model, { Tmax: 24, prefillChunk: 8, imageToken: IMAGE });
gen.loadWeights(new Map([...ck.tensors].map(([name, t]) => [name, tensorToFloat32(t)])));

const prompt = [...Array(M).fill(IMAGE), ...encode('a ')];
const out = await gen.generate(prompt, [image], { maxNewTokens: 14, stopTokens: [EOS], banTokens: [IMAGE], decode });
console.log(`image: ${imageFile ?? 'a red square (drawn in code)'}`);
console.log(`caption: a ${out.text}`);
console.log(`(${out.tokens.length} tokens, finish: ${out.finish}, log-prob ${out.logProb.toFixed(2)})`);
gen.dispose();
process.exit(0);
