// The optimizer step as IR: gradients by autodiff, loss scaling, gradient accumulation, global-norm clipping
// and AdamW (decoupled weight decay) for every trainable parameter, all as ordinary elementwise ops assigned
// back to their leaves, so the whole training step is one compiled program that fuses like the forward.
//
// Per-step scalars are graph inputs (never constants) so a changing learning rate or loss scale never forces
// recompilation: lr, bc1 = 1 - β1^t, bc2 = 1 - β2^t, loss_scale, apply (1 on the last micro-batch of a step).

import type { Graph } from '../ir/graph.js';
import type { Node } from '../ir/node.js';
import { grad } from '../autodiff/grad.js';

export interface AdamWOptions {
  betas: [number, number];
  eps: number;
  weightDecay: number;    // PyTorch AdamW's weight_decay (scaled by lr); applied to matrices, not to norms/biases
  clip: number;           // global gradient-norm clip; 0 = off
  accumulate: number;     // micro-batches per optimizer step (1 = no accumulation state)
}

export interface TrainStep {
  /** Outputs: 'loss' (unscaled), 'grad_norm' (of the accumulated, unscaled gradient; non-finite ⇒ step skipped). */
  gradNorm: Node;
  params: Node[];
}

export function buildTrainStep(g: Graph, loss: Node, opts: AdamWOptions): TrainStep {
  const params = g.params().filter((p) => g.leaves.get(p)?.trainable !== false);
  // The update runs in f32 even when the step computes in f16 (eps = 1e-8 and v = g² underflow in f16).
  const f32 = { keepF32: true };
  const lr = g.input('lr', [], 'f32', f32);
  const bc1 = g.input('bc1', [], 'f32', f32);
  const bc2 = g.input('bc2', [], 'f32', f32);
  const lossScale = g.input('loss_scale', [], 'f32');
  const apply = opts.accumulate > 1 ? g.input('apply', [], 'f32') : null;
  const [b1, b2] = opts.betas;

  const grads = grad(g, g.mul(loss, lossScale), params);
  const invScale = g.div(g.scalar(1 / opts.accumulate), lossScale);

  // Gradients of this micro-batch, unscaled and averaged over the accumulation; then accumulated.
  const total = new Map<Node, Node>();
  for (const p of params) {
    const gp = grads.get(p);
    let gr = gp ? g.mul(gp, invScale) : g.expand(g.scalar(0), p.shape);     // [p.shape]
    if (apply) {
      const acc = g.state(`gradacc.${p.name}`, p.shape, 'f32', { kind: 'zeros' }, f32);
      gr = g.add(acc, gr);
      g.assign(acc, g.mul(gr, g.sub(g.scalar(1), apply)));                   // kept until applied, then zeroed
    }
    total.set(p, gr);
  }

  // Global L2 norm over every gradient element. A non-finite norm skips the whole update. Every per-parameter
  // sum comes before the additions, so the sums are consecutive in the schedule and share kernels.
  const sums = [...total.values()].map((gr) => g.sum(g.mul(gr, gr), gr.shape.map((_, i) => i)));
  const sumsq: Node | null = sums.length ? sums.reduce((a, s) => g.add(a, s)) : null;
  const gradNorm = g.output('grad_norm', g.sqrt(sumsq ?? g.scalar(0)));
  const finite = g.compare(gradNorm, g.scalar(3e38), 'lt');                   // false for NaN and ±inf
  const clipScale = opts.clip > 0 ? g.min(g.scalar(1), g.div(g.scalar(opts.clip), g.add(gradNorm, g.scalar(1e-6)))) : g.scalar(1);
  const doUpdate = apply ? g.mul(finite, apply) : finite;

  for (const p of params) {
    const gr = g.mul(total.get(p)!, clipScale);
    const m = g.state(`adam.m.${p.name}`, p.shape, 'f32', { kind: 'zeros' }, f32);
    const v = g.state(`adam.v.${p.name}`, p.shape, 'f32', { kind: 'zeros' }, f32);
    const m2 = g.add(g.mul(m, g.scalar(b1)), g.mul(gr, g.scalar(1 - b1)));
    const v2 = g.add(g.mul(v, g.scalar(b2)), g.mul(g.mul(gr, gr), g.scalar(1 - b2)));
    const mhat = g.div(m2, bc1);
    const vhat = g.div(v2, bc2);
    let step = g.div(mhat, g.add(g.sqrt(vhat), g.scalar(opts.eps)));
    if (opts.weightDecay > 0 && p.shape.length >= 2) step = g.add(step, g.mul(p, g.scalar(opts.weightDecay)));
    const p2 = g.sub(p, g.mul(lr, step));
    // The parameter's update first: it reads the old m and v, so the m and v kernels after it may write
    // their leaves in place.
    const pNext = g.where(doUpdate, p2, p);
    g.assign(m, g.where(doUpdate, m2, m));
    g.assign(v, g.where(doUpdate, v2, v));
    g.assign(p, pNext);
  }
  return { gradNorm, params };
}
