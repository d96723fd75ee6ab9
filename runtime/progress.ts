// Training progress: a cli-progress bar on a terminal (step, loss, tokens/s, ETA); on a pipe or in CI, a plain
// line every `intervalMs` (cli-progress's noTTYOutput mode redraws too often for logs); nothing in --json mode,
// where stdout belongs to the machine-readable result.

import cliProgress from 'cli-progress';

export type ProgressMode = 'auto' | 'tty' | 'plain' | 'json';
export interface ProgressOptions {
  total: number;
  mode?: ProgressMode;
  /** Where output goes (default process.stderr). */
  stream?: NodeJS.WritableStream & { isTTY?: boolean };
  /** Plain mode: minimum time between lines (default 10 s); the first and last step always print. */
  intervalMs?: number;
  /** Clock in ms (tests inject one). */
  now?: () => number;
  /** Step the run starts from (resume): rates and ETA count from here. */
  startStep?: number;
}
export interface StepInfo { loss?: number; tokens?: number; lr?: number }
export interface Progress { update(step: number, info?: StepInfo): void; stop(): void }

export function formatDuration(sec: number): string {
  if (!Number.isFinite(sec) || sec < 0) return '?';
  const s = Math.round(sec);
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : m > 0 ? `${m}m${String(r).padStart(2, '0')}s` : `${r}s`;
}

export function createProgress(opts: ProgressOptions): Progress {
  const stream = opts.stream ?? process.stderr;
  const now = opts.now ?? Date.now;
  const mode = opts.mode === undefined || opts.mode === 'auto' ? (stream.isTTY ? 'tty' : 'plain') : opts.mode;
  if (mode === 'json') return { update() {}, stop() {} };

  const t0 = now();
  const start = opts.startStep ?? 0;
  let tokens = 0;
  const stats = (step: number, info: StepInfo) => {
    tokens += info.tokens ?? 0;
    const elapsed = Math.max(1e-9, (now() - t0) / 1000);
    const done = step - start;
    const eta = done > 0 ? ((opts.total - step) * elapsed) / done : NaN;
    return {
      loss: info.loss === undefined ? '-' : info.loss.toFixed(4),
      tps: tokens > 0 ? Math.round(tokens / elapsed).toLocaleString('en-US') : '-',
      eta: formatDuration(eta),
      lr: info.lr === undefined ? '-' : info.lr.toExponential(2),
    };
  };

  if (mode === 'tty') {
    const bar = new cliProgress.SingleBar({
      format: 'step {value}/{total} {bar} loss {loss} | lr {lr} | {tps} tok/s | ETA {eta}',
      stream, hideCursor: true, clearOnComplete: false, etaBuffer: 50,
    }, cliProgress.Presets.shades_classic);
    bar.start(opts.total, start, { loss: '-', tps: '-', eta: '?', lr: '-' });
    return {
      update(step, info = {}) { bar.update(step, stats(step, info)); },
      stop() { bar.stop(); },
    };
  }

  const interval = opts.intervalMs ?? 10_000;
  let lastPrint = -Infinity;
  let last: { step: number; s: ReturnType<typeof stats> } | null = null;
  const print = (step: number, s: ReturnType<typeof stats>) => {
    stream.write(`step ${step}/${opts.total} loss ${s.loss} lr ${s.lr} ${s.tps} tok/s ETA ${s.eta}\n`);
    lastPrint = now();
  };
  return {
    update(step, info = {}) {
      const s = stats(step, info);
      last = { step, s };
      if (now() - lastPrint >= interval || step >= opts.total) { print(step, s); last = null; }
    },
    stop() { if (last) print(last.step, last.s); last = null; },
  };
}
