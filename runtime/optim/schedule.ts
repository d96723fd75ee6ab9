// Learning-rate schedules and MM1's hyper-parameter rules: linear warm-up from 0 to the peak, then cosine (or
// linear) decay to `final`·peak at `total` steps; the peak LR from MM1's fitted scaling law in the number of
// non-embedding parameters, and weight decay λ = 0.1·η.

import { mm1LearningRate } from '../../compiler/semantics/counts.js';

export type ScheduleKind = 'cosine' | 'linear' | 'constant';
export interface Schedule {
  peak: number;
  /** Warm-up steps: lr rises linearly from 0 at step 0 to `peak` at step `warmup`. */
  warmup: number;
  /** End value as a fraction of the peak (MM1: 0.1). */
  final: number;
  /** Step at which the decay reaches final·peak; later steps stay there. */
  total: number;
  kind: ScheduleKind;
}

export function lrAt(step: number, s: Schedule): number {
  if (step < 0) return 0;
  if (step < s.warmup) return (s.peak * step) / s.warmup;
  if (s.kind === 'constant') return s.peak;
  const end = s.final * s.peak;
  const span = s.total - s.warmup;
  const p = span <= 0 ? 1 : Math.min(1, (step - s.warmup) / span);
  if (s.kind === 'linear') return s.peak + (end - s.peak) * p;
  return end + (s.peak - end) * 0.5 * (1 + Math.cos(Math.PI * p));
}

/**
 * MM1's peak LR for N non-embedding parameters: η = exp(−0.4214·ln N − 0.5535). It gives 5.83e-5 at N = 3e9
 * (the paper's "≈ 6e-5 at 3B") and 8.58e-5 at 1.2e9.
 */
export function mm1PeakLr(nonEmbeddingParams: number): number {
  if (!(nonEmbeddingParams > 0)) throw new RangeError(`mm1PeakLr: parameter count must be positive, got ${nonEmbeddingParams}`);
  return mm1LearningRate(nonEmbeddingParams);
}

/**
 * MM1's weight decay λ = 0.1·η (η the peak LR). The spec's choice, as in MM1 and Apple's AXLearn: the decay is
 * decoupled (AdamW) and follows the schedule, θ ← θ − lr(t)·(λ/η)·θ, i.e. a per-step factor 0.1·lr(t).
 */
export function mm1WeightDecay(peakLr: number): number {
  return 0.1 * peakLr;
}
