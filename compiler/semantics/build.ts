// Builders: one per block kind, turning a block's checked fields into the typed specs of spec.ts, filling
// documented defaults and recording, for every value, where it came from (origins) and where it is written
// (spans, for the cross-block diagnostics of shapes.ts).

import { diag } from '../diagnostics/catalog.js';
import { didYouMean } from '../diagnostics/suggest.js';
import type { Diagnostic, Span } from '../diagnostics/types.js';
import type { BlockDecl } from '../syntax/ast.js';
import type { Fields, FieldMap, FieldVal } from './fields.js';
import { dirname, resolvePath } from './paths.js';
import type { BlockDef, Module } from './resolve.js';
import { connectorSchema, schemas, type FSchema, type Schema } from './schema.js';
import type { ConnectorSpec, DataSourceSpec, DataSpec, DecoderSpec, EncoderSpec, EvalSpec, ModelSpec, MoeSpec, Origin, SweepSpec, TrainSpec } from './spec.js';

export interface Sink { origins: Record<string, Origin>; spans: Map<string, Span>; diags: Diagnostic[]; record: boolean }

const camel = (s: string): string => s.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

/** Reads one block's (or record's) fields with defaults, recording origins under `prefix`. */
export class Reader {
  constructor(readonly f: Fields, readonly map: FieldMap, readonly schema: Schema, readonly prefix: string,
    readonly ctx: string, readonly anchor: Span, readonly sink: Sink, readonly require: boolean) {}

  private note(name: string, origin: Origin, span: Span): void {
    const key = `${this.prefix}.${camel(name)}`;
    this.sink.spans.set(key, span);
    if (this.sink.record) this.sink.origins[key] = origin;
  }
  private fv(name: string): FieldVal | undefined {
    const v = this.map.get(name);
    return Array.isArray(v) ? v[0] : v;
  }
  has(name: string): boolean { return this.map.has(name); }

  private missing(name: string): void {
    if (!this.require) return;
    // `encoder e decoder d`: the field is there, glued to the previous one, which already has an error.
    for (const v of this.map.values()) {
      for (const fv of Array.isArray(v) ? v : [v]) if (fv.args.some((a) => a.kind === 'path' && a.parts.length === 1 && a.parts[0] === name)) return;
    }
    const s: FSchema | undefined = this.schema[name];
    this.sink.diags.push(diag('missingField', this.anchor, { ctx: this.ctx, field: name, example: s?.example ?? '…' }));
  }

  private get(name: string): { value: unknown; origin: Origin; span: Span } | undefined {
    const fv = this.fv(name);
    if (!fv) return undefined;
    const g = this.f.value(fv, fv.schema.type);
    if (g) this.note(name, g.origin, g.span);
    return g;
  }

  /** A number; `def` may be a value, a function of other fields, or undefined for a required field. */
  num(name: string, def?: number | null | (() => number | undefined)): number | undefined {
    if (this.has(name)) {
      const g = this.get(name);
      return typeof g?.value === 'number' ? g.value : undefined;
    }
    const d = typeof def === 'function' ? def() : def;
    if (d === undefined || d === null) { if (def === undefined) this.missing(name); return undefined; }
    this.note(name, { kind: 'default' }, this.anchor);
    return d;
  }
  str(name: string, def?: string): string | undefined {
    if (this.has(name)) { const g = this.get(name); return typeof g?.value === 'string' ? g.value : undefined; }
    if (def === undefined) { this.missing(name); return undefined; }
    this.note(name, { kind: 'default' }, this.anchor);
    return def;
  }
  bool(name: string, def: boolean): boolean | undefined {
    if (this.has(name)) { const g = this.get(name); return typeof g?.value === 'boolean' ? g.value : undefined; }
    this.note(name, { kind: 'default' }, this.anchor);
    return def;
  }
  list(name: string, def: number[]): number[] | undefined {
    if (this.has(name)) { const g = this.get(name); return Array.isArray(g?.value) ? (g.value as number[]) : undefined; }
    this.note(name, { kind: 'default' }, this.anchor);
    return def;
  }
  ref(name: string, required: boolean): BlockDef | undefined | null {
    if (!this.has(name)) { if (required) this.missing(name); return null; }
    const g = this.get(name);
    return g ? (g.value as BlockDef) : undefined;
  }
  /** A record field: its head value (`adamw`) and a reader for its settings. */
  sub(name: string, headDef?: string): { head: string | undefined; r: Reader } {
    const fv = this.fv(name);
    const type = this.schema[name]!.type;
    const fields = type.t === 'record' ? type.fields : {};
    const r = new Reader(this.f, fv?.sub ?? new Map(), fields, `${this.prefix}.${camel(name)}`, name, fv?.entry.nameSpan ?? this.anchor, this.sink, this.require);
    let head = headDef;
    if (fv && fv.args.length && type.t === 'record' && type.head) {
      const g = this.f.value({ ...fv, schema: { ...fv.schema, type: type.head } }, type.head);
      head = typeof g?.value === 'string' ? g.value : undefined;
      if (g && this.sink.record) this.sink.origins[`${this.prefix}.${camel(name)}.kind`] = g.origin;
    }
    return { head, r };
  }
}

