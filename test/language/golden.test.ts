// Golden diagnostics: each invalid spec in test/language/invalid/ yields exactly the diagnostics of its
// .expected file, and only diagnostics with the code its name starts with. Update with `npm run accept`.

import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { catalog } from '../../compiler/diagnostics/catalog.js';
import { expectedPath, listCases, runCase } from './golden.js';

const cases = listCases();

describe('golden diagnostics', () => {
  it('cover at least 40 distinct error kinds', () => {
    const codes = new Set(cases.map((c) => c.split('-')[0]));
    expect(codes.size).toBeGreaterThanOrEqual(40);
  });

  it.each(cases)('%s', (name) => {
    const code = name.split('-')[0]!;
    const { diagnostics, text } = runCase(name);
    expect(diagnostics.length).toBeGreaterThan(0);
    expect(diagnostics.map((d) => d.code)).toEqual(diagnostics.map(() => code));
    for (const d of diagnostics) {
      expect(d.message.length).toBeGreaterThan(0);
      expect(d.hint, `${d.code} should carry a hint`).toBeTruthy();
    }
    const path = expectedPath(name);
    expect(existsSync(path), `missing ${path}: run npm run accept`).toBe(true);
    expect(text).toBe(readFileSync(path, 'utf8'));
  });

  it('every catalog code is unique', () => {
    const codes = Object.values(catalog).map((e) => e.code);
    expect(new Set(codes).size).toBe(codes.length);
  });
});
