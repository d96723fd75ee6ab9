// A small matmul autotuner: times the candidate configurations for one shape on one adapter, keeps the fastest,
// and remembers it in a JSON cache keyed by adapter and shape (default ~/.cache/mm/matmul-tune.json), so a later
// run (or the executor, through `lookupTuned`) can emit the tuned kernel without timing anything.

import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import type { GpuDevice } from '../runtime/device.js';
import { kernelCaps, type KernelCaps } from '../compiler/codegen/caps.js';
import { emitMatmul, type MatmulOptions, type MatmulSpec } from '../compiler/codegen/matmul.js';
import { timeMatmul } from './kernels.js';

export interface TuneEntry { options: MatmulOptions; variant: string; ms: number; date: string; tried: { variant: string; ms: number }[] }
type Cache = Record<string, Record<string, TuneEntry>>;

export const defaultCachePath = (): string => join(homedir(), '.cache', 'mm', 'matmul-tune.json');

export function adapterKey(c: { vendor: string; device?: string; architecture?: string; description?: string }): string {
  return [c.vendor, c.device ?? '', c.architecture ?? '', c.description ?? ''].join('|');
}

export function shapeKey(s: MatmulSpec): string {
  return `${s.batch}x${s.M}x${s.N}x${s.K}${s.transA ? ' At' : ''}${s.transB ? ' Bt' : ''} ` +
    `sa${s.aBatchStride} sb${s.bBatchStride} ${s.inType}>${s.outType}${s.epilogue ? ` +${s.epilogue.extraBindings}` : ''}`;
}

function readCache(path: string): Cache {
  try { return JSON.parse(readFileSync(path, 'utf8')) as Cache; } catch { return {}; }
}

function writeCache(path: string, cache: Cache): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;          // write then rename: a concurrent reader never sees half a file
  writeFileSync(tmp, JSON.stringify(cache, null, 1));
  renameSync(tmp, path);
}

/** The tuned options for this adapter and shape, if a previous run stored them (no device needed). */
export function lookupTuned(adapter: string, spec: MatmulSpec, cachePath = defaultCachePath()): MatmulOptions | null {
  return readCache(cachePath)[adapter]?.[shapeKey(spec)]?.options ?? null;
}

/** Configurations worth timing on this adapter (the heuristic's own choice first). */
export function candidates(spec: MatmulSpec, caps: KernelCaps): MatmulOptions[] {
  const list: MatmulOptions[] = caps.software
    ? [{}, { variant: 'reg4', reg4Workgroup: 16 }, { variant: 'reg4', reg4Workgroup: 32 }, { variant: 'reg4', reg4Workgroup: 64 },
      { variant: 'reg4', reg4Rows: 8 }, { variant: 'reg4', reg4Rows: 4 }, { variant: 'lanes' }, { variant: 'lanes', lanes: { WG: 8, RM: 4, CN: 4 } },
      { variant: 'lanes', lanes: { WG: 16, RM: 4, CN: 8 } }]
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
  const path = opts.cachePath ?? defaultCachePath();
  const adapter = adapterKey(gpu.caps), key = shapeKey(spec);
  const hit = readCache(path)[adapter]?.[key];
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
  const cache = readCache(path);                     // re-read: another process may have tuned other shapes meanwhile
  (cache[adapter] ??= {})[key] = entry;
  writeCache(path, cache);
  return { ...entry, cached: false };
}
