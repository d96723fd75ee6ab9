// Progress reporting: plain lines at intervals off a terminal, silence in --json mode, a bar on a TTY.

import { describe, expect, it } from 'vitest';
import { Writable } from 'node:stream';
import { createProgress, formatDuration } from '../../runtime/progress.js';

function sink(isTTY: boolean) {
  const chunks: string[] = [];
  const s = new Writable({ write(c, _e, cb) { chunks.push(String(c)); cb(); } }) as Writable & { isTTY?: boolean; columns?: number };
  s.isTTY = isTTY; s.columns = 100;
  return { s, text: () => chunks.join('') };
}

describe('progress', () => {
  it('plain mode: first step, then at most one line per interval, and the last step', () => {
    const { s, text } = sink(false);
    let t = 0;
    const p = createProgress({ total: 100, stream: s, intervalMs: 1000, now: () => t });
    for (let step = 1; step <= 100; step++) { t += 100; p.update(step, { loss: 1 / step, tokens: 4096, lr: 1e-4 }); }
    p.stop();
    const lines = text().trim().split('\n');
    expect(lines[0]).toMatch(/^step 1\/100 loss 1\.0000 lr 1\.00e-4 40,960 tok\/s ETA 10s$/);
    expect(lines.at(-1)).toMatch(/^step 100\/100 .* ETA 0s$/);
    expect(lines.length).toBe(11);
  });

  it('json mode prints nothing; stop flushes a pending line in plain mode', () => {
    const j = sink(false);
    const p = createProgress({ total: 10, stream: j.s, mode: 'json' });
    p.update(5, { loss: 1 }); p.stop();
    expect(j.text()).toBe('');
    const q = sink(false);
    let t = 0;
    const r = createProgress({ total: 10, stream: q.s, intervalMs: 1e9, now: () => t });
    r.update(1); t = 5; r.update(2); r.stop();
    expect(q.text().trim().split('\n').map((l) => l.split(' ')[1])).toEqual(['1/10', '2/10']);
  });

  it('tty mode draws a bar with step and loss', () => {
    const { s, text } = sink(true);
    const p = createProgress({ total: 10, stream: s });
    p.update(3, { loss: 2.5 });
    p.stop();
    expect(text()).toMatch(/step 3\/10 .*loss 2\.5000/);
  });

  it('durations', () => {
    expect(formatDuration(5)).toBe('5s');
    expect(formatDuration(125)).toBe('2m05s');
    expect(formatDuration(3 * 3600 + 60)).toBe('3h01m');
    expect(formatDuration(NaN)).toBe('?');
  });
});