const anchorOf = (d: BlockDecl): Span => d.nameSpan ?? d.kindSpan;

export class Builder {
  constructor(readonly f: Fields, readonly sink: Sink) {}

  private reader(def: BlockDef, prefix: string, require: boolean): Reader {
    const schema = def.kind === 'connector' ? connectorSchema : schemas[def.kind as Exclude<typeof def.kind, 'sweep'>];
    return new Reader(this.f, this.f.fieldsOf(def), schema, prefix, `${def.kind} ${def.name}`, anchorOf(def.decl), this.sink, require);
  }

  encoder(def: BlockDef, prefix: string, require: boolean): Partial<EncoderSpec> {
    const r = this.reader(def, prefix, require);
    const image = r.num('image');
    return {
      name: def.name, kind: 'vit', image, patch: r.num('patch'), width: r.num('width'), depth: r.num('depth'),
      heads: r.num('heads'), mlp: r.num('mlp'), channels: r.num('channels', 3), posRes: r.num('pos_res', () => image ?? 0),
      normEps: r.num('norm_eps', 1e-5),
    };
  }

  connector(def: BlockDef, enc: Partial<EncoderSpec> | undefined, prefix: string, require: boolean): Partial<ConnectorSpec> {
    const r = this.reader(def, prefix, require);
    const kind = this.f.builtinOf(def) as ConnectorSpec['kind'] | undefined;
    const patches = enc?.image && enc.patch ? (enc.image / enc.patch) ** 2 : undefined;
    const tokens = kind === 'linear' ? r.num('tokens', () => (patches !== undefined && Number.isInteger(patches) ? patches : 0)) : r.num('tokens');
    // Fields not used by a kind still get their documented defaults so the spec is complete.
    const soft = (name: string, applies: boolean, d: number | undefined): number | undefined => (applies ? r.num(name, d) : d);
    return {
      name: def.name, ...(kind ? { kind } : {}), tokens,
      depth: soft('depth', kind === 'c_abstractor', 3) ?? 3,
      hidden: soft('hidden', kind === 'c_abstractor' || kind === 'attn_pool', enc?.width ?? (require ? undefined : 0)),
      heads: soft('heads', kind === 'attn_pool', 8) ?? 8,
    };
  }

  decoder(def: BlockDef, seqLen: number | undefined, prefix: string, require: boolean): Partial<DecoderSpec> {
    const r = this.reader(def, prefix, require);
    const heads = r.num('heads');
    const out: Partial<DecoderSpec> = {
      name: def.name, kind: 'transformer', vocab: r.num('vocab'), width: r.num('width'), depth: r.num('depth'), heads,
      kvHeads: r.num('kv_heads', () => heads ?? 0), ffn: r.num('ffn'), rope: r.num('rope', 10000),
      tied: r.bool('tied', false), normEps: r.num('norm_eps', 1e-5), maxSeq: r.num('max_seq', seqLen ?? 2048),
    };
    if (r.has('moe')) {
      const m = r.sub('moe').r;
      const moe: Partial<MoeSpec> = {
        experts: m.num('experts'), topK: m.num('top_k', 2), every: m.num('every', 1), capacity: m.num('capacity', 2.0),
        balance: m.num('balance', 0.01), zLoss: m.num('z_loss', 0.001),
      };
      out.moe = moe as MoeSpec;
    }
    return out;
  }

