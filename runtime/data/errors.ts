// Data errors that name the file and the 1-based line, so a user can fix the record instead of reading a stack.
// With `--skip-bad` the same errors are counted in a BadDataLog and reported at the end instead of stopping.

export class DataError extends Error {
  constructor(public readonly file: string, public readonly line: number, public readonly reason: string) {
    super(line > 0 ? `${file}:${line}: ${reason}` : `${file}: ${reason}`);
    this.name = 'DataError';
  }
}

/** Counts skipped records (by file) for the end-of-run report; keeps the first few messages as examples. */
export class BadDataLog {
  count = 0;
  readonly examples: string[] = [];
  readonly byFile = new Map<string, number>();

  private seen = new Set<string>();

  /** Records a bad record once, however many epochs meet it again. */
  add(err: DataError): void {
    const key = `${err.file}:${err.line}`;
    if (err.line > 0 && this.seen.has(key)) return;
    this.seen.add(key);
    this.count++;
    this.byFile.set(err.file, (this.byFile.get(err.file) ?? 0) + 1);
    if (this.examples.length < 10) this.examples.push(err.message);
  }

  summary(): string {
    if (this.count === 0) return 'no bad records';
    const files = [...this.byFile].map(([f, n]) => `  ${f}: ${n}`).join('\n');
    return `${this.count} bad record(s) skipped\n${files}\nfirst: ${this.examples.join('\n       ')}`;
  }
}
