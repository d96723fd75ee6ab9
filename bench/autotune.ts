// A small matmul autotuner: times the candidate configurations for one shape on one adapter, keeps the fastest,
// and remembers it in the tuning table keyed by adapter and shape (runtime/tuning.ts), which every later
// compilation for that adapter consults (tunedKernelCaps), so no run times anything twice.

import type { GpuDevice } from '../runtime/device.js';
import { kernelCaps, type KernelCaps } from '../compiler/codegen/caps.js';
import { emitMatmul, tuningKey, type MatmulOptions, type MatmulShape, type MatmulSpec } from '../compiler/codegen/matmul.js';
import type { Program } from '../compiler/codegen/program.js';
import { adapterKey, readTuning, tuningStorePath, writeTuning, type TuneEntry } from '../runtime/tuning.js';
import { timeMatmul } from './kernels.js';

export { adapterKey, type TuneEntry };

/** The tuned options for this adapter and shape, if a previous run stored them (no device needed). */
export function lookupTuned(adapter: string, spec: MatmulSpec, cachePath = tuningStorePath()): MatmulOptions | null {
  return readTuning(cachePath)[adapter]?.[tuningKey(spec)]?.options ?? null;
}

/** Configurations worth timing on this adapter (the heuristic's own choice first). */
export function candidates(spec: MatmulSpec, caps: KernelCaps): MatmulOptions[] {
  const list: MatmulOptions[] = caps.software
    ? [{}, { variant: 'reg4', reg4Workgroup: 16 }, { variant: 'reg4', reg4Workgroup: 32 }, { variant: 'reg4', reg4Workgroup: 64 },
      { variant: 'reg4', reg4Rows: 24 }, { variant: 'reg4', reg4Rows: 16 }, { variant: 'reg4', reg4Rows: 16, reg4Workgroup: 16 },
      { variant: 'reg4', reg4Rows: 8 }, { variant: 'reg4', reg4Rows: 4 }, { variant: 'lanes' }, { variant: 'lanes', lanes: { WG: 8, RM: 16, CN: 4 } },
      { variant: 'lanes', lanes: { WG: 8, RM: 8, CN: 4 } }, { variant: 'lanes', lanes: { WG: 8, RM: 4, CN: 4 } }, { variant: 'lanes', lanes: { WG: 16, RM: 4, CN: 8 } }]
    : [{}, { variant: 'tiled', tile: 'small' }, { variant: 'tiled', tile: { BM: 128, BN: 128, BK: 16, TM: 8, TN: 8 } },
      { variant: 'tiled', tile: { BM: 64, BN: 128, BK: 32, TM: 4, TN: 8 } },
      { variant: 'sgmat', sgmat: { tile: 'large' } }, { variant: 'sgmat', sgmat: { tile: 'medium' } }, { variant: 'sgmat', sgmat: { tile: 'small' } }];
  const seen = new Set<string>();
  return list.filter((o) => {
    try { const v = emitMatmul(spec, caps, o).variant; if (seen.has(v)) return false; seen.add(v); return true; } catch { return false; }
  });
}

/** Times every candidate (or returns the cached winner) and stores the fastest. */
export async function autotune(gpu: GpuDevice, spec: MatmulSpec, opts: { cachePath?: string; targetMs?: number; force?: boolean; log?: (s: string) => void } = {}):
  Promise<TuneEntry & { cached: boolean }> {
  const path = opts.cachePath ?? tuningStorePath();
  const adapter = adapterKey(gpu.caps), key = tuningKey(spec);
  const hit = readTuning(path)[adapter]?.[key];
  if (hit && !opts.force) return { ...hit, cached: true };
  const caps = kernelCaps(gpu.caps);
  const tried: { variant: string; ms: number }[] = [];
  let best: { options: MatmulOptions; variant: string; ms: number } | null = null;
  for (const o of candidates(spec, caps)) {
    const k = emitMatmul(spec, caps, o);
    try {
      const t = await timeMatmul(gpu, spec, k, opts.targetMs ?? (caps.software ? 100 : 20), 3, gpu.caps.timestampQuery ? 'timestamp' : 'wall');
      tried.push({ variant: k.variant, ms: t.ms });
      opts.log?.(`${key}: ${k.variant} ${t.ms.toFixed(3)} ms`);
      if (!best || t.ms < best.ms) best = { options: o, variant: k.variant, ms: t.ms };
    } catch (e) { opts.log?.(`${key}: ${k.variant} failed: ${(e as Error).message.split('\n')[0]}`); }
  }
  if (!best) throw new Error(`autotune: no matmul candidate ran for ${key}`);
  const entry: TuneEntry = { ...best, date: new Date().toISOString(), tried };
  const cache = readTuning(path);                    // re-read: another process may have tuned other shapes meanwhile
  (cache[adapter] ??= {})[key] = entry;
  writeTuning(path, cache);
  return { ...entry, cached: false };
}

export interface TuneRow { key: string; kernels: number; defaultVariant: string; defaultMs: number; variant: string; ms: number; cached: boolean }

/**
 * Tunes every distinct matmul shape of a compiled program (its kernels' `matmul` shapes) and stores the
 * winners: the next compilation for this adapter uses them. Rows give the heuristic's choice beside the best.
 */
export async function tuneProgram(gpu: GpuDevice, program: Program, opts: { cachePath?: string; force?: boolean; targetMs?: number; log?: (s: string) => void } = {}): Promise<TuneRow[]> {
  const byKey = new Map<string, { shape: MatmulShape; kernels: number }>();
  for (const k of program.kernels) {
    if (!k.matmul) continue;
    const key = tuningKey(k.matmul);
    const e = byKey.get(key);
    if (e) e.kernels++; else byKey.set(key, { shape: k.matmul, kernels: 1 });
  }
  const rows: TuneRow[] = [];
  for (const [key, { shape, kernels }] of byKey) {
    const { epilogueBindings: _, ...plain } = shape;
    const r = await autotune(gpu, { ...plain, name: 'tune' }, { cachePath: opts.cachePath, force: opts.force, targetMs: opts.targetMs });
    const first = r.tried[0] ?? { variant: r.variant, ms: r.ms };    // candidates() puts the heuristic's choice first
    rows.push({ key, kernels, defaultVariant: first.variant, defaultMs: first.ms, variant: r.variant, ms: r.ms, cached: r.cached });
    opts.log?.(`${key}: ${first.variant} ${first.ms.toFixed(3)} ms → ${r.variant} ${r.ms.toFixed(3)} ms${r.cached ? ' (stored earlier)' : ''}`);
  }
  return rows;
}

export function formatTune(rows: TuneRow[], path: string): string {
  const lines = ['| matmul shape | kernels | heuristic | ms | tuned | ms | gain |', '|---|---|---|---|---|---|---|'];
  for (const r of rows) {
    lines.push(`| ${r.key} | ${r.kernels} | ${r.defaultVariant} | ${r.defaultMs.toFixed(3)} | ${r.variant} | ${r.ms.toFixed(3)} | ${(r.defaultMs / r.ms).toFixed(2)}×${r.cached ? ' (stored earlier)' : ''} |`);
  }
  const before = rows.reduce((a, r) => a + r.defaultMs * r.kernels, 0), after = rows.reduce((a, r) => a + r.ms * r.kernels, 0);
  lines.push('', `matmul time per step: ${before.toFixed(2)} ms with the heuristic, ${after.toFixed(2)} ms tuned (${(before / Math.max(after, 1e-9)).toFixed(2)}×); stored in ${path}`);
  return lines.join('\n');
}
