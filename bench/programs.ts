// Whole compiled programs for `mm bench kernels`: causal attention forward + backward, one decoding step's
// attention over a KV cache, and one LLaMA-style transformer block forward + backward, each compiled by our
// pipeline (autodiff, fusion, codegen) and run by the executor, beside the same computation written in
// TensorFlow.js (tf.grads for the backward) on the same device.
// Rates are "useful" GFLOP/s: matmuls 3× their forward FLOPs, causal attention 3.5× its forward FLOPs with
// the masked half not counted (tfjs computes the full T×T scores; we skip masked tiles).

import { Graph } from '../compiler/ir/graph.js';
import { grad } from '../compiler/autodiff/grad.js';
import type { GpuDevice } from '../runtime/device.js';
import { GpuEngine } from '../runtime/gpu-engine.js';
import { gflops, median, repsFor, timeWall, type Timing } from './harness.js';
import { attentionLayer, block } from './graphs.js';
import { randomData, rng } from './matmul-check.js';
import type { BenchRow } from './kernels.js';
import type { TfjsPeer } from './peers/tfjs.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
type Tf = any;

interface BlockShape { B: number; T: number; D: number; H: number; F: number }

/** Forward FLOPs of causal attention (q·kᵀ and p·v over the visible half). */
const attnFlops = (B: number, H: number, T: number, Dh: number): number => 2 * 2 * B * H * Dh * (T * (T + 1)) / 2;

/** n seeded uniform values in [−1, 1) as f32 (the matmul check's generator). */
export const seeded = (n: number, seed: number): Float32Array => Float32Array.from(randomData(n, rng(seed), false));

/** Milliseconds of one peer sample (its inputs and program prepared once): see `alternate` below. */
export type PeerSampler = () => Promise<number>;

/**
 * Compiles `g` for `outputs`, feeds it, and times executor steps (wall clock, reps per sample, median). With
 * `alternate`, a peer sample follows each of ours, so load that comes and goes on a shared machine weighs on
 * both; `peerMs` is then the median of the peer's samples.
 */
export async function timeCompiled(gpu: GpuDevice, g: Graph, outputs: string[], feeds: Record<string, Float32Array | Int32Array>,
  targetMs: number, samples: number, alternate?: PeerSampler | null): Promise<{ t: Timing; kernels: number; peerMs: number | null }> {
  const engine = await GpuEngine.create(gpu, g, { outputs, seed: 3 });
  try {
    for (const [name, data] of Object.entries(feeds)) engine.setInput(name, data);
    await engine.run();
    const sync = () => gpu.sync();
    const est = await timeWall(() => engine.exec.run(), sync, { reps: 1, samples: 1, warmup: 1 });
    const reps = repsFor(est.ms, targetMs, 20), mine: number[] = [], theirs: number[] = [];
    for (let s = 0; s < samples; s++) {
      mine.push((await timeWall(() => engine.exec.run(), sync, { reps, samples: 1, warmup: 0 })).ms);
      if (alternate) theirs.push(await alternate());
    }
    return { t: { ms: median(mine), samples: mine, clock: 'wall' }, kernels: engine.program.kernels.length, peerMs: theirs.length ? median(theirs) : null };
  } finally { engine.dispose(); }
}

/** `g` with the loss and its gradients with respect to `wrt` as outputs, timed. */
function timeOurs(gpu: GpuDevice, g: Graph, loss: ReturnType<Graph['sum']>, wrt: ReturnType<Graph['input']>[], feeds: Record<string, Float32Array | Int32Array>,
  targetMs: number, samples: number, alternate: PeerSampler | null): Promise<{ t: Timing; kernels: number; peerMs: number | null }> {
  g.output('loss', loss);
  const outs = ['loss'];
  for (const [n, gn] of grad(g, loss, wrt)) { g.output(`grad:${n.name}`, gn); outs.push(`grad:${n.name}`); }
  return timeCompiled(gpu, g, outs, feeds, targetMs, samples, alternate);
}

