// The peer for `mm bench train`: the same LLaMA-style decoder written in TensorFlow.js and trained on its WebGPU
// backend on OUR GPUDevice (bench/tfjs-setup.ts), so `mm`'s training tokens/s can be quoted as a ratio against
// it, measured in the same process on the same adapter.
//
// Model: token embedding; per layer RMSNorm → causal multi-head attention with RoPE (rotate-half) and grouped
// K/V heads → residual, RMSNorm → SwiGLU → residual; final RMSNorm; untied head; softmax cross-entropy on
// seeded random tokens (next-token targets). Grouped heads: query head h uses K/V head ⌊h/G⌋ (G = heads/kvHeads,
// what repeating each K/V head G times gives); instead of copying K/V, the G query heads of a group are stacked
// along the rows of one matmul against their shared K/V, the same numbers with no copy.
// Step: tf.variableGrads → global-norm clip (1.0) → AdamW (β 0.9/0.95, ε 1e-8, decoupled decay λ·lr on the
// matrices, not the norm gains), all on the GPU inside tf.tidy; the host awaits the loss every step, the same
// sync `mm`'s trainer does. Warm-up steps (kernel compilation, buffer pools) are excluded from the clock.

import type * as TF from '@tensorflow/tfjs';
import type { GpuDevice } from '../runtime/device.js';
import { openTfjsWebgpu, type Tf } from './tfjs-setup.js';

export interface TfjsDecoderConfig {
  vocab: number;
  width: number;
  depth: number;
  heads: number;
  kvHeads: number;
  ffn: number;
  /** Sequence length. */
  T: number;
  /** Sequences per step. */
  B: number;
  /** Timed steps. */
  steps: number;
  /** Untimed steps before the clock starts. */
  warmup: number;
  lr: number;
  /** Decoupled weight decay λ (θ ← θ − lr·λ·θ on matrices); default 0.1. */
  weightDecay?: number;
  /** Seed for the initial weights and the token data; default 0. */
  seed?: number;
  /** Distinct batches of random tokens, cycled; default 4 (a fixed pool, so the loss can fall). */
  dataBatches?: number;
}

export interface TfjsDecoderResult {
  tokensPerSecond: number;
  /** Mean wall-clock milliseconds per timed step. */
  stepMs: number;
  params: number;
  /** The loss of every step run, warm-up steps first. */
  losses: number[];
  /** Live tfjs tensors after each step (constant when nothing leaks). */
  liveTensors: number[];
  backend: string;
}

/** Parameter count of the decoder in closed form (no biases; untied head). */
export function decoderParams(c: Pick<TfjsDecoderConfig, 'vocab' | 'width' | 'depth' | 'heads' | 'kvHeads' | 'ffn'>): number {
  const hd = c.width / c.heads;
  const perLayer = 2 * c.width + c.width * (c.heads + 2 * c.kvHeads) * hd + c.heads * hd * c.width + 3 * c.width * c.ffn;
  return c.vocab * c.width + c.depth * perLayer + c.width + c.width * c.vocab;
}

function validate(c: TfjsDecoderConfig): void {
  for (const k of ['vocab', 'width', 'depth', 'heads', 'kvHeads', 'ffn', 'T', 'B'] as const) {
    if (!Number.isInteger(c[k]) || c[k] <= 0) throw new RangeError(`tfjs decoder: ${k} must be a positive integer, got ${c[k]}`);
  }
  if (!Number.isInteger(c.steps) || c.steps <= 0) throw new RangeError(`tfjs decoder: steps must be a positive integer, got ${c.steps}`);
  if (!Number.isInteger(c.warmup) || c.warmup < 0) throw new RangeError(`tfjs decoder: warmup must be a non-negative integer, got ${c.warmup}`);
  if (c.dataBatches !== undefined && (!Number.isInteger(c.dataBatches) || c.dataBatches <= 0)) throw new RangeError(`tfjs decoder: dataBatches must be a positive integer, got ${c.dataBatches}`);
  if (c.width % c.heads !== 0) throw new RangeError(`tfjs decoder: width ${c.width} is not a multiple of heads ${c.heads}`);
  if (c.heads % c.kvHeads !== 0) throw new RangeError(`tfjs decoder: heads ${c.heads} is not a multiple of kvHeads ${c.kvHeads}`);
  if ((c.width / c.heads) % 2 !== 0) throw new RangeError(`tfjs decoder: head size ${c.width / c.heads} must be even for RoPE`);
}

