// Streaming readers: byte offsets and line numbers across 64 KiB chunk boundaries, re-opening at an offset
// (what a resumed run does), CRLF, blank-line separated text documents, and invalid UTF-8 located.
import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LineReader, SourceStream } from '../../runtime/data/sources.js';
import { BadDataLog, DataError } from '../../runtime/data/errors.js';
import { Rng } from '../../runtime/data/rng.js';

const dir = mkdtempSync(join(tmpdir(), 'mm-src-'));

describe('LineReader', () => {
  it('gives every line with its offset and number, across chunk boundaries', async () => {
    const rng = new Rng(4), lines: string[] = [];
    for (let i = 0; i < 300; i++) lines.push('é✓'.repeat(rng.int(0, i % 37 === 0 ? 40_000 : 300)) + `#${i}`);
    const file = join(dir, 'lines.txt');
    writeFileSync(file, lines.join('\n'));   // no final newline
    const got: { text: string; line: number; offset: number }[] = [];
    const r = new LineReader(file);
    for (let l = await r.next(); l; l = await r.next()) got.push(l);
    await r.close();
    expect(got.map((l) => l.text)).toEqual(lines);
    expect(got.map((l) => l.line)).toEqual(lines.map((_, i) => i + 1));
    // re-open in the middle, as a restored mixer does
    const mid = got[150]!;
    const r2 = new LineReader(file, mid.offset, mid.line);
    expect((await r2.next())!.text).toBe(lines[150]);
    expect((await r2.next())!.line).toBe(152);
    await r2.close();
  });

  it('strips CR and locates invalid UTF-8', async () => {
    const file = join(dir, 'crlf.txt');
    writeFileSync(file, Buffer.concat([Buffer.from('one\r\ntwo\r\n'), Buffer.from([0xff, 0xfe, 0x0a]), Buffer.from('four\n')]));
    const r = new LineReader(file);
    expect((await r.next())!.text).toBe('one');
    expect((await r.next())!.text).toBe('two');
    await expect(r.next()).rejects.toThrow(/crlf\.txt:3: not valid UTF-8/);
    expect((await r.next())!.text).toBe('four'); // the reader moved past the bad line
    await r.close();
  });
});

describe('SourceStream', () => {
  it('reads .txt documents separated by blank lines and wraps round', async () => {
    const file = join(dir, 'docs.txt');
    writeFileSync(file, '\n\nfirst doc\nstill first\n\n\nsecond doc\n');
    const s = new SourceStream({ kind: 'text', path: file, weight: 1, maxImages: 0 }, null);
    const a = await s.peek();
    expect(a.rec).toEqual({ kind: 'text', text: 'first doc\nstill first' });
    expect(a.line).toBe(3);
    s.consume();
    expect((await s.peek()).rec).toEqual({ kind: 'text', text: 'second doc' });
    s.consume();
    expect((await s.peek()).line).toBe(3);
    expect(s.state().epoch).toBe(1);
    await s.close();
  });

  it('skips (and counts) a line of invalid UTF-8 with a log, stops without', async () => {
    const file = join(dir, 'bad.jsonl');
    writeFileSync(file, Buffer.concat([Buffer.from('{"text": "a"}\n'), Buffer.from([0xc3, 0x28, 0x0a]), Buffer.from('{"text": "b"}\n')]));
    const log = new BadDataLog();
    const s = new SourceStream({ kind: 'text', path: file, weight: 1, maxImages: 0 }, log);
    s.consume(); await s.peek(); s.consume();
    expect((await s.peek()).rec).toEqual({ kind: 'text', text: 'b' });
    expect(log.count).toBe(1);
    await s.close();
    const strict = new SourceStream({ kind: 'text', path: file, weight: 1, maxImages: 0 }, null);
    await strict.peek(); strict.consume();
    const err = await strict.peek().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DataError);
    expect((err as DataError).line).toBe(2);
    await strict.close();
  });
});
