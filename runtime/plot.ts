// Dependency-free SVG charts: line charts (loss and learning rate against step, several series, ticked axes,
// legend) and grouped bar charts with error bars (ablation tables). Plain strings, so they work anywhere and
// diff well; `plotRun` turns a run's metrics.jsonl into loss.svg.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { readMetrics } from './metrics-log.js';

export interface Series { name: string; points: [number, number][] }
export interface LineChartOptions { title?: string; xLabel?: string; yLabel?: string; width?: number; height?: number; logY?: boolean }
export interface BarSeries { name: string; values: number[]; errors?: number[] }
export interface BarChartOptions { title?: string; yLabel?: string; width?: number; height?: number }

const PALETTE = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'];
const FONT = 'font-family="sans-serif" font-size="11"';

export function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

/** "Nice" ticks (1, 2, 5 × 10^k steps) covering [min, max]. */
export function niceTicks(min: number, max: number, count = 5): number[] {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return [0, 1];
  if (min === max) { const d = Math.abs(min) || 1; min -= d / 2; max += d / 2; }
  const raw = (max - min) / Math.max(1, count);
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const ticks: number[] = [];
  for (let v = Math.floor(min / step) * step; v <= max + step * 1e-9; v += step) ticks.push(Number(v.toPrecision(12)));
  if (ticks[ticks.length - 1]! < max) ticks.push(Number((ticks[ticks.length - 1]! + step).toPrecision(12)));
  return ticks;
}

export function formatTick(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e5 || a < 1e-3) return v.toExponential(1).replace('e+', 'e');
  return String(Number(v.toPrecision(4)));
}

/** At most `max` points per series (bucket means), so a 200k-step run stays a small file. */
function thin(points: [number, number][], max = 2000): [number, number][] {
  const pts = points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
  if (pts.length <= max) return pts;
  const k = Math.ceil(pts.length / max);
  const out: [number, number][] = [];
  for (let i = 0; i < pts.length; i += k) {
    const b = pts.slice(i, i + k);
    out.push([b.reduce((a, p) => a + p[0], 0) / b.length, b.reduce((a, p) => a + p[1], 0) / b.length]);
  }
  return out;
}

/** One line-chart panel as an SVG group at (x0, y0) of size w×h. */
export function linePanel(series: Series[], opts: LineChartOptions, x0: number, y0: number, w: number, h: number): string {
  const m = { l: 64, r: 16, t: opts.title ? 28 : 12, b: 40 };
  const data = series.map((s) => ({ name: s.name, pts: thin(s.points).filter(([, y]) => !opts.logY || y > 0) }));
  const xs = data.flatMap((s) => s.pts.map((p) => p[0]));
  const ty = (y: number) => (opts.logY ? Math.log10(y) : y);
  const ys = data.flatMap((s) => s.pts.map((p) => ty(p[1])));
  const xt = niceTicks(xs.length ? Math.min(...xs) : 0, xs.length ? Math.max(...xs) : 1);
  const yt = niceTicks(ys.length ? Math.min(...ys) : 0, ys.length ? Math.max(...ys) : 1);
  const [xmin, xmax, ymin, ymax] = [xt[0]!, xt[xt.length - 1]!, yt[0]!, yt[yt.length - 1]!];
  const pw = w - m.l - m.r, ph = h - m.t - m.b;
  const sx = (x: number) => x0 + m.l + ((x - xmin) / (xmax - xmin || 1)) * pw;
  const sy = (y: number) => y0 + m.t + ph - ((ty(y) - ymin) / (ymax - ymin || 1)) * ph;
  const syRaw = (v: number) => y0 + m.t + ph - ((v - ymin) / (ymax - ymin || 1)) * ph;
  const f = (v: number) => v.toFixed(2);
  const out: string[] = [`<g class="panel">`];
  if (opts.title) out.push(`<text x="${f(x0 + w / 2)}" y="${f(y0 + 18)}" text-anchor="middle" ${FONT} font-weight="bold">${escapeXml(opts.title)}</text>`);
  out.push(`<rect x="${f(x0 + m.l)}" y="${f(y0 + m.t)}" width="${f(pw)}" height="${f(ph)}" fill="none" stroke="#888"/>`);
  for (const t of xt) {
    out.push(`<line x1="${f(sx(t))}" y1="${f(y0 + m.t + ph)}" x2="${f(sx(t))}" y2="${f(y0 + m.t + ph + 4)}" stroke="#444"/>`);
    out.push(`<text x="${f(sx(t))}" y="${f(y0 + m.t + ph + 16)}" text-anchor="middle" ${FONT}>${escapeXml(formatTick(t))}</text>`);
  }
  for (const t of yt) {
    out.push(`<line x1="${f(x0 + m.l - 4)}" y1="${f(syRaw(t))}" x2="${f(x0 + m.l + pw)}" y2="${f(syRaw(t))}" stroke="#eee"/>`);
    out.push(`<text x="${f(x0 + m.l - 6)}" y="${f(syRaw(t) + 4)}" text-anchor="end" ${FONT}>${escapeXml(formatTick(opts.logY ? Math.pow(10, t) : t))}</text>`);
  }
  if (opts.xLabel) out.push(`<text x="${f(x0 + m.l + pw / 2)}" y="${f(y0 + h - 6)}" text-anchor="middle" ${FONT}>${escapeXml(opts.xLabel)}</text>`);
  if (opts.yLabel) out.push(`<text transform="translate(${f(x0 + 14)},${f(y0 + m.t + ph / 2)}) rotate(-90)" text-anchor="middle" ${FONT}>${escapeXml(opts.yLabel)}</text>`);
  data.forEach((s, i) => {
    if (s.pts.length === 0) return;
    const d = s.pts.map(([x, y], j) => `${j ? 'L' : 'M'}${f(sx(x))},${f(sy(y))}`).join(' ');
    out.push(`<path class="series" data-name="${escapeXml(s.name)}" d="${d}" fill="none" stroke="${PALETTE[i % PALETTE.length]}" stroke-width="1.5"/>`);
  });
  out.push(legend(data.map((s) => s.name), x0 + m.l + pw - 8, y0 + m.t + 8));
  out.push('</g>');
  return out.join('\n');
}

