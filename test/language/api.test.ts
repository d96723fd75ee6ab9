// The library API: in-memory imports through `readFile`, `--set` overrides and their origins, library
// files, rendering, and the never-throw guarantee of every entry point.

import { describe, expect, it } from 'vitest';
import { checkSource, formatSource, parseSpec, renderDiagnostics, countParams } from '../../compiler/language.js';
import { didYouMean, editDistance } from '../../compiler/diagnostics/suggest.js';
import { catalog } from '../../compiler/diagnostics/catalog.js';
import { schemas, type Schema } from '../../compiler/semantics/schema.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './golden.js';

const files: Record<string, string> = {
  '/p/package.json': '{}',
  '/p/lib/vit.mm': 'mm 1\nencoder small = vit { image 32; patch 8; width 32; depth 1; heads 2; mlp 64 }\n',
  '/p/specs/main.mm': `mm 1
import "../lib/vit.mm"
param res: int = 32
param w: float = 2
encoder enc = small { image res }
connector c = avg_pool { tokens 4 }
decoder d = transformer { vocab 512; width (enc.width * 2); depth 2; heads 4; ffn 128; tied true }
model m { encoder enc; connector c; decoder d }
data mix {
  captions "cap.jsonl" weight w
  seq_len 64
}
train { steps 100; batch 4; micro_batch 2; schedule constant { warmup 0 } }
`,
};
const readFile = (p: string): string | undefined => files[p];

describe('checkSource', () => {
  it('resolves imports, templates, params, references and defaults, with origins', () => {
    const r = checkSource(files['/p/specs/main.mm']!, '/p/specs/main.mm', { readFile });
    expect(r.diagnostics).toEqual([]);
    const s = r.value!;
    expect(s.model.encoder).toMatchObject({ image: 32, width: 32, patch: 8 });
    expect(s.model.decoder.width).toBe(64);
    expect(s.model.decoder.kvHeads).toBe(4);
    expect(s.model.decoder.maxSeq).toBe(64);
    expect(s.data!.sources[0]).toEqual({ kind: 'captions', path: '/p/specs/cap.jsonl', weight: 2, maxImages: 4 });
    expect(s.train!.schedule).toEqual({ kind: 'constant', warmup: 0, final: 0.1 });
    expect(s.origins['model.encoder.image']).toMatchObject({ kind: 'param', detail: 'res' });
    expect(s.origins['model.encoder.patch']).toMatchObject({ kind: 'template', file: '/p/lib/vit.mm', line: 2 });
    expect(s.origins['model.decoder.width']).toMatchObject({ kind: 'reference', detail: 'enc.width' });
    expect(s.origins['model.decoder.kvHeads']).toEqual({ kind: 'default' });
    expect(s.params).toEqual({ res: 32, w: 2 });
    expect(countParams(s.model).nonEmbedding).toBe(countParams(s.model).total - 512 * 64);
  });

  it('applies overrides and reports bad ones with suggestions', () => {
    const ok = checkSource(files['/p/specs/main.mm']!, '/p/specs/main.mm', { readFile, overrides: { res: '64' } });
    expect(ok.value!.model.encoder!.image).toBe(64);
    expect(ok.value!.origins['model.encoder.image']).toEqual({ kind: 'override', detail: '--set res=64' });
    const bad = checkSource(files['/p/specs/main.mm']!, '/p/specs/main.mm', { readFile, overrides: { rse: '64' } });
    expect(bad.diagnostics[0]).toMatchObject({ code: 'MM1107', hint: 'did you mean `res`?' });
    const shape = checkSource(files['/p/specs/main.mm']!, '/p/specs/main.mm', { readFile, overrides: { res: '36' } });
    expect(shape.diagnostics.map((d) => d.code)).toEqual(['MM3001']);
    expect(shape.value).toBeUndefined();
  });

  it('treats a file without a model as a library: no value, no errors', () => {
    const r = checkSource(files['/p/lib/vit.mm']!, '/p/lib/vit.mm', { readFile });
    expect(r.diagnostics).toEqual([]);
    expect(r.value).toBeUndefined();
  });

  it('never throws, whatever the input', () => {
    for (const src of ['', '\u0000', '{'.repeat(10000), '('.repeat(10000), '-'.repeat(10000), 'mm 1\nimport "x.mm"', 'mm 1\n'.repeat(1000), '"'.repeat(33)]) {
      expect(() => checkSource(src, '/p/x.mm', { readFile })).not.toThrow();
      expect(() => formatSource(src, '/p/x.mm')).not.toThrow();
      expect(() => parseSpec(src, '/p/x.mm')).not.toThrow();
    }
  });

  it('renders code, location, the source line with a caret, and the hint', () => {
    const src = 'mm 1\nencoder e = vit { image 32; patch 8; widht 32; depth 1; heads 2; mlp 64 }\n';
    const r = checkSource(src, 'x.mm', { readFile: () => undefined, projectRoot: '/' });
    const text = renderDiagnostics(r.diagnostics, new Map([['x.mm', src]]), { color: false });
    expect(text).toContain('error[MM2001]: unknown field `widht` in `encoder e`');
    expect(text).toContain('--> x.mm:2:38');
    expect(text).toContain('|                                      ^^^^^');
    expect(text).toContain('= hint: did you mean `width`?');
    expect(renderDiagnostics(r.diagnostics, new Map(), { color: true })).toContain('\x1b[');
  });
});

describe('suggestions', () => {
  it('find close names and nothing for far ones', () => {
    expect(editDistance('widht', 'width')).toBe(1);
    expect(didYouMean('widht', ['width', 'depth'])).toBe('did you mean `width`?');
    expect(didYouMean('topk', ['top_k', 'every'])).toBe('did you mean `top_k`?');
    expect(didYouMean('zzz', ['width', 'depth'])).toBeUndefined();
  });
});

describe('docs/language.md', () => {
  const doc = readFileSync(join(repoRoot, 'docs/language.md'), 'utf8');

  it('its opening example checks clean', () => {
    const example = /```\n([\s\S]*?)```/.exec(doc)![1]!;
    const std = readFileSync(join(repoRoot, 'specs/std/vit.mm'), 'utf8');
    const r = checkSource(example, '/doc/example.mm', { readFile: (p) => (p === '/doc/std/vit.mm' ? std : undefined), projectRoot: '/doc' });
    expect(r.diagnostics).toEqual([]);
    expect(r.value!.sweeps[0]!.axes.length).toBe(2);
  });

  it('documents every field of every block and every diagnostic code', () => {
    const walk = (s: Schema): void => {
      for (const [k, f] of Object.entries(s)) {
        expect(doc).toContain(`| \`${k}\` |`);
        if (f.type.t === 'record') walk(f.type.fields);
      }
    };
    for (const s of Object.values(schemas)) walk(s);
    for (const e of Object.values(catalog)) expect(doc).toContain(`| ${e.code} |`);
  });

  it('the TextMate grammar is valid JSON naming every block kind', () => {
    const g = JSON.parse(readFileSync(join(repoRoot, 'editors/vscode/syntaxes/mm.tmLanguage.json'), 'utf8'));
    expect(g.scopeName).toBe('source.mm');
    for (const k of ['encoder', 'connector', 'decoder', 'model', 'data', 'train', 'eval', 'sweep']) expect(g.repository.block.match).toContain(k);
  });
});