  /** A model with its parts; `data seq_len` feeds the decoder's default max_seq. */
  model(def: BlockDef, seqLen: number | undefined, prefix: string): { spec: Partial<ModelSpec>; broken: boolean; encDef?: BlockDef; conDef?: BlockDef; decDef?: BlockDef } {
    const r = this.reader(def, prefix, true);
    const e = r.ref('encoder', false);
    const c = r.ref('connector', false);
    const d = r.ref('decoder', true);
    const spec: Partial<ModelSpec> = { name: def.name };
    const out: { spec: Partial<ModelSpec>; broken: boolean; encDef?: BlockDef; conDef?: BlockDef; decDef?: BlockDef } = { spec, broken: e === undefined || c === undefined || d === undefined };
    if (e) { spec.encoder = this.encoder(e, `${prefix}.encoder`, true) as EncoderSpec; out.encDef = e; }
    if (c) { spec.connector = this.connector(c, spec.encoder, `${prefix}.connector`, true) as ConnectorSpec; out.conDef = c; }
    if (d) { spec.decoder = this.decoder(d, seqLen, `${prefix}.decoder`, true) as DecoderSpec; out.decDef = d; }
    if ((e === null) !== (c === null) && e !== undefined && c !== undefined) {
      this.sink.diags.push(diag('halfVision', anchorOf(def.decl), { name: def.name, has: e ? 'an encoder' : 'a connector', missing: e ? 'connector' : 'encoder' }));
    }
    return out;
  }

  /** A data block's seq_len alone: the decoder's max_seq defaults to it before the data block is built. */
  seqLenOf(def: BlockDef): number | undefined {
    const fv = this.f.fieldsOf(def).get('seq_len');
    if (!fv || Array.isArray(fv)) return undefined;
    const g = this.f.value(fv, fv.schema.type);
    return typeof g?.value === 'number' ? g.value : undefined;
  }

  data(def: BlockDef, vocab: number | undefined, prefix: string): Partial<DataSpec> {
    const r = this.reader(def, prefix, true);
    const sources: DataSourceSpec[] = [];
    const map = this.f.fieldsOf(def);
    const all: { fv: FieldVal; kind: DataSourceSpec['kind'] }[] = [];
    for (const kind of ['captions', 'interleaved', 'text'] as const) {
      const v = map.get(kind);
      for (const fv of Array.isArray(v) ? v : v ? [v] : []) all.push({ fv, kind });
    }
    all.sort((a, b) => a.fv.entry.span.start - b.fv.entry.span.start);
    if (all.length === 0) this.sink.diags.push(diag('noSources', anchorOf(def.decl), { name: def.name }));
    all.forEach(({ fv, kind }, i) => {
      const p = `${prefix}.sources.${i}`;
      const sr = new Reader(this.f, fv.sub ?? new Map(), (schemas.data[kind]!.type as { fields: Schema }).fields, p, kind, fv.entry.nameSpan, this.sink, true);
      let path: string | undefined;
      if (fv.args.length !== 1) {
        this.sink.diags.push(diag('valueCount', fv.entry.nameSpan, { field: kind, want: 'one path (a string)', got: fv.args.length, example: `${kind} ${schemas.data[kind]!.example}` }));
      } else {
        const g = this.f.value({ ...fv, schema: { ...fv.schema, type: { t: 'string' } } }, { t: 'string' });
        if (typeof g?.value === 'string') {
          if (g.value === '') this.sink.diags.push(diag('emptyString', g.span, { field: kind }));
          path = resolvePath(dirname(fv.module.abs), g.value);
          this.sink.spans.set(`${p}.path`, g.span);
          if (this.sink.record) this.sink.origins[`${p}.path`] = g.origin;
        }
      }
      this.sink.spans.set(`${p}.kind`, fv.entry.nameSpan);
      const weight = sr.num('weight', 1);
      const maxImages = kind === 'text' ? 0 : sr.num('max_images', kind === 'interleaved' ? 16 : 4);
      if (path !== undefined && weight !== undefined && maxImages !== undefined) sources.push({ kind, path, weight, maxImages });
    });
    const seqLen = r.num('seq_len');
    return { name: def.name, sources, seqLen, vocab: r.num('vocab', vocab ?? 0) };
  }

