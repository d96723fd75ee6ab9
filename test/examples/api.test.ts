// The `mm/compiler` entry point's one-call helpers: results with diagnostics for good and bad input, never an
// exception; every emit stage; files read through a caller-supplied readFile (as in a browser).

import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EMIT_STAGES, checkFile, compileFile, compileSource, emit, emitFile, formatSource, hasErrors, inspect, inspectFile, renderDiagnostics } from '../../compiler/index.js';

const ROOT = join(import.meta.dirname, '../..');
const TINY_TEXT = readFileSync(join(ROOT, 'specs/tiny-text.mm'), 'utf8');

describe('mm/compiler helpers', () => {
  it('inspect: sizes for a valid spec, diagnostics for an invalid one', () => {
    const ok = inspect(TINY_TEXT, 'specs/tiny-text.mm');
    expect(hasErrors(ok.diagnostics)).toBe(false);
    expect(ok.value!.params.total).toBeGreaterThan(0);
    expect(ok.value!.flops.decoderPerToken).toBeGreaterThan(0);
    const bad = inspect(TINY_TEXT.replace('heads 4', 'heads 5'), 'specs/tiny-text.mm');
    expect(bad.value).toBeUndefined();
    expect(bad.diagnostics.map((d) => d.code)).toContain('MM3002');
  });

  it('emit: every stage of a valid spec is text', () => {
    for (const stage of EMIT_STAGES) {
      const r = emit(TINY_TEXT, 'specs/tiny-text.mm', stage);
      expect(r.diagnostics.filter((d) => d.severity === 'error'), stage).toEqual([]);
      expect(r.value!.length, stage).toBeGreaterThan(10);
    }
    expect(emit(TINY_TEXT, 'tiny-text.mm', 'wgsl').value).toContain('@compute');
  });

  it('never throws on garbage input', () => {
    for (const src of ['', 'mm 1\n{{{', 'mm 1\ndecoder = transformer {', '\u0000\u00ff', 'mm 99\n', 'mm 1\nmodel m { decoder nope }\n']) {
      for (const stage of EMIT_STAGES.filter((s) => s !== 'ast')) expect(hasErrors(emit(src, 'x.mm', stage).diagnostics), stage).toBe(true);
      expect(() => emit(src, 'x.mm', 'ast')).not.toThrow();
      expect(hasErrors(inspect(src, 'x.mm').diagnostics)).toBe(true);
      expect(hasErrors(compileSource(src, 'x.mm').diagnostics)).toBe(true);
      expect(() => formatSource(src, 'x.mm')).not.toThrow();
    }
  });

  it('files: from disk, or through a supplied readFile', () => {
    const disk = compileFile(join(ROOT, 'specs/tiny-text.mm'));
    expect(disk.value!.program.kernels.length).toBeGreaterThan(10);
    const files = new Map([['/proj/a.mm', TINY_TEXT], ['/proj/mm.project', '']]);
    const mem = checkFile('/proj/a.mm', { readFile: (p) => files.get(p) });
    expect(hasErrors(mem.diagnostics)).toBe(false);
    expect(inspectFile(join(ROOT, 'specs/tiny.mm')).value!.params.encoder).toBeGreaterThan(0);
    expect(emitFile('/proj/a.mm', 'kernels', { readFile: (p) => files.get(p) }).value).toMatch(/kernels/);
    expect(emitFile('/proj/none.mm', 'ir', { readFile: (p) => files.get(p) }).diagnostics[0]!.code).toBe('MM1101');
    const missing = compileFile('/nope/missing.mm', { readFile: () => undefined });
    expect(missing.diagnostics[0]!.code).toBe('MM1101');
    expect(renderDiagnostics(missing.diagnostics, new Map(), { color: false })).toContain('missing.mm');
  });
});