/** A legend box anchored at its top-right corner. */
function legend(names: string[], right: number, top: number): string {
  if (names.length === 0) return '';
  const wBox = Math.max(...names.map((n) => n.length)) * 6.5 + 30;
  const x = right - wBox;
  const out = [`<g class="legend"><rect x="${x.toFixed(2)}" y="${top.toFixed(2)}" width="${wBox.toFixed(2)}" height="${names.length * 16 + 6}" fill="white" fill-opacity="0.85" stroke="#ccc"/>`];
  names.forEach((n, i) => {
    const y = top + 14 + i * 16;
    out.push(`<rect x="${(x + 6).toFixed(2)}" y="${(y - 8).toFixed(2)}" width="14" height="8" fill="${PALETTE[i % PALETTE.length]}"/>`);
    out.push(`<text x="${(x + 24).toFixed(2)}" y="${y.toFixed(2)}" ${FONT}>${escapeXml(n)}</text>`);
  });
  out.push('</g>');
  return out.join('\n');
}

const svgOpen = (w: number, h: number) =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}">\n<rect width="${w}" height="${h}" fill="white"/>`;

export function lineChart(series: Series[], opts: LineChartOptions = {}): string {
  const w = opts.width ?? 720, h = opts.height ?? 360;
  return `${svgOpen(w, h)}\n${linePanel(series, opts, 0, 0, w, h)}\n</svg>\n`;
}

/** Several panels stacked vertically in one SVG (loss above learning rate). */
export function stackedCharts(panels: { series: Series[]; opts: LineChartOptions }[], width = 720, panelHeight = 300): string {
  const parts = panels.map((p, i) => linePanel(p.series, p.opts, 0, i * panelHeight, width, panelHeight));
  return `${svgOpen(width, panelHeight * panels.length)}\n${parts.join('\n')}\n</svg>\n`;
}

