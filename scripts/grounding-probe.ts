// Does a model use its images? Trains a spec on its caption data only (or, with --no-train, loads a run), then
// measures image use on the held-out captions (runtime/eval/grounding.ts): the loss with each image in its
// place and with the images rotated across slots; the gap (nats per text token) is how much the decoder relies
// on what it sees. Used for docs/ablations.md; `mm eval` and `mm sweep` report the same measure.
// usage: npx tsx scripts/grounding-probe.ts SPEC STEPS LR RUN_DIR [--no-train]

import * as path from 'node:path';
import { checkFile } from '../compiler/language.js';
import { Tokenizer } from '../runtime/data/tokenizer.js';
import { loadCheckpoint, tensorToFloat32 } from '../runtime/checkpoint.js';
import { captionPairs, measureGrounding } from '../runtime/eval/grounding.js';
import { loadEvalDir } from '../runtime/eval/run.js';
import { gpuEngineFactory } from '../runtime/generate.js';
import { trainRun } from '../runtime/train.js';

const [specFile, stepsArg, lrArg, out] = process.argv.slice(2);
if (!specFile || !out) { console.error('usage: grounding-probe.ts SPEC STEPS LR RUN_DIR [--no-train]'); process.exit(1); }
const spec = structuredClone(checkFile(specFile).value!);
spec.data!.sources = spec.data!.sources.filter((s) => s.kind === 'captions');
spec.train!.optimizer.lr = Number(lrArg);
let trainLoss = NaN;
if (!process.argv.includes('--no-train')) trainLoss = (await trainRun(spec, { out, steps: Number(stepsArg), progress: 'json' })).finalLoss;

const ck = loadCheckpoint(out);
const weights = new Map([...ck.tensors].map(([k, t]) => [k, tensorToFloat32(t)]));
const pairs = captionPairs(loadEvalDir(path.dirname(spec.data!.sources[0]!.path)).captioning!);
const g = await measureGrounding(spec, weights, Tokenizer.load(`${out}/tokenizer.json`), pairs, { factory: gpuEngineFactory({ outputs: ['lm_loss'] }) });
console.log(JSON.stringify({ spec: specFile, steps: ck.step, lr: Number(lrArg), trainLoss, heldOutLoss: g.loss, shuffledImagesLoss: g.shuffledLoss, gap: g.gap, pairs: g.pairs }));
process.exit(0);