/** mulberry32: seeded uniform integers in [0, n). */
function rng(seed: number): (n: number) => number {
  let s = seed >>> 0;
  return (n) => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n);
  };
}

export interface TfjsDecoderLayer {
  attnNorm: TF.Variable; wq: TF.Variable; wk: TF.Variable; wv: TF.Variable; wo: TF.Variable;
  mlpNorm: TF.Variable; wGate: TF.Variable; wUp: TF.Variable; wDown: TF.Variable;
}

export type TfjsModelConfig = Pick<TfjsDecoderConfig, 'vocab' | 'width' | 'depth' | 'heads' | 'kvHeads' | 'ffn' | 'T' | 'B' | 'seed'>;

/** The decoder's weights (tfjs variables) and its forward pass for batches of B sequences of T tokens. */
export interface TfjsDecoder {
  embed: TF.Variable;
  layers: TfjsDecoderLayer[];
  finalNorm: TF.Variable;
  head: TF.Variable;
  /** Every trainable weight, in a fixed order. */
  params: TF.Variable[];
  /** The weights that take weight decay (the matrices, not the norm gains). */
  decayed: Set<TF.Variable>;
  paramCount: number;
  /** Logits [B·T, vocab] for tokens [B·T] (row b·T + t: sequence b, position t). */
  logits(x: TF.Tensor1D): TF.Tensor2D;
  /** Mean softmax cross-entropy against one-hot targets [B·T, vocab]. */
  loss(x: TF.Tensor1D, yOneHot: TF.Tensor2D): TF.Scalar;
  dispose(): void;
}

