// `mm train`: the training loop. One compiled step program (forward, losses, backward, clipping, AdamW) runs
// on an Engine (GPU, or the CPU reference); the host feeds each micro-batch from the data mixer plus the
// step's scalars (lr from the schedule, Adam bias corrections, loss scale), logs metrics.jsonl, plots, and
// writes atomic checkpoints (weights, optimizer state, step, data-sampler state) from which --resume
// continues exactly.

import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ResolvedSpec } from '../compiler/semantics/spec.js';
import { lowerTrainStep, trainShape } from '../compiler/compile.js';
import { countParams } from '../compiler/semantics/counts.js';
import type { Engine } from './engine.js';
import { GpuEngine } from './gpu-engine.js';
import { openDevice } from './device.js';
import { Mixer, mixerOptionsFor } from './data/mixer.js';
import { Tokenizer } from './data/tokenizer.js';
import { trainTokenizerForData } from './data/corpus.js';
import { feedBatch } from './data/batch.js';

export { feedBatch };
import { DataError } from './data/errors.js';
import { lrAt, mm1PeakLr } from './optim/schedule.js';
import { saveCheckpoint, loadCheckpoint, latestCheckpoint, tensorToFloat32 } from './checkpoint.js';
import { MetricsWriter } from './metrics-log.js';
import { createProgress, type ProgressMode } from './progress.js';
import { plotRun } from './plot.js';

export interface TrainOptions {
  out: string;                       // run folder
  steps?: number;                    // override spec.train.steps
  resume?: boolean;
  backend?: 'gpu' | 'cpu';
  progress?: ProgressMode;
  skipBad?: boolean;
  /** Called after each optimizer step (tests use it to interrupt a run). Return false to stop. */
  onStep?: (step: number, loss: number) => boolean | void;
  log?: (line: string) => void;
}

export interface TrainResult {
  runDir: string;
  steps: number;
  firstLoss: number;
  finalLoss: number;
  tokensPerSecond: number;
  losses: number[];
  /** Records skipped as unreadable (--skip-bad; 0 otherwise, as a bad record then stops the run). */
  skippedRecords: number;
}

export class TrainError extends Error {
  constructor(message: string) { super(message); this.name = 'TrainError'; }
}

const TOKENIZER = 'tokenizer.json';

/**
 * The run's tokenizer: loaded from the run folder, or trained on the data block's text and saved there.
 * `skipBad`: bad records are skipped here too (the mixer counts and reports them), not an error before training.
 */
export async function runTokenizer(spec: ResolvedSpec, runDir: string, skipBad = false): Promise<Tokenizer> {
  const file = path.join(runDir, TOKENIZER);
  if (fs.existsSync(file)) return Tokenizer.load(file);
  if (!spec.data) throw new TrainError('the spec has no data block to train a tokenizer on');
  const tok = await trainTokenizerForData(spec.data, { maxChars: 2_000_000, skipBad });
  fs.mkdirSync(runDir, { recursive: true });
  tok.save(file);
  return tok;
}

function checkData(spec: ResolvedSpec): void {
  if (!spec.train) throw new TrainError('the spec has no train block');
  if (!spec.data) throw new TrainError('the spec has no data block');
  for (const s of spec.data.sources) {
    if (!fs.existsSync(s.path)) {
      throw new TrainError(`data file not found: ${s.path} (${s.kind} source)\n` +
        `hint: create the synthetic data set with \`mm data synth --out ${path.dirname(s.path)}\`, or point the data block at your own files`);
    }
  }
}

