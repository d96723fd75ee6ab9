// metrics.jsonl survives crashes (a truncated last line) and resumes; the SVG charts are well-formed XML
// (checked by a tiny parser here) and contain every series; `mm plot` writes loss.svg.

import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { MetricsWriter, readMetrics } from '../../runtime/metrics-log.js';
import { barChart, lineChart, niceTicks, plotRun } from '../../runtime/plot.js';
import { run as plotCli } from '../../cli/plot.js';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'mm-metrics-'));

/** Minimal XML well-formedness check: balanced tags, quoted attributes, known entities. Returns the tag names. */
function checkXml(xml: string): string[] {
  const body = xml.replace(/^<\?xml[^?]*\?>\s*/, '');
  const stack: string[] = [];
  const tags: string[] = [];
  const re = /<(\/?)([a-zA-Z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>|([^<]+)|(<)/g;
  let m: RegExpExecArray | null;
  let roots = 0;
  while ((m = re.exec(body))) {
    if (m[6]) throw new Error(`stray '<' at ${m.index}`);
    if (m[5] !== undefined) {
      if (stack.length === 0 && m[5].trim()) throw new Error('text outside the root');
      const bad = /&(?!(amp|lt|gt|quot|apos);)/.exec(m[5]);
      if (bad) throw new Error(`bad entity at ${m.index}`);
      continue;
    }
    const [, close, name, attrs, self] = m;
    if (/&(?!(amp|lt|gt|quot|apos);)/.test(attrs!)) throw new Error(`bad entity in attributes of <${name}>`);
    if (close) { if (stack.pop() !== name) throw new Error(`mismatched </${name}>`); continue; }
    if (stack.length === 0) roots++;
    tags.push(name!);
    if (!self) stack.push(name!);
  }
  if (stack.length) throw new Error(`unclosed <${stack.join('> <')}>`);
  if (roots !== 1) throw new Error(`${roots} root elements`);
  return tags;
}

describe('metrics log', () => {
  it('appends one object per line and reads them back', () => {
    const file = path.join(tmp(), 'metrics.jsonl');
    const w = new MetricsWriter(file);
    for (let s = 1; s <= 3; s++) w.write({ step: s, loss: 5 - s, lr: 1e-4 * s });
    w.close();
    expect(() => w.write({ step: 4 })).toThrow(/closed/);
    expect(readMetrics(file)).toEqual([1, 2, 3].map((s) => ({ step: s, loss: 5 - s, lr: 1e-4 * s })));
  });

  it('tolerates a truncated last line, cuts it off on reopen, and drops steps after the resume point', () => {
    const file = path.join(tmp(), 'metrics.jsonl');
    fs.writeFileSync(file, '{"step":1,"loss":3}\n{"step":2,"loss":2}\n{"step":3,"loss":1}\n{"step":4,"lo');
    expect(readMetrics(file).map((r) => r.step)).toEqual([1, 2, 3]);
    const w = new MetricsWriter(file, { resumeFromStep: 2 });
    w.write({ step: 3, loss: 1.5 });
    w.close();
    expect(readMetrics(file)).toEqual([{ step: 1, loss: 3 }, { step: 2, loss: 2 }, { step: 3, loss: 1.5 }]);
    fs.writeFileSync(file, '{"step":1}\nnot json\n{"step":3}\n');
    expect(() => readMetrics(file)).toThrow(/metrics\.jsonl:2: malformed metrics record/);
  });
});

describe('SVG charts', () => {
  it('nice ticks cover the range with 1-2-5 steps', () => {
    expect(niceTicks(0, 10)).toEqual([0, 2, 4, 6, 8, 10]);
    expect(niceTicks(0.13, 0.91)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks(3, 3).length).toBeGreaterThan(1);
  });

  it('line chart: well-formed, one path per series, legend with escaped names, axes', () => {
    const svg = lineChart([
      { name: 'train <loss>', points: [[0, 4], [10, 3], [20, NaN], [30, 2.5]] },
      { name: 'val & test', points: [[0, 4.2], [30, 2.9]] },
    ], { title: 'loss', xLabel: 'step', yLabel: 'loss' });
    const tags = checkXml(svg);
    expect(tags[0]).toBe('svg');
    expect(svg.match(/<path class="series"/g)).toHaveLength(2);
    expect(svg).toContain('data-name="train &lt;loss&gt;"');
    expect(svg).toContain('>val &amp; test</text>');
    expect(svg).toContain('>step</text>');
    expect(tags.filter((t) => t === 'text').length).toBeGreaterThan(8);
  });

  it('grouped bar chart with error bars', () => {
    const svg = barChart(['224px', '336px'], [
      { name: 'avg pool', values: [50, 53], errors: [1, 0.5] },
      { name: 'C-Abstractor', values: [51, 54], errors: [0.8, 0.7] },
    ], { title: 'connector ablation', yLabel: 'score' });
    checkXml(svg);
    expect(svg.match(/class="bar"/g)).toHaveLength(4);
    expect(svg.match(/class="error"/g)).toHaveLength(4);
    expect(svg).toContain('C-Abstractor');
  });

  it('the XML check itself rejects broken documents', () => {
    expect(() => checkXml('<svg><g></svg>')).toThrow();
    expect(() => checkXml('<svg a="1 & 2"></svg>')).toThrow();
    expect(() => checkXml('<svg></svg><svg></svg>')).toThrow();
  });

  it('plotRun and `mm plot` write loss.svg with the loss series and the learning rate', async () => {
    const dir = tmp();
    const w = new MetricsWriter(path.join(dir, 'metrics.jsonl'));
    for (let s = 0; s < 3000; s++) w.write({ step: s, loss: 5 * Math.exp(-s / 500) + 1, lr: 1e-4 * Math.min(1, s / 100), ...(s % 100 === 0 ? { val_loss: 5 * Math.exp(-s / 600) + 1.1 } : {}) });
    w.close();
    const out = plotRun(dir);
    expect(out).toBe(path.join(dir, 'loss.svg'));
    const svg = fs.readFileSync(out, 'utf8');
    checkXml(svg);
    expect(svg).toContain('data-name="loss"');
    expect(svg).toContain('data-name="val_loss"');
    expect(svg).toContain('data-name="lr"');
    expect(svg.length).toBeLessThan(400_000); // thinned to ≤ 2000 points per series

    const io = { out: [] as string[], err: [] as string[] };
    const sink = { stdout: (s: string) => io.out.push(s), stderr: (s: string) => io.err.push(s) };
    expect(await plotCli([dir, '--out', path.join(dir, 'x.svg'), '--json'], sink)).toBe(0);
    expect(JSON.parse(io.out[0]!)).toEqual({ out: path.join(dir, 'x.svg') });
    expect(await plotCli([tmp()], sink)).toBe(1);
    expect(io.err.at(-1)).toMatch(/mm plot: .*metrics\.jsonl: no metrics log/);
    expect(await plotCli([], sink)).toBe(1);
    expect(await plotCli(['--help'], sink)).toBe(0);
  });
});
