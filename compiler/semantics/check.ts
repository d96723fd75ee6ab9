// The checker: from a loaded program (root file + imports) and `--set` overrides to a ResolvedSpec. Builds
// every model in scope, the data/train/eval blocks, and the sweeps; runs the shape checks; then re-checks
// every sweep combination so a sweep cannot hide a run that would not compile.

import { diag } from '../diagnostics/catalog.js';
import { didYouMean } from '../diagnostics/suggest.js';
import { hasErrors, type Diagnostic, type Result, type Span } from '../diagnostics/types.js';
import { Builder, type Sink } from './build.js';
import { Fields, parseOverride } from './fields.js';
import type { BlockDef, Program } from './resolve.js';
import { Shapes } from './shapes.js';
import type { DataSpec, EvalSpec, ModelSpec, ResolvedSpec, SweepSpec, TrainSpec } from './spec.js';

const MAX_SWEEP_RUNS = 64;

export function checkProgram(program: Program, overrides: Record<string, string>, sweeps = true): Result<ResolvedSpec> {
  const diags: Diagnostic[] = [...program.diagnostics];
  const root = program.root;
  const ov = new Map(Object.entries(overrides));
  for (const [k, v] of ov) {
    const p = root.params.get(k);
    if (!p) {
      diags.push(diag('unknownOverride', undefined, { name: k, suggest: didYouMean(k, root.params.keys()) ?? '', known: [...root.params.keys()].join(', ') }));
      ov.delete(k);
    } else if (parseOverride(v, p.type) === undefined) {
      diags.push(diag('badOverride', undefined, { name: k, value: v, type: p.type === 'int' ? 'a whole number' : p.type === 'float' ? 'a number' : p.type === 'bool' ? '`true` or `false`' : 'a string' }));
      ov.delete(k);
    }
  }
  // Syntax and import errors stop here: checking a half-read program would only add noise.
  if (!root.ast || hasErrors(diags)) return { value: undefined, diagnostics: sortByPlace(dedupe(diags)) };
  const f = new Fields(program, ov, diags);
  const sink: Sink = { origins: {}, spans: new Map(), diags, record: true };
  const b = new Builder(f, sink);
  const fallback: Span = root.ast.header?.span ?? { file: root.display, start: 0, end: 0, line: 1, col: 1, endLine: 1, endCol: 1 };
  const shapes = new Shapes(diags, sink.spans, fallback);

  // Params: evaluate all root params so type errors surface even when unused.
  const params: ResolvedSpec['params'] = {};
  for (const p of root.params.values()) {
    const g = f.param(p);
    if (g) params[p.name] = g.value;
  }

  // Every block of the root file on its own (templates may be partial: no required-field errors).
  const visible = [...root.blocks.values()];
  for (const def of root.own) {
    const scratch: Sink = { origins: {}, spans: new Map(), diags, record: false };
    const sb = new Builder(f, scratch);
    const ss = new Shapes(diags, scratch.spans, def.decl.nameSpan ?? fallback);
    const p = `${def.kind}s.${def.name}`;
    if (def.kind === 'encoder') ss.encoder(sb.encoder(def, p, false), p);
    else if (def.kind === 'decoder') ss.decoder(sb.decoder(def, undefined, p, false), p);
    else if (def.kind === 'connector') sb.connector(def, undefined, p, false);
  }

  const singles = (kind: string) => root.singles.filter((s) => s.blockKind === kind);
  for (const kind of ['train', 'eval']) for (const extra of singles(kind).slice(1)) diags.push(diag('duplicateSingleton', extra.kindSpan, { kind }));
  const trainDecl = singles('train')[0];
  const evalDecl = singles('eval')[0];
  const modelDefs = visible.filter((d) => d.kind === 'model');
  const dataDefs = visible.filter((d) => d.kind === 'data');

  // Which model and data the spec is about: what `train` names, else the only (or first) one.
  let mainModel: BlockDef | undefined = modelDefs.find((d) => d.module === root) ?? modelDefs[0];
  let mainData: BlockDef | undefined = dataDefs.find((d) => d.module === root) ?? dataDefs[0];
  let train: Partial<TrainSpec> | undefined;
  if (trainDecl) {
    const t = b.train(trainDecl, root, mainModel?.name ?? '', dataDefs.length === 1 ? mainData?.name : undefined, 'train');
    if (t.modelDef) mainModel = t.modelDef;
    if (t.dataDef) mainData = t.dataDef;
    else if (t.dataDef === null && dataDefs.length !== 1) mainData = undefined;
    train = t.spec;
    if (!mainModel && t.modelDef === null) diags.push(diag('noModel', trainDecl.kindSpan, {}));
    if (mainModel) train.model = mainModel.name;
  }
  const seqLen = mainData ? b.seqLenOf(mainData) : undefined;

  const models: Record<string, ModelSpec> = {};
  let model: Partial<ModelSpec> | undefined;
  let brokenModel = false;
  for (const def of modelDefs) {
    const isMain = def === mainModel;
    const prefix = isMain ? 'model' : `models.${def.name}`;
    if (!isMain) sink.record = false;
    const built = b.model(def, seqLen, prefix);
    sink.record = true;
    shapes.model(built.spec, prefix);
    if (isMain && built.broken) brokenModel = true;
    models[def.name] = built.spec as ModelSpec;
    if (isMain) model = built.spec;
  }

  let data: Partial<DataSpec> | undefined;
  if (mainData) {
    data = b.data(mainData, model?.decoder?.vocab, 'data');
    // A model whose parts did not resolve would only produce follow-on errors here.
    shapes.data(data, brokenModel ? undefined : model, 'data', 'model');
  }
  if (train) shapes.train(train, 'train');
  let ev: EvalSpec | undefined;
  if (evalDecl) {
    ev = b.eval(evalDecl, root, 'eval');
    if (!brokenModel) shapes.eval(ev, model, data, 'eval');
  }
  const sweepSpecs: SweepSpec[] = root.own.filter((d) => d.kind === 'sweep').map((d) => b.sweep(d, root));

  // Params that nothing reads are probably a typo elsewhere.
  for (const p of root.params.values()) {
    if (!p.used && !ov.has(p.name)) diags.push(diag('unusedParam', p.decl.nameSpan, { name: p.name }, 'warning'));
  }

  if (sweeps && !hasErrors(diags)) diags.push(...checkSweeps(program, overrides, sweepSpecs, diags));

  const out = sortByPlace(dedupe(diags));
  if (!model || hasErrors(out)) return { value: undefined, diagnostics: out };
  const spec: ResolvedSpec = {
    file: root.abs, version: root.ast.header?.version ?? 1, params, model: model as ModelSpec, models,
    sweeps: sweepSpecs, origins: sink.origins,
  };
  if (data) spec.data = data as DataSpec;
  if (train) spec.train = train as TrainSpec;
  if (ev) spec.eval = ev;
  return { value: spec, diagnostics: out };
}