export async function trainRun(spec: ResolvedSpec, opts: TrainOptions): Promise<TrainResult> {
  checkData(spec);
  const t = spec.train!;
  const runDir = path.resolve(opts.out);
  const log = opts.log ?? (() => {});
  const totalSteps = opts.steps ?? t.steps;
  const accumulate = Math.max(1, Math.round(t.batch / t.microBatch));
  fs.mkdirSync(runDir, { recursive: true });
  fs.writeFileSync(path.join(runDir, 'spec.json'), JSON.stringify(spec, null, 1));

  const tok = await runTokenizer(spec, runDir, opts.skipBad === true);
  if (tok.vocabSize > spec.model.decoder.vocab) throw new TrainError(`tokenizer has ${tok.vocabSize} ids but the decoder vocab is ${spec.model.decoder.vocab}`);
  const shape = trainShape(spec);
  const graph = lowerTrainStep(spec, shape);
  const precision = t.precision;
  const tCompile = performance.now();
  let engine: Engine;
  if (opts.backend === 'cpu') {
    const { ReferenceEngine } = await import('./reference-engine.js');
    engine = new ReferenceEngine(graph, { seed: t.seed, precision: 'f32' });
  } else {
    const dev = await openDevice();
    if (precision === 'f16' && !dev.caps.f16) throw new TrainError(`precision f16 needs shader-f16, which this adapter (${dev.caps.description}) lacks; set \`precision f32\` in the train block`);
    const gpu = await GpuEngine.create(dev, graph, { outputs: ['loss', 'grad_norm'], precision, seed: t.seed });
    log(`compiled ${graph.nodes.length} IR nodes into ${gpu.program.kernels.length} kernels (${(gpu.program.peakBytes / 2 ** 20).toFixed(1)} MiB) for ${dev.caps.description || dev.caps.device} in ${((performance.now() - tCompile) / 1e3).toFixed(1)} s`);
    engine = gpu;
  }

  const mixer = new Mixer(spec.data!, tok, mixerOptionsFor(spec, { skipBad: opts.skipBad }));
  const counts = countParams(spec.model);
  const peak = t.optimizer.lr ?? mm1PeakLr(counts.nonEmbedding);
  const schedule = { peak, warmup: t.schedule.warmup, final: t.schedule.final, total: totalSteps, kind: t.schedule.kind };
  let step = 0;
  let lossScale = precision === 'f16' ? 2 ** 15 : 1;
  let goodSteps = 0;

  if (opts.resume) {
    const latest = latestCheckpoint(runDir);
    if (!latest) throw new TrainError(`--resume: no checkpoint in ${runDir}`);
    const ck = loadCheckpoint(latest);
    const expected = new Set([...engine.leafNames('param'), ...engine.leafNames('state')]);
    const missing = [...expected].filter((n) => !ck.tensors.has(n));
    const extra = [...ck.tensors.keys()].filter((n) => !expected.has(n));
    if (missing.length || extra.length) {
      throw new TrainError(`--resume: ${latest} does not belong to this spec's model ` +
        `(${missing.length ? `missing ${missing.slice(0, 3).join(', ')}${missing.length > 3 ? ', …' : ''}` : ''}${missing.length && extra.length ? '; ' : ''}` +
        `${extra.length ? `unexpected ${extra.slice(0, 3).join(', ')}${extra.length > 3 ? ', …' : ''}` : ''}); use another --out folder`);
    }
    for (const [name, tensor] of ck.tensors) engine.setLeaf(name, tensorToFloat32(tensor));
    step = ck.state.step;
    lossScale = (ck.state.lossScale as number | undefined) ?? lossScale;
    await mixer.restore(ck.state.mixer as Parameters<Mixer['restore']>[0]);
    log(`resumed from ${latest} at step ${step}`);
  }

  const metricsFile = path.join(runDir, 'metrics.jsonl');
  if (!opts.resume) fs.writeFileSync(metricsFile, '');                // a fresh run starts a fresh log
  const writer = new MetricsWriter(metricsFile, opts.resume ? { resumeFromStep: step } : {});
  const progress = createProgress({ total: totalSteps, mode: opts.progress, startStep: step });
  const [b1, b2] = t.optimizer.betas;
  const losses: number[] = [];
  let firstLoss = NaN, lastLoss = NaN, badInARow = 0;
  const tokensPerStep = t.batch * shape.T;
  const t0 = performance.now();
  const startStep = step;

  const checkpoint = async () => {
    const tensors = new Map<string, Float32Array>();
    for (const name of [...engine.leafNames('param'), ...engine.leafNames('state')]) tensors.set(name, await engine.readLeaf(name));
    saveCheckpoint(runDir, { tensors, state: { step, lossScale, mixer: mixer.state(), seed: t.seed, spec: spec.file } }, { keep: t.checkpoint.keep });
  };

  try {
    while (step < totalSteps) {
      const tStep = performance.now();
      const lr = lrAt(step, schedule);
      engine.setInput('lr', new Float32Array([lr]));
      engine.setInput('bc1', new Float32Array([1 - b1 ** (step + 1)]));
      engine.setInput('bc2', new Float32Array([1 - b2 ** (step + 1)]));
      let loss = 0;
      for (let micro = 0; micro < accumulate; micro++) {
        feedBatch(engine, await mixer.next());
        engine.setInput('loss_scale', new Float32Array([lossScale]));
        if (engine.hasInput('apply')) engine.setInput('apply', new Float32Array([micro === accumulate - 1 ? 1 : 0]));
        await engine.run();
        loss += (await engine.readOutput('loss'))[0]! / accumulate;
      }
      const gradNorm = (await engine.readOutput('grad_norm'))[0]!;
      if (!Number.isFinite(gradNorm) || !Number.isFinite(loss)) {
        // The program skipped the update (non-finite norm): lower the loss scale and try the next batch.
        badInARow++;
        if (precision === 'f16') lossScale = Math.max(1, lossScale / 2);
        log(`step ${step}: non-finite ${Number.isFinite(loss) ? 'gradient' : 'loss'}; update skipped${precision === 'f16' ? `, loss scale → ${lossScale}` : ''}`);
        if (badInARow >= 8) throw new TrainError(`${badInARow} non-finite steps in a row at step ${step}; stopping. The last good checkpoint is intact in ${runDir}. Try a lower learning rate.`);
        continue;
      }
      badInARow = 0;
      if (precision === 'f16' && ++goodSteps % 200 === 0) lossScale = Math.min(2 ** 24, lossScale * 2);
      step++;
      const dt = (performance.now() - tStep) / 1e3;
      if (Number.isNaN(firstLoss)) firstLoss = loss;
      lastLoss = loss;
      losses.push(loss);
      writer.write({ step, loss, lr, grad_norm: gradNorm, tokens_per_s: tokensPerStep / dt, loss_scale: lossScale, time_s: (performance.now() - t0) / 1e3 });
      progress.update(step, { loss, tokens: tokensPerStep, lr });
      if (step % t.checkpoint.every === 0 || step === totalSteps) await checkpoint();
      if (step % 25 === 0 || step === totalSteps) { try { plotRun(runDir); } catch { /* a plot never stops training */ } }
      if (opts.onStep?.(step, loss) === false) break;
    }
  } catch (e) {
    if (e instanceof DataError) throw new TrainError(e.message);
    throw e;
  } finally {
    progress.stop();
    writer.close();
    if (mixer.bad.count > 0) log(`--skip-bad: ${mixer.bad.summary()}`);
    engine.dispose();
    await mixer.close();
  }
  const seconds = (performance.now() - t0) / 1e3;
  return { runDir, steps: step, firstLoss, finalLoss: lastLoss, tokensPerSecond: ((step - startStep) * tokensPerStep) / Math.max(seconds, 1e-9), losses, skippedRecords: mixer.bad.count };
}
