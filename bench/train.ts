// Training-step throughput: a LLaMA-style decoder lowered, differentiated and compiled exactly as `mm train`
// does, fed random tokens (data loading excluded), timed over N optimizer steps after warm-up. Reports tokens/s
// and achieved TFLOP/s (6·N·tokens for the matmuls plus attention's 12·L·T·d per token, the usual estimate).

import type { ModelSpec } from '../compiler/semantics/spec.js';
import { Graph } from '../compiler/ir/graph.js';
import { lowerTrain } from '../compiler/lower/index.js';
import { buildTrainStep } from '../compiler/optim/adamw.js';
import { countParams } from '../compiler/semantics/counts.js';
import type { GpuDevice } from '../runtime/device.js';
import { GpuEngine } from '../runtime/gpu-engine.js';

export interface DecoderBenchConfig {
  name: string; vocab: number; width: number; depth: number; heads: number; kvHeads?: number; ffn: number;
  T: number; B: number; tied?: boolean; precision?: 'f32' | 'f16';
}

/** The benchmark configurations, with the PyTorch 2.11 figures measured on an H200 (issue #8). */
export const DECODER_CONFIGS: (DecoderBenchConfig & { torch?: Record<string, number> })[] = [
  { name: 'tiny', vocab: 512, width: 64, depth: 2, heads: 4, kvHeads: 2, ffn: 128, T: 64, B: 8 },
  { name: '20M', vocab: 8192, width: 448, depth: 6, heads: 7, ffn: 1280, T: 128, B: 4 },
  { name: '5M', vocab: 4096, width: 256, depth: 4, heads: 4, ffn: 1024, T: 256, B: 16, torch: { f32: 266e3 } },
  { name: '58M', vocab: 32000, width: 512, depth: 8, heads: 8, ffn: 1376, T: 512, B: 16, torch: { f32: 135e3, bf16: 228e3 } },
  { name: '134M', vocab: 32000, width: 768, depth: 12, heads: 12, ffn: 2048, T: 1024, B: 16, torch: { f32: 56e3, bf16: 242e3 } },
];

export function decoderModel(c: DecoderBenchConfig): ModelSpec {
  return {
    name: c.name,
    decoder: { name: c.name, kind: 'transformer', vocab: c.vocab, width: c.width, depth: c.depth, heads: c.heads, kvHeads: c.kvHeads ?? c.heads,
      ffn: c.ffn, rope: 10000, tied: c.tied ?? false, normEps: 1e-5, maxSeq: c.T },
  };
}

export interface TrainBenchResult {
  name: string; params: number; precision: string; kernels: number; compileS: number; stepMs: number;
  tokensPerSecond: number; tflops: number; firstLoss: number; lastLoss: number;
}

export async function benchDecoderTrain(dev: GpuDevice, c: DecoderBenchConfig, opts: { steps?: number; warmup?: number; log?: (s: string) => void } = {}): Promise<TrainBenchResult> {
  const model = decoderModel(c);
  const { B, T } = c;
  const t0 = performance.now();
  const g = new Graph();
  const { loss } = lowerTrain(model, { B, T, maxImages: 0 }, g);
  buildTrainStep(g, loss, { betas: [0.9, 0.95], eps: 1e-8, weightDecay: 0.1, clip: 1.0, accumulate: 1 });
  const engine = await GpuEngine.create(dev, g, { outputs: ['loss', 'grad_norm'], precision: c.precision ?? 'f32', seed: 1 });
  const compileS = (performance.now() - t0) / 1e3;
  opts.log?.(`${c.name}: ${engine.program.kernels.length} kernels compiled in ${compileS.toFixed(1)} s`);
  // Random tokens with a learnable structure (next = f(current)) so the loss visibly falls.
  let s = 12345;
  const rnd = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) >>> 8) / 16777216;
  const tokens = new Int32Array(B * T), targets = new Int32Array(B * T);
  for (let i = 0; i < B * T; i++) tokens[i] = Math.floor(rnd() * c.vocab);
  for (let i = 0; i < B * T; i++) targets[i] = (tokens[i]! * 7 + 3) % c.vocab;
  const put = (n: string, d: Float32Array | Int32Array) => { if (engine.hasInput(n)) engine.setInput(n, d); };
  put('tokens', tokens); put('targets', targets); put('segments', new Int32Array(B * T));
  put('positions', Int32Array.from({ length: T }, (_, i) => i));
  put('lr', new Float32Array([1e-3])); put('loss_scale', new Float32Array([1]));
  const steps = opts.steps ?? 10, warmup = opts.warmup ?? 2;
  let firstLoss = NaN, lastLoss = NaN, tStart = 0;
  for (let i = 0; i < warmup + steps; i++) {
    if (i === warmup) tStart = performance.now();
    put('bc1', new Float32Array([1 - 0.9 ** (i + 1)])); put('bc2', new Float32Array([1 - 0.95 ** (i + 1)]));
    await engine.run();
    const l = (await engine.readOutput('loss'))[0]!;     // the same per-step sync `mm train` does
    if (i === 0) firstLoss = l;
    lastLoss = l;
  }
  const dt = (performance.now() - tStart) / 1e3;
  engine.dispose();
  const counts = countParams(model);
  const tokensPerSecond = (steps * B * T) / dt;
  const flopsPerToken = 6 * counts.total + 12 * c.depth * T * c.width;
  return { name: c.name, params: counts.total, precision: c.precision ?? 'f32', kernels: engine.program.kernels.length, compileS,
    stepMs: (dt * 1e3) / steps, tokensPerSecond, tflops: (tokensPerSecond * flopsPerToken) / 1e12, firstLoss, lastLoss };
}