/** Grouped bars (one group per category, one bar per series) with optional ± error bars. */
export function barChart(categories: string[], series: BarSeries[], opts: BarChartOptions = {}): string {
  const w = opts.width ?? 720, h = opts.height ?? 360;
  const m = { l: 64, r: 16, t: opts.title ? 28 : 12, b: 48 };
  const pw = w - m.l - m.r, ph = h - m.t - m.b;
  const tops = series.flatMap((s) => s.values.map((v, i) => v + Math.abs(s.errors?.[i] ?? 0)));
  const bots = series.flatMap((s) => s.values.map((v, i) => v - Math.abs(s.errors?.[i] ?? 0)));
  const yt = niceTicks(Math.min(0, ...bots), Math.max(0, ...tops));
  const [ymin, ymax] = [yt[0]!, yt[yt.length - 1]!];
  const sy = (v: number) => m.t + ph - ((v - ymin) / (ymax - ymin || 1)) * ph;
  const f = (v: number) => v.toFixed(2);
  const gw = pw / Math.max(1, categories.length);
  const bw = (gw * 0.8) / Math.max(1, series.length);
  const out = [svgOpen(w, h)];
  if (opts.title) out.push(`<text x="${w / 2}" y="18" text-anchor="middle" ${FONT} font-weight="bold">${escapeXml(opts.title)}</text>`);
  for (const t of yt) {
    out.push(`<line x1="${m.l - 4}" y1="${f(sy(t))}" x2="${m.l + pw}" y2="${f(sy(t))}" stroke="#eee"/>`);
    out.push(`<text x="${m.l - 6}" y="${f(sy(t) + 4)}" text-anchor="end" ${FONT}>${escapeXml(formatTick(t))}</text>`);
  }
  if (opts.yLabel) out.push(`<text transform="translate(14,${f(m.t + ph / 2)}) rotate(-90)" text-anchor="middle" ${FONT}>${escapeXml(opts.yLabel)}</text>`);
  categories.forEach((c, ci) => {
    const gx = m.l + ci * gw + gw * 0.1;
    out.push(`<text x="${f(m.l + ci * gw + gw / 2)}" y="${f(m.t + ph + 16)}" text-anchor="middle" ${FONT}>${escapeXml(c)}</text>`);
    series.forEach((s, si) => {
      const v = s.values[ci];
      if (v === undefined || !Number.isFinite(v)) return;
      const x = gx + si * bw;
      const [y1, y2] = [sy(Math.max(v, 0)), sy(Math.min(v, 0))];
      out.push(`<rect class="bar" data-series="${escapeXml(s.name)}" x="${f(x)}" y="${f(y1)}" width="${f(bw * 0.9)}" height="${f(y2 - y1)}" fill="${PALETTE[si % PALETTE.length]}"/>`);
      const e = s.errors?.[ci];
      if (e !== undefined && Number.isFinite(e) && e !== 0) {
        const cx = x + bw * 0.45;
        out.push(`<path class="error" d="M${f(cx)},${f(sy(v - e))} L${f(cx)},${f(sy(v + e))} M${f(cx - 3)},${f(sy(v - e))} L${f(cx + 3)},${f(sy(v - e))} M${f(cx - 3)},${f(sy(v + e))} L${f(cx + 3)},${f(sy(v + e))}" stroke="#222"/>`);
      }
    });
  });
  out.push(`<line x1="${m.l}" y1="${f(sy(0))}" x2="${m.l + pw}" y2="${f(sy(0))}" stroke="#444"/>`);
  out.push(legend(series.map((s) => s.name), m.l + pw - 8, m.t + 8));
  out.push('</svg>\n');
  return out.join('\n');
}

/**
 * Reads `runDir/metrics.jsonl` and writes loss.svg (or `out`): every numeric field whose name contains "loss"
 * against `step` in the top panel, `lr` in the bottom one. Returns the path written.
 */
export function plotRun(runDir: string, opts: { out?: string } = {}): string {
  const file = path.join(runDir, 'metrics.jsonl');
  if (!fs.existsSync(file)) throw new Error(`${file}: no metrics log (is ${runDir} a training run directory?)`);
  const recs = readMetrics(file).filter((r) => typeof r.step === 'number');
  const keys = new Set<string>();
  for (const r of recs) for (const [k, v] of Object.entries(r)) if (typeof v === 'number' && k !== 'step') keys.add(k);
  const seriesOf = (k: string): Series => ({ name: k, points: recs.filter((r) => typeof r[k] === 'number').map((r) => [r.step!, r[k] as number]) });
  // Loss curves (loss, lm_loss, aux_loss, ...); the f16 loss scale is a multiplier, not a loss.
  const lossKeys = [...keys].filter((k) => /loss/i.test(k) && k !== 'loss_scale').sort();
  const panels = [{ series: lossKeys.map(seriesOf), opts: { title: `${path.basename(path.resolve(runDir))}: loss`, xLabel: 'step', yLabel: 'loss' } }];
  if (keys.has('lr')) panels.push({ series: [seriesOf('lr')], opts: { title: 'learning rate', xLabel: 'step', yLabel: 'lr' } });
  const out = opts.out ?? path.join(runDir, 'loss.svg');
  fs.writeFileSync(out, stackedCharts(panels));
  return out;
}