/** Builds the decoder with seeded N(0, 0.02) matrices (output projections 0.02/√(2·depth)) and unit gains. */
export function createTfjsDecoder(tf: Tf, c: TfjsModelConfig): TfjsDecoder {
  validate({ ...c, steps: 1, warmup: 0, lr: 0 });
  const { vocab: V, width: D, depth: L, heads: H, kvHeads: KV, ffn: F, T, B } = c;
  const hd = D / H, G = H / KV, N = B * T;
  const normEps = 1e-5, ropeBase = 10000;

  // names are unique per model so several models can live in one process
  const run = `tfjsdec${(nextModel++).toString(36)}`;
  let seedN = (c.seed ?? 0) * 1000;
  const decayed = new Set<TF.Variable>();
  const params: TF.Variable[] = [];
  // tf.variable keeps its initial tensor alive (it shares the data): dispose that tensor once the variable exists.
  const own = (init: TF.Tensor, name: string): TF.Variable => {
    const v = tf.variable(init, true, `${run}/${name}`);
    init.dispose();
    params.push(v);
    return v;
  };
  const mat = (name: string, rows: number, cols: number, std = 0.02): TF.Variable => {
    const v = own(tf.randomNormal([rows, cols], 0, std, 'float32', seedN++), name);
    decayed.add(v);
    return v;
  };
  const gain = (name: string): TF.Variable => own(tf.ones([D]), name);
  const outStd = 0.02 / Math.sqrt(2 * L);
  const embed = mat('embed', V, D);
  const layers: TfjsDecoderLayer[] = [];
  for (let l = 0; l < L; l++) {
    layers.push({
      attnNorm: gain(`l${l}/attn_norm`),
      wq: mat(`l${l}/wq`, D, H * hd), wk: mat(`l${l}/wk`, D, KV * hd), wv: mat(`l${l}/wv`, D, KV * hd), wo: mat(`l${l}/wo`, H * hd, D, outStd),
      mlpNorm: gain(`l${l}/mlp_norm`),
      wGate: mat(`l${l}/w_gate`, D, F), wUp: mat(`l${l}/w_up`, D, F), wDown: mat(`l${l}/w_down`, F, D, outStd),
    });
  }
  const finalNorm = gain('final_norm');
  const head = mat('head', D, V);

  // constants: RoPE tables [1, T, 1, hd] (rotate-half layout) and the causal mask [G·T, T] for stacked heads
  const half = hd / 2;
  const cosT = new Float32Array(T * hd), sinT = new Float32Array(T * hd);
  for (let t = 0; t < T; t++) {
    for (let i = 0; i < half; i++) {
      const a = t * Math.pow(ropeBase, (-2 * i) / hd);
      cosT[t * hd + i] = cosT[t * hd + i + half] = Math.cos(a);
      sinT[t * hd + i] = sinT[t * hd + i + half] = Math.sin(a);
    }
  }
  const maskT = new Float32Array(G * T * T);
  for (let r = 0; r < G * T; r++) for (let s = 0; s < T; s++) maskT[r * T + s] = s <= r % T ? 0 : -1e9;
  const cos = tf.tensor4d(cosT, [1, T, 1, hd]), sin = tf.tensor4d(sinT, [1, T, 1, hd]);
  const mask = tf.tensor2d(maskT, [G * T, T]);

  const rmsnorm = (x: TF.Tensor2D, g: TF.Variable): TF.Tensor2D =>
    tf.mul(tf.mul(x, tf.rsqrt(tf.add(tf.mean(tf.square(x), -1, true), normEps))), g);
  const rope = (x: TF.Tensor4D): TF.Tensor4D => {   // x [B, T, heads, hd]
    const x1 = tf.slice(x, [0, 0, 0, 0], [-1, -1, -1, half]), x2 = tf.slice(x, [0, 0, 0, half], [-1, -1, -1, half]);
    return tf.add(tf.mul(x, cos), tf.mul(tf.concat([tf.neg(x2), x1], 3), sin));
  };
  const attention = (h: TF.Tensor2D, ly: TfjsDecoderLayer): TF.Tensor2D => {
    const q = rope(tf.reshape(tf.matMul(h, ly.wq), [B, T, H, hd]));
    const k = rope(tf.reshape(tf.matMul(h, ly.wk), [B, T, KV, hd]));
    const vv = tf.reshape(tf.matMul(h, ly.wv), [B, T, KV, hd]);
    // query head h = kv·G + g: stack the G heads of each K/V head along rows → [B·KV, G·T, hd]
    const qs = tf.reshape(tf.transpose(tf.reshape(q, [B, T, KV, G, hd]), [0, 2, 3, 1, 4]), [B * KV, G * T, hd]);
    const ks = tf.reshape(tf.transpose(k, [0, 2, 1, 3]), [B * KV, T, hd]);
    const vs = tf.reshape(tf.transpose(vv, [0, 2, 1, 3]), [B * KV, T, hd]);
    const scores = tf.add(tf.mul(tf.matMul(qs, ks, false, true), 1 / Math.sqrt(hd)), mask);
    const o = tf.matMul(tf.softmax(scores), vs);                                   // [B·KV, G·T, hd]
    const merged = tf.reshape(tf.transpose(tf.reshape(o, [B, KV, G, T, hd]), [0, 3, 1, 2, 4]), [N, H * hd]);
    return tf.matMul(merged, ly.wo);
  };
  const logits = (x: TF.Tensor1D): TF.Tensor2D => {
    let h = tf.gather(embed, x) as TF.Tensor2D;                                    // [N, D]
    for (const ly of layers) {
      h = tf.add(h, attention(rmsnorm(h, ly.attnNorm), ly));
      const n = rmsnorm(h, ly.mlpNorm);
      const gate = tf.matMul(n, ly.wGate);
      h = tf.add(h, tf.matMul(tf.mul(tf.mul(gate, tf.sigmoid(gate)), tf.matMul(n, ly.wUp)), ly.wDown));
    }
    return tf.matMul(rmsnorm(h, finalNorm), head);                               // [N, V]
  };
  return {
    embed, layers, finalNorm, head, params, decayed,
    paramCount: params.reduce((s, p) => s + p.size, 0),
    logits,
    loss: (x, yOneHot) => tf.losses.softmaxCrossEntropy(yOneHot, logits(x)) as TF.Scalar,
    dispose() { for (const t of [...params, cos, sin, mask]) t.dispose(); },
  };
}
let nextModel = 0;