export interface TrainBenchRow {
  ours: TrainBenchResult; peer?: { tokensPerSecond: number; stepMs: number; params: number } | { error: string };
  /** With several rounds: every run's tokens/s, ours and the peer's, in the order run. */
  rounds?: { ours: number[]; peer: number[] };
}

/**
 * Ours and TensorFlow.js (WebGPU backend on the same GPUDevice) on each configuration, in this process. With
 * `rounds` > 1 the two alternate, run by run, and each side reports its median run (tokens/s), so load that
 * comes and goes on a shared machine weighs on both; `rounds` lists every run's tokens/s.
 */
export async function benchTrain(dev: GpuDevice, names: string[], opts: { steps?: number; peer?: boolean; rounds?: number; log?: (s: string) => void } = {}): Promise<TrainBenchRow[]> {
  const rows: TrainBenchRow[] = [];
  const byRate = <T extends { tokensPerSecond: number }>(xs: T[]): T => [...xs].sort((a, b) => a.tokensPerSecond - b.tokensPerSecond)[(xs.length - 1) >> 1]!;
  for (const name of names) {
    const c = DECODER_CONFIGS.find((x) => x.name === name);
    if (!c) throw new Error(`unknown configuration '${name}' (have ${DECODER_CONFIGS.map((x) => x.name).join(', ')})`);
    const ours: TrainBenchResult[] = [], theirs: { tokensPerSecond: number; stepMs: number; params: number }[] = [];
    let error: string | null = null;
    for (let r = 0; r < (opts.rounds ?? 1); r++) {
      const o = await benchDecoderTrain(dev, c, { steps: opts.steps, log: opts.log });
      ours.push(o);
      opts.log?.(`${name}: ours ${Math.round(o.tokensPerSecond)} tok/s (${o.stepMs.toFixed(1)} ms/step)`);
      if (opts.peer === false || error) continue;
      try {
        const { benchTfjsDecoder } = await import('./tfjs-decoder.js');
        const t = await benchTfjsDecoder({ vocab: c.vocab, width: c.width, depth: c.depth, heads: c.heads, kvHeads: c.kvHeads ?? c.heads, ffn: c.ffn,
          T: c.T, B: c.B, steps: opts.steps ?? 10, warmup: 2, lr: 1e-3 }, dev);
        theirs.push({ tokensPerSecond: t.tokensPerSecond, stepMs: t.stepMs, params: t.params });
        opts.log?.(`${name}: tfjs ${Math.round(t.tokensPerSecond)} tok/s (${t.stepMs.toFixed(1)} ms/step)`);
      } catch (e) {
        error = `TensorFlow.js peer unavailable: ${(e as Error).message.split('\n')[0]}`;
      }
    }
    const peer: TrainBenchRow['peer'] = error ? { error } : theirs.length ? byRate(theirs) : undefined;
    rows.push({ ours: byRate(ours), peer, ...(ours.length > 1 ? { rounds: { ours: ours.map((x) => x.tokensPerSecond), peer: theirs.map((x) => x.tokensPerSecond) } } : {}) });
  }
  return rows;
}

export function formatTrainReport(device: string, rows: TrainBenchRow[]): string {
  const out = [`training throughput on ${device} (random tokens; optimizer step included)`, '',
    '| model | params | ours tok/s | ms/step | kernels | tfjs tok/s | ours/tfjs |', '|---|---|---|---|---|---|---|'];
  for (const { ours, peer } of rows) {
    const p = peer && 'tokensPerSecond' in peer ? peer : null;
    out.push(`| ${ours.name} | ${(ours.params / 1e6).toFixed(2)}M | ${Math.round(ours.tokensPerSecond)} | ${ours.stepMs.toFixed(1)} | ${ours.kernels} | ` +
      `${p ? Math.round(p.tokensPerSecond) : peer && 'error' in peer ? 'n/a' : '-'} | ${p ? `${(ours.tokensPerSecond / p.tokensPerSecond).toFixed(2)}×` : '-'} |`);
  }
  const rounds = rows.find((r) => r.rounds)?.rounds;
  if (rounds) out.push('', `medians of ${rounds.ours.length} runs each, ours and tfjs alternating (every run's tok/s in --json)`);
  const errs = rows.map((r) => r.peer && 'error' in r.peer ? r.peer.error : null).filter(Boolean);
  if (errs.length) out.push('', errs[0]!);
  return out.join('\n');
}