  train(decl: BlockDecl, m: Module, model: string, data: string | undefined, prefix: string): { spec: Partial<TrainSpec>; modelDef?: BlockDef | null; dataDef?: BlockDef | null } {
    const r = new Reader(this.f, this.f.collect(decl.body ?? [], schemas.train, m, 'train'), schemas.train, prefix, 'train', decl.kindSpan, this.sink, true);
    const modelDef = r.ref('model', false);
    const dataDef = r.ref('data', data === undefined);
    const batch = r.num('batch');
    const o = r.sub('optimizer', 'adamw');
    const s = r.sub('schedule', 'cosine');
    const c = r.sub('checkpoint');
    const betas = o.r.list('betas', [0.9, 0.95]);
    const spec: Partial<TrainSpec> = {
      model: modelDef?.name ?? model, data: dataDef?.name ?? data ?? '', steps: r.num('steps'), batch,
      microBatch: r.num('micro_batch', () => batch ?? 0), precision: r.str('precision', 'f32') as TrainSpec['precision'],
      seed: r.num('seed', 0),
      optimizer: {
        kind: 'adamw', lr: o.r.num('lr', null) ?? null, betas: (betas ?? [0.9, 0.95]) as [number, number], eps: o.r.num('eps', 1e-8) ?? 1e-8,
        weightDecay: o.r.num('weight_decay', 0.1) ?? 0.1, clip: o.r.num('clip', 1.0) ?? 1.0,
      },
      schedule: { kind: (s.head ?? 'cosine') as TrainSpec['schedule']['kind'], warmup: s.r.num('warmup', 2000) ?? 2000, final: s.r.num('final', 0.1) ?? 0.1 },
      checkpoint: { every: c.r.num('every', 1000) ?? 1000, keep: c.r.num('keep', 3) ?? 3 },
      logEvery: r.num('log_every', 1),
    };
    return { spec, modelDef, dataDef };
  }

  eval(decl: BlockDecl, m: Module, prefix: string): EvalSpec {
    const r = new Reader(this.f, this.f.collect(decl.body ?? [], schemas.eval, m, 'eval'), schemas.eval, prefix, 'eval', decl.kindSpan, this.sink, true);
    const task = (name: string, maxNew: number): EvalSpec['captioning'] => {
      if (!r.has(name)) return { shots: [], maxNewTokens: maxNew };
      const t = r.sub(name).r;
      return { shots: t.list('shots', [0]) ?? [0], maxNewTokens: t.num('max_new_tokens', maxNew) ?? maxNew };
    };
    return { captioning: task('captioning', 20), vqa: task('vqa', 5), seeds: r.num('seeds', 1) ?? 1, beam: r.num('beam', 1) ?? 1 };
  }

  sweep(def: BlockDef, root: Module): SweepSpec {
    const axes: SweepSpec['axes'] = [];
    const seen = new Set<string>();
    for (const e of def.decl.body ?? []) {
      const p = root.params.get(e.name);
      if (!p) {
        this.sink.diags.push(diag('sweepUnknownParam', e.nameSpan, { name: e.name, suggest: this.suggestParam(e.name, root) }));
        continue;
      }
      if (seen.has(e.name)) { this.sink.diags.push(diag('sweepDuplicateAxis', e.nameSpan, { name: e.name })); continue; }
      seen.add(e.name);
      p.used = true;
      const a0 = e.args[0];
      if (!a0 || a0.kind !== 'path' || a0.parts.join('.') !== 'in' || e.args.length < 2 || e.body) {
        this.sink.diags.push(diag('sweepSyntax', e.span, { name: e.name }));
        continue;
      }
      const values: (number | string)[] = [];
      for (const a of e.args.slice(1)) {
        const g = a.kind === 'path' && a.parts.length === 1 && !root.params.has(a.parts[0]!) ? { value: a.parts[0]!, span: a.span } : this.f.atom(a, root, 'any');
        if (!g) continue;
        const v = g.value;
        const ok = p.type === 'int' ? typeof v === 'number' && Number.isInteger(v) : p.type === 'float' ? typeof v === 'number'
          : p.type === 'bool' ? v === true || v === false || v === 'true' || v === 'false' : typeof v === 'string';
        if (!ok) { this.sink.diags.push(diag('sweepValueType', g.span, { value: typeof v === 'string' ? `\`${v}\`` : String(v), name: p.name, type: p.type })); continue; }
        values.push(typeof v === 'boolean' ? String(v) : v);
      }
      axes.push({ param: e.name, values });
    }
    return { name: def.name, axes };
  }

  private suggestParam(name: string, root: Module): string {
    return didYouMean(name, root.params.keys()) ?? '';
  }
}