/** Trains the decoder for warmup + steps steps on `dev` and reports the timed steps' throughput. */
export async function benchTfjsDecoder(cfg: TfjsDecoderConfig, dev: GpuDevice): Promise<TfjsDecoderResult> {
  validate(cfg);
  const tf: Tf = await openTfjsWebgpu(dev);
  const { vocab: V, T, B } = cfg;
  const N = B * T;
  const seed = cfg.seed ?? 0, wd = cfg.weightDecay ?? 0.1;
  const b1 = 0.9, b2 = 0.95, eps = 1e-8, clip = 1.0;
  const startTensors = tf.memory().numTensors;

  const model = createTfjsDecoder(tf, cfg);
  const { params, decayed } = model;
  const moment = (p: TF.Variable, which: string): TF.Variable => {
    const z = tf.zerosLike(p);
    const v = tf.variable(z, false, `${p.name}/${which}`);
    z.dispose();
    return v;
  };
  const m = params.map((p) => moment(p, 'm'));
  const v = params.map((p) => moment(p, 'v'));

  // data: a fixed pool of seeded random batches (inputs, next-token targets), cycled
  const next = rng(seed ^ 0x9e3779b9);
  const pool = Array.from({ length: cfg.dataBatches ?? 4 }, () => {
    const seq = Int32Array.from({ length: B * (T + 1) }, () => next(V));
    const x = new Int32Array(N), y = new Int32Array(N);
    for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) { x[b * T + t] = seq[b * (T + 1) + t]!; y[b * T + t] = seq[b * (T + 1) + t + 1]!; }
    return { x, y };
  });

  let step = 0;
  const trainStep = (): TF.Scalar => tf.tidy(() => {
    const batch = pool[step % pool.length]!;
    const x = tf.tensor1d(batch.x, 'int32');
    const y = tf.oneHot(tf.tensor1d(batch.y, 'int32'), V) as TF.Tensor2D;
    const { value, grads } = tf.variableGrads(() => model.loss(x, y), params);
    const gs = params.map((p) => grads[p.name]!);
    // addN in chunks: tfjs's AddN binds one storage buffer per input, over the device's per-stage limit at depth ≥ 2
    let sq: TF.Tensor[] = gs.map((g) => tf.sum(tf.square(g)));
    while (sq.length > 1) sq = Array.from({ length: Math.ceil(sq.length / 8) }, (_, i) => tf.addN(sq.slice(i * 8, i * 8 + 8)));
    const norm = tf.sqrt(sq[0]!);
    const scale = tf.minimum(1, tf.div(clip, tf.add(norm, 1e-6)));
    step++;
    // AdamW with the clip factor and the bias corrections folded into scalars (fewer kernels per parameter):
    // m ← β1·m + (1−β1)·s·g;  v ← β2·v + (1−β2)·s²·g²;  θ ← (1 − lr·λ)·θ − lr·√bc2/bc1 · m / (√v + ε·√bc2)
    const bc1 = 1 - Math.pow(b1, step), bc2 = 1 - Math.pow(b2, step);
    const sm = tf.mul(scale, 1 - b1), sv = tf.mul(tf.square(scale), 1 - b2);
    const lrT = (cfg.lr * Math.sqrt(bc2)) / bc1, epsT = eps * Math.sqrt(bc2);
    params.forEach((p, i) => {
      const g = gs[i]!;
      const mi = tf.add(tf.mul(m[i]!, b1), tf.mul(g, sm));
      const vi = tf.add(tf.mul(v[i]!, b2), tf.mul(tf.square(g), sv));
      m[i]!.assign(mi); v[i]!.assign(vi);
      const upd = tf.div(tf.mul(mi, lrT), tf.add(tf.sqrt(vi), epsT));
      p.assign(tf.sub(decayed.has(p) ? tf.mul(p, 1 - cfg.lr * wd) : p, upd));
    });
    return value;
  });

  const losses: number[] = [], liveTensors: number[] = [];
  const once = async (): Promise<void> => {
    const loss = trainStep();
    try { losses.push((await loss.data())[0]!); } finally { loss.dispose(); }
    liveTensors.push(tf.memory().numTensors);
  };
  const backend = tf.getBackend();
  try {
    for (let i = 0; i < cfg.warmup; i++) await once();
    dev.check();
    const t0 = performance.now();
    for (let i = 0; i < cfg.steps; i++) await once();
    const ms = performance.now() - t0;
    dev.check();
    return { tokensPerSecond: (cfg.steps * N) / (ms / 1000), stepMs: ms / cfg.steps, params: model.paramCount, losses, liveTensors, backend };
  } finally {
    model.dispose();
    for (const t of [...m, ...v]) t.dispose();
    const leaked = tf.memory().numTensors - startTensors;
    if (leaked !== 0) console.warn(`tfjs decoder: ${leaked} tensors left after the run`);
  }
}
