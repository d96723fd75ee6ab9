// Learning-rate schedule shapes at the points that define them, and MM1's LR / weight-decay rules.

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { lrAt, mm1PeakLr, mm1WeightDecay, type Schedule } from '../../runtime/optim/schedule.js';

const mm1: Schedule = { peak: 1e-4, warmup: 2000, final: 0.1, total: 200_000, kind: 'cosine' };

describe('lrAt', () => {
  it('linear warm-up from 0 to the peak', () => {
    expect(lrAt(0, mm1)).toBe(0);
    expect(lrAt(500, mm1)).toBeCloseTo(2.5e-5, 18);
    expect(lrAt(2000, mm1)).toBeCloseTo(1e-4, 18);
  });

  it('cosine: half-way is the mean of peak and final·peak; the end is final·peak and stays there', () => {
    expect(lrAt(101_000, mm1)).toBeCloseTo((1e-4 + 1e-5) / 2, 18);
    expect(lrAt(200_000, mm1)).toBeCloseTo(1e-5, 18);
    expect(lrAt(300_000, mm1)).toBeCloseTo(1e-5, 18);
    // A quarter of the way: end + (peak − end)·(1 + cos(π/4))/2.
    expect(lrAt(2000 + 49_500, mm1)).toBeCloseTo(1e-5 + 9e-5 * (1 + Math.SQRT1_2) / 2, 18);
  });

  it('linear and constant decays', () => {
    const lin = { ...mm1, kind: 'linear' as const };
    expect(lrAt(101_000, lin)).toBeCloseTo(5.5e-5, 18);
    expect(lrAt(200_000, lin)).toBeCloseTo(1e-5, 18);
    const con = { ...mm1, kind: 'constant' as const };
    expect(lrAt(1000, con)).toBeCloseTo(5e-5, 18);
    expect(lrAt(150_000, con)).toBe(1e-4);
  });

  it('is non-decreasing in warm-up, non-increasing after, within [final·peak, peak]', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 250_000 }), fc.integer({ min: 1, max: 5000 }), fc.constantFrom('cosine', 'linear'), (s, d, kind) => {
      const sch = { ...mm1, kind: kind as 'cosine' | 'linear' };
      const a = lrAt(s, sch), b = lrAt(s + d, sch);
      if (s + d <= sch.warmup) expect(b).toBeGreaterThanOrEqual(a);
      if (s >= sch.warmup) { expect(b).toBeLessThanOrEqual(a + 1e-20); expect(a).toBeGreaterThanOrEqual(1e-5 - 1e-18); expect(a).toBeLessThanOrEqual(1e-4); }
    }));
  });
});

describe('MM1 hyper-parameter rules', () => {
  it('peak LR exp(−0.4214·ln N − 0.5535): 5.834e-5 at 3e9 (the paper\'s "≈ 6e-5 at 3B")', () => {
    expect(mm1PeakLr(3e9)).toBeCloseTo(5.8339017e-5, 11);
    expect(Math.abs(mm1PeakLr(3e9) - 6e-5) / 6e-5).toBeLessThan(0.03);
    expect(mm1PeakLr(1.2e9)).toBeCloseTo(8.5832e-5, 9);
    expect(mm1PeakLr(30e9)).toBeLessThan(mm1PeakLr(3e9));
    expect(() => mm1PeakLr(0)).toThrow(RangeError);
  });

  it('weight decay λ = 0.1·η', () => {
    expect(mm1WeightDecay(mm1PeakLr(3e9))).toBeCloseTo(5.8339017e-6, 12);
  });
});
