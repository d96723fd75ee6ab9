// The matmul tuning table: what `mm bench tune` measured fastest for each matmul shape on each adapter, kept
// in a JSON file (default ~/.cache/mm/matmul-tune.json; MM_TUNING names another, MM_TUNING=off ignores it).
// tunedKernelCaps() hands the table for the open adapter to the compiler as plain data (KernelCaps.matmulTuning),
// so compiler/ stays free of file access and a program compiled without a table is exactly the heuristic's.

import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { kernelCaps, type KernelCaps } from '../compiler/codegen/caps.js';
import type { MatmulOptions } from '../compiler/codegen/matmul.js';
import type { DeviceCaps } from './device.js';

export interface TuneEntry { options: MatmulOptions; variant: string; ms: number; date: string; tried: { variant: string; ms: number }[] }
/** adapter key → tuning key → entry. */
export type TuningTable = Record<string, Record<string, TuneEntry>>;

/** Where `mm bench tune` stores the table: MM_TUNING when it names a file, else the default. */
export function tuningStorePath(): string {
  const env = process.env.MM_TUNING;
  return env && env !== 'off' ? env : join(homedir(), '.cache', 'mm', 'matmul-tune.json');
}

/** Where compilation reads the table from, or null when MM_TUNING=off. */
export function tuningPath(): string | null {
  return process.env.MM_TUNING === 'off' ? null : tuningStorePath();
}

export function adapterKey(c: { vendor: string; device?: string; architecture?: string; description?: string }): string {
  return [c.vendor, c.device ?? '', c.architecture ?? '', c.description ?? ''].join('|');
}

/** The table at `path` ({} when missing or unreadable: tuning is an optimisation, never a requirement). */
export function readTuning(path: string): TuningTable {
  try { return JSON.parse(readFileSync(path, 'utf8')) as TuningTable; } catch { return {}; }
}

/** Writes the table atomically (temporary file, then rename), so a concurrent reader never sees half a file. */
export function writeTuning(path: string, table: TuningTable): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(table, null, 1));
  renameSync(tmp, path);
}

/** KernelCaps of the adapter with its tuned matmul choices, if any were stored. */
export function tunedKernelCaps(dc: DeviceCaps, path: string | null = tuningPath()): KernelCaps {
  const caps = kernelCaps(dc);
  const entries = path ? readTuning(path)[adapterKey(dc)] : undefined;
  if (!entries || !Object.keys(entries).length) return caps;
  return { ...caps, matmulTuning: Object.fromEntries(Object.entries(entries).map(([k, e]) => [k, e.options])) };
}