/** A peer sampler for `op` on inputs from `make` (reps chosen from a first, untimed-for-the-row estimate). */
export async function peerSampler(peer: TfjsPeer, make: () => any[], op: (xs: any[]) => any, targetMs: number): Promise<PeerSampler> {
  const est = await peer.time(make, op, { reps: 1, samples: 1, warmup: 0 });
  const reps = repsFor(est.ms, targetMs, 20);
  return async () => (await peer.time(make, op, { reps, samples: 1, warmup: 0 })).ms;
}

/** tf.grads of the scalar f(xs) with respect to the first nGrads inputs (the rest are constants), sampled. */
function gradSampler(peer: TfjsPeer, make: (tf: Tf) => any[], f: (tf: Tf, xs: any[]) => any, nGrads: number, targetMs: number): Promise<PeerSampler> {
  const tf = peer.tf;
  const op = (xs: any[]): any => {
    const gs = tf.grads((...ys: any[]) => f(tf, [...ys, ...xs.slice(nGrads)]))(xs.slice(0, nGrads));
    return { dispose: () => { for (const t of gs) t.dispose(); } };
  };
  return peerSampler(peer, () => make(tf), op, targetMs);
}

function row(name: string, shape: string, flops: number, ours: { t: Timing; kernels: number; peerMs: number | null }, note: string): BenchRow {
  const peerMs = ours.peerMs;
  const o = gflops(flops, ours.t.ms), p = peerMs === null ? null : gflops(flops, peerMs);
  return { kind: 'program', name, shape, unit: 'GFLOP/s', variant: `${ours.kernels} kernel${ours.kernels === 1 ? '' : 's'}`, ours: o, oursMs: ours.t.ms,
    peer: p, peerMs, ratio: p ? o / p : null, note };
}

/** tfjs attention o = softmax(q·kᵀ/√d [+ mask])·v over [B·H, T, Dh] (heads folded into the batch). */
function tfAttention(tf: Tf, q: any, k: any, v: any, mask: any | null, Dh: number): any {
  const scores = tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(Dh));
  return tf.matMul(tf.softmax(mask ? tf.add(scores, mask) : scores), v);
}

function causalMask(tf: Tf, T: number): any {
  const m = new Float32Array(T * T);
  for (let i = 0; i < T; i++) for (let j = i + 1; j < T; j++) m[i * T + j] = -1e9;
  return tf.tensor2d(m, [T, T]);
}

