// Example 2: train a tiny model from your own code with a custom, in-memory data source. The low-level path:
// check → lowerTrainStep (forward + loss + backward + AdamW as one graph) → an Engine (the CPU reference, or
// the GPU with --gpu) → a loop that feeds batches and the step's scalars. `trainRun` (mm/runtime) does the
// same with the spec's data block, progress, metrics and checkpoints.
//
//   npx tsx examples/02-train-from-code.ts [--steps N] [--gpu] [--out DIR]

import { check, hasErrors, diagnosticLine, lowerTrainStep, trainShape } from '../compiler/index.js';
import { feedBatch, GpuEngine, lrAt, openDevice, ReferenceEngine, saveCheckpoint, type Batch, type Engine } from '../runtime/index.js';

const SPEC = `mm 1
decoder small = transformer { vocab 96; width 32; depth 1; heads 2; ffn 64; rope 10000 }
model m { decoder small }
// The data block fixes the sequence length; the batches themselves come from the code below.
data d { text "unused.txt" weight 1; seq_len 32 }
train { model m; data d; steps 100; batch 4; micro_batch 4; precision f32
        optimizer adamw { lr 1e-2; betas 0.9 0.95; weight_decay 0.0; clip 1.0 }
        schedule cosine { warmup 3; final 0.1 } }
`;

const args = process.argv.slice(2);
const opt = (name: string): string | undefined => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
const steps = Number(opt('--steps') ?? 12);

/** Characters → ids 0..95 (printable ASCII); the decoder's vocab is 96. */
const encode = (s: string): number[] => [...s].map((c) => Math.min(95, Math.max(0, c.charCodeAt(0) - 32)));

/**
 * A custom data source: documents held in memory, packed into rows of T tokens. Each document gets its own
 * segment id (attention stays inside it); a document's last token has no target (-1), as does padding.
 */
class InMemoryText {
  private cursor = 0;
  constructor(private readonly docs: string[], private readonly B: number, private readonly T: number) {}

  next(): Batch {
    const { B, T } = this;
    const tokens = new Int32Array(B * T), targets = new Int32Array(B * T).fill(-1), segments = new Int32Array(B * T).fill(-1);
    for (let b = 0; b < B; b++) {
      for (let t = 0, seg = 0; t < T; seg++) {
        const ids = encode(this.docs[this.cursor++ % this.docs.length]!).slice(0, T - t);
        ids.forEach((id, i) => {
          tokens[b * T + t + i] = id;
          segments[b * T + t + i] = seg;
          if (i + 1 < ids.length) targets[b * T + t + i] = ids[i + 1]!;
        });
        t += ids.length;
      }
    }
    return {
      B, T, tokens, targets, segments, imageMask: new Float32Array(B * T), images: new Float32Array(0),
      imageSlots: new Int32Array(0), numImages: 0, sources: Array(B).fill('text'),
    };
  }
}

const checked = check(SPEC, 'inline.mm');
if (!checked.value || hasErrors(checked.diagnostics)) {
  for (const d of checked.diagnostics) console.error(diagnosticLine(d));
  process.exit(1);
}
const spec = checked.value;
const train = spec.train!;
const shape = trainShape(spec);                       // { B: 4, T: 32, maxImages: 0 }
const graph = lowerTrainStep(spec, shape);

let engine: Engine;
if (args.includes('--gpu')) {
  engine = await GpuEngine.create(await openDevice(), graph, { outputs: ['loss', 'grad_norm'], seed: train.seed });
} else {
  engine = new ReferenceEngine(graph, { seed: train.seed, precision: 'f32' });
}
console.log(`training '${spec.model.name}' for ${steps} steps on the ${engine.kind === 'gpu' ? 'GPU' : 'CPU reference'} (B=${shape.B}, T=${shape.T})`);

const data = new InMemoryText([
  'the cat sat on the mat.', 'the dog sat on the log.', 'a cat and a dog sat.', 'the mat is on the log.',
], shape.B, shape.T);
const schedule = { peak: train.optimizer.lr ?? 1e-2, warmup: train.schedule.warmup, final: train.schedule.final, total: steps, kind: train.schedule.kind };
const [b1, b2] = train.optimizer.betas;
const losses: number[] = [];
for (let step = 0; step < steps; step++) {
  feedBatch(engine, data.next());                                        // tokens, targets, segments, positions
  engine.setInput('lr', Float32Array.of(lrAt(step, schedule)));
  engine.setInput('bc1', Float32Array.of(1 - b1 ** (step + 1)));         // Adam bias corrections
  engine.setInput('bc2', Float32Array.of(1 - b2 ** (step + 1)));
  engine.setInput('loss_scale', Float32Array.of(1));
  await engine.run();                                                    // forward, backward, clip, AdamW
  const loss = (await engine.readOutput('loss'))[0]!;
  const gradNorm = (await engine.readOutput('grad_norm'))[0]!;
  losses.push(loss);
  console.log(`step ${String(step + 1).padStart(3)}  loss ${loss.toFixed(4)}  grad_norm ${gradNorm.toFixed(3)}`);
}
console.log(`loss ${losses[0]!.toFixed(4)} -> ${losses[losses.length - 1]!.toFixed(4)}`);

const out = opt('--out');
if (out) {
  const tensors = new Map<string, Float32Array>();
  for (const name of [...engine.leafNames('param'), ...engine.leafNames('state')]) tensors.set(name, await engine.readLeaf(name));
  console.log(`checkpoint: ${saveCheckpoint(out, { tensors, state: { step: steps } })}`);
}
engine.dispose();
process.exit(0);                                    // Dawn (when --gpu) keeps handles open
