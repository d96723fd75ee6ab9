// Offsets → spans. A span keeps byte offsets and 1-based line/column for both ends; every diagnostic and AST
// node uses one. Kept separate so the checker can make spans for synthesized positions too.

import type { Span } from '../diagnostics/types.js';

export class LineMap {
  private readonly starts: number[] = [0];
  constructor(readonly file: string, readonly text: string) {
    for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) this.starts.push(i + 1);
  }
  private pos(offset: number): { line: number; col: number } {
    const o = Math.max(0, Math.min(offset, this.text.length));
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid]! <= o) lo = mid; else hi = mid - 1;
    }
    return { line: lo + 1, col: o - this.starts[lo]! + 1 };
  }
  span(start: number, end: number): Span {
    const s = Math.max(0, Math.min(start, this.text.length));
    const e = Math.max(s, Math.min(end, this.text.length));
    const a = this.pos(s);
    const b = this.pos(e);
    return { file: this.file, start: s, end: e, line: a.line, col: a.col, endLine: b.line, endCol: b.col };
  }
}

export const joinSpans = (a: Span, b: Span): Span => ({
  file: a.file, start: a.start, end: Math.max(a.end, b.end), line: a.line, col: a.col,
  endLine: b.end >= a.end ? b.endLine : a.endLine, endCol: b.end >= a.end ? b.endCol : a.endCol,
});