/** `small`: toy shapes (a smoke test of the rows, not a measurement). */
export async function benchPrograms(gpu: GpuDevice, peer: TfjsPeer | null, opts: { quick: boolean; log: (s: string) => void; small?: boolean }): Promise<BenchRow[]> {
  const software = gpu.caps.software;
  const targetMs = software ? (opts.quick ? 300 : 1000) : 100, samples = opts.quick ? 3 : 5;
  const rows: BenchRow[] = [];

  // Attention forward + backward (dq, dk, dv). GPUs: the 134M decoder's shape (12 heads of 64, T 1024, B 16).
  const a = opts.small ? { B: 1, H: 2, T: 40, Dh: 16 } : software ? { B: 2, H: 4, T: 256, Dh: 64 } : { B: 16, H: 12, T: 1024, Dh: 64 };
  {
    const { B, H, T, Dh } = a, n = B * H * T * Dh;
    const g = new Graph();
    const { q, k, v, loss } = attentionLayer(g, B, H, H, T, Dh);
    const feeds = { q: seeded(n, 1), k: seeded(n, 2), v: seeded(n, 3), r: seeded(n, 4) };
    let sampler: PeerSampler | null = null, note = 'forward + dq, dk, dv; FLOPs: 3.5 × the causal forward';
    if (peer) {
      try {
        sampler = await gradSampler(peer, (tf) => [feeds.q, feeds.k, feeds.v, feeds.r].map((d) => tf.tensor3d(d, [B * H, T, Dh])).concat([causalMask(tf, T)]),
          (tf, [qq, kk, vv, rr, mask]) => tf.sum(tf.mul(tfAttention(tf, qq, kk, vv, mask, Dh), rr)), 3, targetMs);
      } catch (e) { note += `; tfjs: ${(e as Error).message.split('\n')[0]}`; }
    }
    const ours = await timeOurs(gpu, g, loss, [q, k, v], feeds, targetMs, samples, sampler);
    rows.push(row('attention fwd+bwd', `B${B} H${H} T${T} d${Dh}`, 3.5 * attnFlops(B, H, T, Dh), ours, note));
    opts.log(`attention fwd+bwd: ours ${ours.t.ms.toFixed(2)} ms${ours.peerMs !== null ? `, tfjs ${ours.peerMs.toFixed(2)} ms` : ''}`);
  }

  // One decoding step's attention: one query per head over a KV cache filled up to `pos` (of `cache` rows).
  // tfjs sees only the filled rows (it has no cache), so it does exactly the useful work.
  const dcd = opts.small ? { H: 2, cache: 64, pos: 40, Dh: 16 } : software ? { H: 8, cache: 2048, pos: 1000, Dh: 64 } : { H: 12, cache: 4096, pos: 4000, Dh: 64 };
  {
    const { H, cache, pos, Dh } = dcd, n = pos + 1;
    const g = new Graph();
    const q = g.input('q', [1, H, 1, Dh]), k = g.input('k', [1, H, cache, Dh]), v = g.input('v', [1, H, cache, Dh]);
    g.output('o', g.attention(q, k, v, { causal: true, qPos: g.input('qp', [1], 'i32') }));
    const feeds = { q: seeded(H * Dh, 7), k: seeded(H * cache * Dh, 8), v: seeded(H * cache * Dh, 9), qp: Int32Array.from([pos]) };
    let sampler: PeerSampler | null = null, note = 'forward only; FLOPs: q·kᵀ and p·v over the filled rows';
    if (peer) {
      try {
        const tf = peer.tf;
        // Each head's first n cache rows.
        const filled = (d: Float32Array) => Float32Array.from({ length: H * n * Dh }, (_, i) => d[Math.floor(i / (n * Dh)) * cache * Dh + (i % (n * Dh))]!);
        const kf = filled(feeds.k), vf = filled(feeds.v);
        sampler = await peerSampler(peer, () => [tf.tensor3d(feeds.q, [H, 1, Dh]), tf.tensor3d(kf, [H, n, Dh]), tf.tensor3d(vf, [H, n, Dh])],
          ([qq, kk, vv]) => tfAttention(tf, qq, kk, vv, null, Dh), targetMs);
      } catch (e) { note += `; tfjs: ${(e as Error).message.split('\n')[0]}`; }
    }
    const ours = await timeCompiled(gpu, g, ['o'], feeds, targetMs, samples, sampler);
    rows.push(row('attention decode', `H${H} cache ${cache} pos ${pos} d${Dh}`, 4 * H * n * Dh, ours, note));
    opts.log(`attention decode: ours ${ours.t.ms.toFixed(3)} ms${ours.peerMs !== null ? `, tfjs ${ours.peerMs.toFixed(3)} ms` : ''}`);
  }

  // One transformer block forward + backward (all weight gradients and dx). GPUs: a 134M decoder layer.
  const s: BlockShape = opts.small ? { B: 1, T: 24, D: 32, H: 2, F: 48 } : software ? { B: 2, T: 128, D: 256, H: 4, F: 704 } : { B: 16, T: 1024, D: 768, H: 12, F: 2048 };
  {
    const { B, T, D, H, F } = s, Dh = D / H, N = B * T;
    const g = new Graph();
    const { x, y, params } = block(g, B, T, D, H, H, F);
    const r = g.input('r', y.shape);
    const loss = g.sum(g.mul(y, r), [0, 1, 2]);
    const feeds = { x: seeded(N * D, 5), r: seeded(N * D, 6), pos: Int32Array.from({ length: T }, (_, i) => i) };
    const flops = 3 * 2 * N * (4 * D * D + 3 * D * F) + 3.5 * attnFlops(B, H, T, Dh);
    let sampler: PeerSampler | null = null, note = 'rmsnorm, q/k/v/o, RoPE, causal attention, SwiGLU; dx and every weight gradient';
    if (peer) try {
      sampler = await gradSampler(peer, (tf) => {
        const w = (rows_: number, cols: number, seed: number) => tf.tensor2d(seeded(rows_ * cols, seed).map((z) => z * 0.1), [rows_, cols]);
        const half = Dh / 2, cosT = new Float32Array(T * Dh), sinT = new Float32Array(T * Dh);
        for (let t = 0; t < T; t++) for (let i = 0; i < half; i++) {
          const ang = t * Math.pow(10000, (-2 * i) / Dh);
          cosT[t * Dh + i] = cosT[t * Dh + i + half] = Math.cos(ang);
          sinT[t * Dh + i] = sinT[t * Dh + i + half] = Math.sin(ang);
        }
        return [tf.tensor2d(feeds.x, [N, D]), tf.ones([D]), w(D, D, 11), w(D, D, 12), w(D, D, 13), w(D, D, 14), tf.ones([D]), w(D, F, 15), w(D, F, 16), w(F, D, 17),
          tf.tensor2d(feeds.r, [N, D]), tf.tensor4d(cosT, [1, T, 1, Dh]), tf.tensor4d(sinT, [1, T, 1, Dh]), causalMask(tf, T)];
      }, (tf, [xx, n1, wq, wk, wv, wo, n2, wg, wu, wd, rr, cos, sin, mask]) => {
        const rms = (t: any, gn: any) => tf.mul(tf.mul(t, tf.rsqrt(tf.add(tf.mean(tf.square(t), -1, true), 1e-5))), gn);
        const rope = (t: any) => {
          const t1 = tf.slice(t, [0, 0, 0, 0], [-1, -1, -1, Dh / 2]), t2 = tf.slice(t, [0, 0, 0, Dh / 2], [-1, -1, -1, Dh / 2]);
          return tf.add(tf.mul(t, cos), tf.mul(tf.concat([tf.neg(t2), t1], 3), sin));
        };
        const heads = (t: any) => tf.reshape(tf.transpose(t, [0, 2, 1, 3]), [B * H, T, Dh]);
        const h1 = rms(xx, n1);
        const q = heads(rope(tf.reshape(tf.matMul(h1, wq), [B, T, H, Dh])));
        const k = heads(rope(tf.reshape(tf.matMul(h1, wk), [B, T, H, Dh])));
        const v = heads(tf.reshape(tf.matMul(h1, wv), [B, T, H, Dh]));
        const o = tf.reshape(tf.transpose(tf.reshape(tfAttention(tf, q, k, v, mask, Dh), [B, H, T, Dh]), [0, 2, 1, 3]), [N, D]);
        const x2 = tf.add(xx, tf.matMul(o, wo));
        const h2 = rms(x2, n2);
        const gt = tf.matMul(h2, wg);
        const yy = tf.add(x2, tf.matMul(tf.mul(tf.mul(gt, tf.sigmoid(gt)), tf.matMul(h2, wu)), wd));
        return tf.sum(tf.mul(yy, rr));
      }, 10, targetMs);
    } catch (e) { note += `; tfjs: ${(e as Error).message.split('\n')[0]}`; }
    const ours = await timeOurs(gpu, g, loss, [x, ...params], feeds, targetMs, samples, sampler);
    rows.push(row('block fwd+bwd', `B${B} T${T} d${D} H${H} ffn${F}`, flops, ours, note));
    opts.log(`block fwd+bwd: ours ${ours.t.ms.toFixed(2)} ms${ours.peerMs !== null ? `, tfjs ${ours.peerMs.toFixed(2)} ms` : ''}`);
  }
  return rows;
}