/** Every combination of a sweep is checked as if run with `--set`; new errors name the run. */
function checkSweeps(program: Program, overrides: Record<string, string>, sweeps: SweepSpec[], base: Diagnostic[]): Diagnostic[] {
  const seen = new Set(base.map(key));
  const out: Diagnostic[] = [];
  for (const s of sweeps) {
    let runs: Record<string, string>[] = [{}];
    for (const a of s.axes) runs = runs.flatMap((r) => a.values.map((v) => ({ ...r, [a.param]: String(v) }))).slice(0, MAX_SWEEP_RUNS);
    for (const run of runs) {
      const r = checkProgram(program, { ...overrides, ...run }, false);
      for (const d of r.diagnostics) {
        if (d.severity !== 'error' || seen.has(key(d))) continue;
        seen.add(key(d));
        const desc = Object.entries(run).map(([k, v]) => `${k}=${v}`).join(' ');
        out.push({ ...d, message: `${d.message} (in sweep \`${s.name}\`, run ${desc})` });
      }
    }
  }
  return out;
}

const key = (d: Diagnostic): string => `${d.code}|${d.span?.file}|${d.span?.start}|${d.span?.end}|${d.message}`;

function dedupe(ds: Diagnostic[]): Diagnostic[] {
  const seen = new Set<string>();
  return ds.filter((d) => {
    const k = key(d);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/** Source order, file by file (files in order of first mention); diagnostics without a place first. */
function sortByPlace(ds: Diagnostic[]): Diagnostic[] {
  const files: string[] = [];
  for (const d of ds) if (d.span && !files.includes(d.span.file)) files.push(d.span.file);
  const rank = (d: Diagnostic): [number, number] => (d.span ? [files.indexOf(d.span.file) + 1, d.span.start] : [0, 0]);
  return ds.map((d, i) => ({ d, i })).sort((a, b) => {
    const [fa, sa] = rank(a.d);
    const [fb, sb] = rank(b.d);
    return fa - fb || sa - sb || a.i - b.i;
  }).map((x) => x.d);
}
