// `mm inspect FILE [--set k=v] [--json]`: the resolved spec with where each value came from (file:line,
// param, override, template, default), parameter counts per component, FLOPs per token and a training-
// memory estimate at the spec's micro-batch.

import { checkFile, countParams, flopsPerToken, memoryEstimate, mm1LearningRate, renderDiagnostics, type Origin, type ResolvedSpec } from '../compiler/index.js';
import { parseFlags, UserError, type IO } from './io.js';
import { parseSets, useColor } from './specfiles.js';

const HELP = `usage: mm inspect FILE [--set name=value]... [--json]

Show the resolved spec (each value with its origin), parameter counts per component, FLOPs per token
and the training memory at the spec's micro-batch.

  --set name=value   override a param (repeatable)
  --json             print {spec, params, flops, memory} as JSON
  --help             this text`;

const si = (n: number, unit = '', giga = 'G'): string => {
  const a = Math.abs(n);
  const [d, s] = a >= 1e12 ? [1e12, 'T'] : a >= 1e9 ? [1e9, giga] : a >= 1e6 ? [1e6, 'M'] : a >= 1e3 ? [1e3, 'K'] : [1, ''];
  return `${(n / d).toFixed(d === 1 ? 0 : 2)}${s}${unit}`;
};
const bytes = (n: number): string => {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return `${n.toFixed(i ? 2 : 0)} ${units[i]}`;
};

function where(o: Origin | undefined): string {
  if (!o) return '';
  const at = o.file ? `${o.file}:${o.line}` : '';
  switch (o.kind) {
    case 'literal': return at;
    case 'default': return 'default';
    case 'override': return o.detail ?? 'override';
    case 'param': return `param ${o.detail} (${at})`;
    case 'template': return `template ${o.detail} (${at})`;
    case 'reference': return `${o.detail} (${at})`;
  }
}

/** Flatten a spec section into `path value origin` rows. */
function rows(obj: unknown, path: string, origins: Record<string, Origin>, out: [string, string, string][]): void {
  if (obj === null || obj === undefined) return;
  if (Array.isArray(obj) && obj.every((x) => typeof x !== 'object')) {
    out.push([path, obj.join(' '), where(origins[path])]);
    return;
  }
  if (typeof obj === 'object') {
    for (const [k, v] of Object.entries(obj as Record<string, unknown>)) rows(v, path ? `${path}.${k}` : k, origins, out);
    return;
  }
  out.push([path, String(obj), where(origins[path])]);
}

export function describe(spec: ResolvedSpec): string {
  const lines: string[] = [];
  const table: [string, string, string][] = [];
  rows(spec.model, 'model', spec.origins, table);
  if (spec.data) rows(spec.data, 'data', spec.origins, table);
  if (spec.train) rows(spec.train, 'train', spec.origins, table);
  if (spec.eval) rows(spec.eval, 'eval', spec.origins, table);
  const w0 = Math.max(...table.map((r) => r[0].length));
  const w1 = Math.min(40, Math.max(...table.map((r) => r[1].length)));
  lines.push(`${spec.file}`);
  if (Object.keys(spec.params).length) lines.push(`params: ${Object.entries(spec.params).map(([k, v]) => `${k}=${v}`).join(' ')}`);
  lines.push('');
  for (const [p, v, o] of table) lines.push(`  ${p.padEnd(w0)}  ${v.padEnd(w1)}  ${o}`);
  const c = countParams(spec.model);
  lines.push('', 'parameters');
  const n = (x: number): string => si(x, '', 'B').padStart(9);   // parameters read as 1.53B, not 1.53G
  lines.push(`  encoder         ${n(c.encoder)}`);
  lines.push(`  connector       ${n(c.connector)}`);
  lines.push(`  decoder         ${n(c.decoder)}`);
  lines.push(`  total           ${n(c.total)}   (${c.total.toLocaleString('en-US')})`);
  lines.push(`  non-embedding   ${n(c.nonEmbedding)}`);
  lines.push(`  active/token    ${n(c.activePerToken)}`);
  if (spec.train && spec.train.optimizer.lr === null) lines.push(`  MM1 peak lr     ${mm1LearningRate(c.nonEmbedding).toExponential(2)}   (exp(−0.4214·ln N − 0.5535))`);
  const f = flopsPerToken(spec.model);
  lines.push('', `FLOPs (forward; context ${spec.model.decoder.maxSeq})`);
  lines.push(`  decoder / token       ${si(f.decoderPerToken, 'FLOP')}`);
  if (spec.model.encoder) {
    lines.push(`  encoder / image       ${si(f.encoderPerImage, 'FLOP')}`);
    lines.push(`  connector / image     ${si(f.connectorPerImage, 'FLOP')}`);
  }
  lines.push(`  training / token      ${si(f.trainPerToken, 'FLOP')}   (≈ 3 × forward)`);
  const m = memoryEstimate(spec);
  lines.push('', `training memory (micro-batch ${m.microBatch} × ${m.seqLen} tokens)`);
  lines.push(`  weights (f32)         ${bytes(m.params)}`);
  lines.push(`  gradients (f32)       ${bytes(m.grads)}`);
  lines.push(`  AdamW m, v (f32)      ${bytes(m.optimizer)}`);
  lines.push(`  activations           ${bytes(m.activations)}`);
  lines.push(`  total                 ${bytes(m.total)}`);
  if (spec.sweeps.length) {
    lines.push('', 'sweeps');
    for (const s of spec.sweeps) lines.push(`  ${s.name}: ${s.axes.map((a) => `${a.param} ∈ {${a.values.join(', ')}}`).join(' × ')}`);
  }
  return lines.join('\n');
}

export async function run(argv: string[], io: IO): Promise<number> {
  try {
    return await runInner(argv, io);
  } catch (e) {
    // Bad flags, missing files: one line, exit 1, never a stack trace.
    if (e instanceof UserError) { io.stderr(`mm inspect: ${e.message}`); return 1; }
    throw e;
  }
}

async function runInner(argv: string[], io: IO): Promise<number> {
  const { flags, positional } = parseFlags(argv, { json: 'boolean', help: 'boolean', set: 'list' });
  if (flags.help) { io.stdout(HELP); return 0; }
  if (positional.length !== 1) { io.stderr(`mm inspect: name one spec file\n\n${HELP}`); return 1; }
  const file = positional[0]!;
  const r = checkFile(file, { overrides: parseSets((flags.set as string[] | undefined) ?? []) });
  if (r.diagnostics.length) io.stderr(renderDiagnostics(r.diagnostics, r.sources, { color: useColor() && !flags.json }));
  if (r.diagnostics.some((d) => d.severity === 'error')) {
    if (flags.json) io.stdout(JSON.stringify({ ok: false, diagnostics: r.diagnostics }, null, 2));
    return 1;
  }
  if (!r.value) throw new UserError(`${file} defines no model (a template library?): nothing to inspect`);
  const spec = r.value;
  if (flags.json) {
    io.stdout(JSON.stringify({ ok: true, spec, params: countParams(spec.model), flops: flopsPerToken(spec.model), memory: memoryEstimate(spec) }, null, 2));
  } else io.stdout(describe(spec));
  return 0;
}
