// metrics.jsonl: one JSON object per training step, append-only. Each record goes out in a single write(2)
// so a crash loses at most the last, partial line; the reader skips such a line and the writer cuts it off
// when it reopens the file (on resume), so records never glue together.

import * as fs from 'node:fs';

export type MetricsRecord = Record<string, unknown> & { step?: number };

export class MetricsWriter {
  private fd: number | null;

  /**
   * Opens `file` for appending. An unterminated last line (a crash mid-write) is cut off; with
   * `resumeFromStep`, records of later steps (written after the checkpoint we resume from) are dropped too.
   */
  constructor(readonly file: string, opts: { resumeFromStep?: number } = {}) {
    if (fs.existsSync(file)) {
      const text = fs.readFileSync(file, 'utf8');
      const end = text.lastIndexOf('\n') + 1;
      let keep = text.slice(0, end);
      if (opts.resumeFromStep !== undefined) {
        keep = keep.split('\n').filter((l) => {
          if (!l.trim()) return false;
          try { const r = JSON.parse(l) as MetricsRecord; return typeof r.step !== 'number' || r.step <= opts.resumeFromStep!; } catch { return false; }
        }).map((l) => l + '\n').join('');
      }
      if (keep.length !== text.length) {
        // Rewrite via temp + rename so a crash here cannot lose the kept records.
        const tmp = `${file}.tmp-${process.pid}`;
        fs.writeFileSync(tmp, keep);
        fs.renameSync(tmp, file);
      }
    }
    this.fd = fs.openSync(file, 'a');
  }

  write(record: MetricsRecord): void {
    if (this.fd === null) throw new Error(`${this.file}: metrics log is closed`);
    const line = Buffer.from(JSON.stringify(record) + '\n');
    let done = 0;
    while (done < line.length) done += fs.writeSync(this.fd, line, done);
  }

  /** fsync and close; further writes throw. */
  close(): void {
    if (this.fd === null) return;
    fs.fsyncSync(this.fd);
    fs.closeSync(this.fd);
    this.fd = null;
  }
}

/**
 * All records of a metrics file. A malformed *last* line without its newline (a crash mid-write) is skipped;
 * a malformed line elsewhere is an error naming file and line.
 */
export function readMetrics(file: string): MetricsRecord[] {
  const text = fs.readFileSync(file, 'utf8');
  const lines = text.split('\n');
  const out: MetricsRecord[] = [];
  lines.forEach((line, i) => {
    if (!line.trim()) return;
    try {
      out.push(JSON.parse(line) as MetricsRecord);
    } catch (e) {
      if (i === lines.length - 1) return; // unterminated last line
      throw new Error(`${file}:${i + 1}: malformed metrics record (${(e as Error).message})`);
    }
  });
  return out;
}
