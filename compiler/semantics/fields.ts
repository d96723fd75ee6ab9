// Field resolution: templates (`encoder big = vit_l14 { image 378 }` merges over its base), collecting each
// block's entries against its schema (unknown/duplicate/misplaced fields), and evaluating values: literals,
// params (with `--set` overrides), references to other blocks' fields (`vit_l14.width`) and arithmetic.

import { diag } from '../diagnostics/catalog.js';
import { didYouMean } from '../diagnostics/suggest.js';
import type { Diagnostic, Span } from '../diagnostics/types.js';
import type { Atom, Entry } from '../syntax/ast.js';
import type { Origin } from './spec.js';
import type { BlockDef, Module, ParamInfo, Program } from './resolve.js';
import { builtins, connectorSchema, describeType, schemas, type FSchema, type FType, type Schema } from './schema.js';

export type Val = number | string | boolean;
export interface Got { value: Val; origin: Origin; span: Span }
export interface FieldVal {
  name: string;
  schema: FSchema;
  entry: Entry;
  args: Atom[];
  module: Module;
  template?: string;               // set when inherited from a template block
  siblings?: Schema;               // the schema the field belongs to (for "missing separator" hints)
  sub?: FieldMap;                  // record fields
}
export type FieldMap = Map<string, FieldVal | FieldVal[]>;

const fmt = (v: number): string => (Number.isInteger(v) ? String(v) : String(+v.toPrecision(6)));

export class Fields {
  private readonly kindCache = new Map<BlockDef, string | undefined>();
  private readonly fieldCache = new Map<BlockDef, FieldMap>();
  private readonly paramCache = new Map<ParamInfo, Got | undefined>();
  private readonly active = new Set<string>();
  private readonly reported = new Set<string>();

  constructor(readonly program: Program, readonly overrides: Map<string, string>, readonly diags: Diagnostic[]) {}

  private report(d: Diagnostic): void {
    const key = `${d.code}@${d.span?.file}:${d.span?.start}:${d.message}`;
    if (this.reported.has(key)) return;
    this.reported.add(key);
    this.diags.push(d);
  }

  // ── templates ──────────────────────────────────────────────────────────────────────────────────────
  /** The built-in kind a block ends up as (`vit`, `c_abstractor`, …), following its template chain. */
  builtinOf(def: BlockDef, seen: BlockDef[] = []): string | undefined {
    if (this.kindCache.has(def)) return this.kindCache.get(def);
    const list = builtins[def.kind];
    let out: string | undefined;
    if (!list) out = def.kind;
    else if (def.decl.base === undefined) {
      if (list.length === 1) out = list[0];
      else this.report(diag('needBase', def.decl.nameSpan, { kind: def.kind, name: def.name, builtins: list.join(' | ') }));
    } else if (list.includes(def.decl.base)) out = def.decl.base;
    else {
      const base = this.baseOf(def);
      if (base) {
        if (seen.includes(base) || base === def) {
          this.report(diag('templateCycle', def.decl.baseSpan, { cycle: [...seen, def, base].map((d) => d.name).join(' → ') }));
        } else out = this.builtinOf(base, [...seen, def]);
      }
    }
    this.kindCache.set(def, out);
    return out;
  }

  /** The template block a block extends, if it extends one (not a built-in kind). */
  baseOf(def: BlockDef): BlockDef | undefined {
    const name = def.decl.base;
    const list = builtins[def.kind];
    if (name === undefined || !list || list.includes(name)) return undefined;
    const b = def.module.blocks.get(name);
    if (!b) {
      const cands = [...list, ...[...def.module.blocks.values()].filter((x) => x.kind === def.kind).map((x) => x.name)];
      this.report(diag('unknownBase', def.decl.baseSpan, { kind: def.kind, name, builtins: list.join(', '), suggest: didYouMean(name, cands) ?? '' }));
      return undefined;
    }
    if (b.kind !== def.kind) {
      this.report(diag('baseKindMismatch', def.decl.baseSpan, { name, actual: b.kind, kind: def.kind }));
      return undefined;
    }
    return b;
  }

  /** A block's fields: its template's, overridden by its own (records merge field by field). */
  fieldsOf(def: BlockDef): FieldMap {
    const cached = this.fieldCache.get(def);
    if (cached) return cached;
    this.fieldCache.set(def, new Map());   // guards template cycles
    const kind = this.builtinOf(def);
    const base = kind !== undefined ? this.baseOf(def) : undefined;
    let map: FieldMap = new Map();
    if (base && base !== def) {
      for (const [k, v] of this.fieldsOf(base)) map.set(k, Array.isArray(v) ? v.map((x) => inherit(x, base.name)) : inherit(v, base.name));
    }
    if (def.kind !== 'sweep') {
      const schema = def.kind === 'connector' ? connectorSchema : schemas[def.kind];
      const own = this.collect(def.decl.body ?? [], schema, def.module, `${def.kind} ${def.name}`, def.kind === 'connector' ? kind : undefined);
      map = merge(map, own);
    }
    this.fieldCache.set(def, map);
    return map;
  }

  /** Check entries against a schema; inline `key value` pairs and `{ … }` bodies both fill records. */
  collect(entries: Entry[], schema: Schema, module: Module, ctx: string, connectorKind?: string): FieldMap {
    const out: FieldMap = new Map();
    for (const e of entries) {
      const fs = schema[e.name];
      if (!fs) {
        this.report(diag('unknownField', e.nameSpan, { field: e.name, ctx, suggest: didYouMean(e.name, Object.keys(schema)) ?? '', valid: Object.keys(schema).join(', ') }));
        continue;
      }
      if (connectorKind && fs.kinds && !fs.kinds.includes(connectorKind)) {
        this.report(diag('fieldNotForKind', e.nameSpan, { field: e.name, kind: connectorKind, kinds: fs.kinds.join(', ') }));
        continue;
      }
      const fv: FieldVal = { name: e.name, schema: fs, entry: e, args: e.args, module, siblings: schema };
      if (fs.type.t === 'record') {
        const rec = fs.type;
        const args = e.args.slice();
        const head: Atom[] = [];
        if (rec.head && args.length && !(args[0]!.kind === 'path' && args[0]!.parts.length === 1 && rec.fields[args[0]!.parts[0]!])) head.push(args.shift()!);
        fv.args = head;
        const inline = this.inlineEntries(e, args, rec.fields, module, e.name);
        fv.sub = this.collect([...inline, ...(e.body ?? [])], rec.fields, module, e.name);
      } else if (e.body) {
        this.report(diag('unexpectedBody', e.span, { field: e.name }));
        continue;
      }
      const prev = out.get(e.name);
      if (fs.repeat) out.set(e.name, [...((prev as FieldVal[] | undefined) ?? []), fv]);
      else if (prev) {
        this.report({ ...diag('duplicateField', e.nameSpan, { field: e.name, ctx }), related: [{ message: 'first set here', span: (prev as FieldVal).entry.nameSpan }] });
      } else out.set(e.name, fv);
    }
    return out;
  }

  /** `checkpoint every 1000 keep 3` → entries `every 1000`, `keep 3`. */
  private inlineEntries(e: Entry, args: Atom[], fields: Schema, module: Module, ctx: string): Entry[] {
    const out: Entry[] = [];
    let i = 0;
    while (i < args.length) {
      const a = args[i]!;
      const key = a.kind === 'path' && a.parts.length === 1 ? a.parts[0]! : undefined;
      if (key === undefined || !fields[key]) {
        if (key !== undefined && !module.params.has(key) && !module.blocks.has(key)) {
          this.report(diag('unknownField', a.span, { field: key, ctx, suggest: didYouMean(key, Object.keys(fields)) ?? '', valid: Object.keys(fields).join(', ') }));
        } else {
          this.report(diag('wrongType', a.span, { field: e.name, expected: `a setting name (${Object.keys(fields).join(', ')})`, found: 'a value', hint: `write \`${e.name} ${Object.keys(fields)[0]} …\`` }));
        }
        i++;
        while (i < args.length && !(args[i]!.kind === 'path' && fields[(args[i] as { parts: string[] }).parts[0]!])) i++;
        continue;
      }
      const vals: Atom[] = [];
      i++;
      while (i < args.length) {
        const b = args[i]!;
        if (b.kind === 'path' && b.parts.length === 1 && fields[b.parts[0]!]) break;
        vals.push(b);
        i++;
      }
      const end = vals.length ? vals[vals.length - 1]!.span : a.span;
      out.push({ kind: 'entry', name: key, nameSpan: a.span, args: vals, span: { ...a.span, end: end.end, endLine: end.endLine, endCol: end.endCol } });
    }
    return out;
  }

  // ── values ─────────────────────────────────────────────────────────────────────────────────────────
  origin(kind: Origin['kind'], span: Span, detail?: string): Origin {
    const o: Origin = { kind, file: span.file, line: span.line, col: span.col };
    if (detail !== undefined) o.detail = detail;
    return o;
  }

  param(p: ParamInfo): Got | undefined {
    if (this.paramCache.has(p)) return this.paramCache.get(p);
    const key = `param:${p.module.abs}:${p.name}`;
    if (this.active.has(key)) { this.report(diag('referenceCycle', p.decl.nameSpan, { path: p.name })); return undefined; }
    this.active.add(key);
    let got: Got | undefined;
    const ov = p.module === this.program.root ? this.overrides.get(p.name) : undefined;
    if (ov !== undefined) {
      const v = parseOverride(ov, p.type);
      if (v !== undefined) got = { value: v, origin: { kind: 'override', detail: `--set ${p.name}=${ov}` }, span: p.decl.nameSpan };
    } else if (p.decl.value) {
      const v = this.atom(p.decl.value, p.module, p.type === 'string' ? 'string' : p.type === 'bool' ? 'bool' : 'number');
      if (v) {
        const ok = p.type === 'int' ? typeof v.value === 'number' && Number.isInteger(v.value) : p.type === 'float' ? typeof v.value === 'number' : typeof v.value === p.type.replace('bool', 'boolean');
        if (!ok) this.report(diag('paramTypeMismatch', p.decl.value.span, { name: p.name, type: p.type, got: typeof v.value === 'string' ? `"${v.value}"` : String(v.value) }));
        else got = { value: v.value, origin: this.origin('param', p.decl.nameSpan, p.name), span: v.span };
      }
    } else this.report(diag('paramNoValue', p.decl.nameSpan, { name: p.name }));
    this.active.delete(key);
    this.paramCache.set(p, got);
    return got;
  }

  /** Evaluate one value. `want` decides how a bare name reads: a param, or `true`/`false`. */
  atom(a: Atom, m: Module, want: 'number' | 'string' | 'bool' | 'any'): Got | undefined {
    const lit = (value: Val): Got => ({ value, origin: this.origin('literal', a.span), span: a.span });
    switch (a.kind) {
      case 'num': return lit(a.value);
      case 'str': return lit(a.value);
      case 'paren': return this.atom(a.inner, m, want);
      case 'neg': {
        const v = this.atom(a.arg, m, 'number');
        if (!v) return undefined;
        if (typeof v.value !== 'number') return this.typeErr(a, 'a number', v.value);
        return { value: -v.value, origin: v.origin, span: a.span };
      }
      case 'bin': {
        const l = this.atom(a.left, m, 'number');
        const r = this.atom(a.right, m, 'number');
        if (!l || !r) return undefined;
        if (typeof l.value !== 'number') return this.typeErr(a.left, 'a number', l.value);
        if (typeof r.value !== 'number') return this.typeErr(a.right, 'a number', r.value);
        const v = a.op === '+' ? l.value + r.value : a.op === '-' ? l.value - r.value : a.op === '*' ? l.value * r.value : l.value / r.value;
        if (!Number.isFinite(v)) return this.typeErr(a, 'a finite number', v);
        const o = l.origin.kind !== 'literal' ? l.origin : r.origin.kind !== 'literal' ? r.origin : this.origin('literal', a.span);
        return { value: v, origin: o, span: a.span };
      }
      case 'path': {
        const [first, ...rest] = a.parts as [string, ...string[]];
        if (rest.length === 0) {
          if ((first === 'true' || first === 'false') && !m.params.has(first)) return lit(first === 'true');
          const p = m.params.get(first);
          if (p) {
            p.used = true;
            const g = this.param(p);
            return g ? { value: g.value, origin: g.origin.kind === 'override' ? g.origin : this.origin('param', a.span, first), span: a.span } : undefined;
          }
          const b = m.blocks.get(first);
          if (b) return this.typeErr(a, want === 'any' ? 'a value' : `a ${want === 'bool' ? 'true/false value' : want}`, `the ${b.kind} \`${first}\``);
          this.report(diag('unknownName', a.span, { name: first, suggest: didYouMean(first, [...m.params.keys(), ...m.blocks.keys()]) ?? '' }));
          return undefined;
        }
        return this.member(a, m, first, rest);
      }
    }
  }

  private typeErr(a: Atom, expected: string, found: Val | string): undefined {
    const f = typeof found === 'string' && found.startsWith('the ') ? found : typeof found === 'string' ? `"${found}"` : String(found);
    this.report(diag('wrongType', a.span, { field: 'this value', expected, found: f }));
    return undefined;
  }

  /** `vit_l14.width`, `llm.moe.experts`: another block's (resolved) value. */
  private member(a: Atom & { kind: 'path' }, m: Module, first: string, rest: string[]): Got | undefined {
    const b = m.blocks.get(first);
    if (!b) {
      this.report(diag('unknownName', a.span, { name: first, suggest: didYouMean(first, [...m.blocks.keys(), ...m.params.keys()]) ?? '' }));
      return undefined;
    }
    let map = this.fieldsOf(b);
    let schema: Schema = b.kind === 'connector' ? connectorSchema : b.kind === 'sweep' ? {} : schemas[b.kind];
    let fv: FieldVal | undefined;
    for (let i = 0; i < rest.length; i++) {
      const name = rest[i]!;
      const got = map.get(name);
      if (!schema[name] || Array.isArray(got)) {
        this.report(diag('unknownMember', a.span, { block: [first, ...rest.slice(0, i)].join('.'), field: name, suggest: didYouMean(name, Object.keys(schema)) ?? '' }));
        return undefined;
      }
      if (!got) {
        // An unset field with a constant default reads as that default (`cabs.depth` → 3).
        const def = Number(schema[name]!.def);
        if (i === rest.length - 1 && schema[name]!.def !== undefined && Number.isFinite(def)) {
          return { value: def, origin: this.origin('reference', a.span, `${a.parts.join('.')} (default)`), span: a.span };
        }
        this.report(diag('noValueHere', a.span, { path: a.parts.join('.') }));
        return undefined;
      }
      fv = got;
      if (i < rest.length - 1) {
        if (!got.sub || got.schema.type.t !== 'record') {
          this.report(diag('unknownMember', a.span, { block: [first, ...rest.slice(0, i + 1)].join('.'), field: rest[i + 1]!, suggest: '' }));
          return undefined;
        }
        map = got.sub;
        schema = got.schema.type.fields;
      }
    }
    if (!fv) return undefined;
    const key = `ref:${b.module.abs}:${a.parts.join('.')}`;
    if (this.active.has(key)) { this.report(diag('referenceCycle', a.span, { path: a.parts.join('.') })); return undefined; }
    this.active.add(key);
    const g = this.value(fv, fv.schema.type);
    this.active.delete(key);
    if (!g || typeof g.value === 'object') return undefined;
    return { value: g.value as Val, origin: this.origin('reference', a.span, a.parts.join('.')), span: a.span };
  }

  /** Evaluate a scalar, enum or list field against its type. Lists come back as `number[]` values. */
  value(fv: FieldVal, type: FType): { value: Val | number[] | BlockDef; origin: Origin; span: Span } | undefined {
    const field = fv.name;
    let args = fv.args;
    if (fv.schema.prefix && args.length > 1) {
      const a0 = args[0]!;
      if (a0.kind === 'path' && a0.parts.length === 1 && fv.schema.prefix.includes(a0.parts[0]!)) args = args.slice(1);
    }
    const whole = fv.entry.span;
    const wrap = (g: { value: Val | number[] | BlockDef; origin: Origin; span: Span }) =>
      fv.template ? { ...g, origin: { ...g.origin, kind: 'template' as const, detail: `${fv.template}${g.origin.detail ? ` (${g.origin.detail})` : ''}` } } : g;
    if (type.t === 'list') {
      if (args.length < type.min || args.length > type.max) {
        this.report(diag('valueCount', args.length ? whole : fv.entry.nameSpan, { field, want: type.min === type.max ? `${type.min} values` : `${type.min} to ${type.max} values`, got: args.length, example: `${field} ${fv.schema.example}` }));
        return undefined;
      }
      const vals: number[] = [];
      for (const a of args) {
        const g = this.atom(a, fv.module, 'number');
        if (!g) return undefined;
        if (!this.checkNumber(field, type.of, g)) return undefined;
        vals.push(g.value as number);
      }
      return wrap({ value: vals, origin: this.origin('literal', whole), span: whole });
    }
    if (type.t === 'image' && args.length === 3 && args[1]!.kind === 'path' && (args[1] as { parts: string[] }).parts.join('.') === 'x') {
      const w = this.atom(args[0]!, fv.module, 'number');
      const h = this.atom(args[2]!, fv.module, 'number');
      if (!w || !h) return undefined;
      if (w.value !== h.value) { this.report(diag('nonSquareImage', whole, { w: String(w.value), h: String(h.value) })); return undefined; }
      return this.checkNumber(field, { t: 'int', min: 1 }, w) ? wrap(w) : undefined;
    }
    if (type.t === 'record') return undefined;
    if (args.length !== 1) {
      // `vocab 512 width 64`: a field name among the values means a missing separator.
      const glued = args.find((x) => x.kind === 'path' && x.parts.length === 1 && fv.siblings?.[x.parts[0]!] && !fv.module.params.has(x.parts[0]!));
      if (glued && glued.kind === 'path') {
        this.report({ ...diag('valueCount', whole, { field, want: `one value (${describeType(type)})`, got: args.length }), hint: `\`${glued.parts[0]}\` is a field: end \`${field}\` with \`;\` or a new line` });
      } else {
        this.report(diag('valueCount', args.length ? whole : fv.entry.nameSpan, { field, want: `one value (${describeType(type)})`, got: args.length, example: `${field} ${fv.schema.example}` }));
      }
      return undefined;
    }
    const a = args[0]!;
    const bare = a.kind === 'path' && a.parts.length === 1 ? a.parts[0]! : undefined;
    if (type.t === 'enum') {
      if (bare !== undefined && type.values.includes(bare)) return wrap({ value: bare, origin: this.origin('literal', a.span), span: a.span });
      const p = bare !== undefined ? fv.module.params.get(bare) : undefined;
      if (p) {
        const g = this.param(p);
        if (g && typeof g.value === 'string' && type.values.includes(g.value)) return wrap({ ...g, span: a.span });
        if (g) this.report(diag('unknownEnum', a.span, { field, value: String(g.value), choices: type.values.join(', '), suggest: '' }));
        return undefined;
      }
      const shown = bare ?? (a.kind === 'str' ? a.value : a.kind === 'num' ? a.text : '…');
      this.report(diag('unknownEnum', a.span, { field, value: shown, choices: type.values.join(', '), suggest: didYouMean(shown, type.values) ?? '' }));
      return undefined;
    }
    if (type.t === 'ref') {
      let b = bare !== undefined ? fv.module.blocks.get(bare) : undefined;
      // A string param may name the block, so a sweep can switch models: `train { model arch }`.
      const sp = bare !== undefined && !b ? fv.module.params.get(bare) : undefined;
      if (sp) {
        sp.used = true;
        const g = this.param(sp);
        if (!g) return undefined;
        b = typeof g.value === 'string' ? fv.module.blocks.get(g.value) : undefined;
        if (!b || b.kind !== type.kind) {
          const cands = [...fv.module.blocks.values()].filter((x) => x.kind === type.kind).map((x) => x.name);
          this.report(diag('unknownName', a.span, { name: String(g.value), suggest: didYouMean(String(g.value), cands) ?? (cands.length ? `${type.kind} blocks here: ${cands.join(', ')}` : '') }));
          return undefined;
        }
        return wrap({ value: b, origin: g.origin.kind === 'override' ? g.origin : this.origin('param', a.span, bare), span: a.span });
      }
      if (b && b.kind === type.kind) return wrap({ value: b, origin: this.origin('literal', a.span, b.name), span: a.span });
      const cands = [...fv.module.blocks.values()].filter((x) => x.kind === type.kind).map((x) => x.name);
      if (b) this.report(diag('wrongRefKind', a.span, { name: bare!, actual: b.kind, field, want: type.kind, suggest: didYouMean(bare!, cands) ?? (cands.length ? `${type.kind} blocks: ${cands.join(', ')}` : '') }));
      else if (bare !== undefined) this.report(diag('unknownName', a.span, { name: bare, suggest: didYouMean(bare, cands) ?? (cands.length ? `${type.kind} blocks here: ${cands.join(', ')}` : `define \`${type.kind} ${bare} { … }\` or import it`) }));
      else this.report(diag('wrongType', a.span, { field, expected: describeType(type), found: a.kind === 'num' ? `the number ${a.text}` : 'a value' }));
      return undefined;
    }
    const want = type.t === 'string' ? 'string' : type.t === 'bool' ? 'bool' : 'number';
    const g = this.atom(a, fv.module, want);
    if (!g) return undefined;
    if (want === 'string' && typeof g.value !== 'string') return this.fieldTypeErr(field, type, g);
    if (want === 'bool' && typeof g.value !== 'boolean') return this.fieldTypeErr(field, type, g);
    if (want === 'number' && !this.checkNumber(field, type, g)) return undefined;
    return wrap(g);
  }

  private fieldTypeErr(field: string, type: FType, g: Got): undefined {
    const found = typeof g.value === 'string' ? `the string "${g.value}"` : typeof g.value === 'boolean' ? `\`${g.value}\`` : `the number ${fmt(g.value)}`;
    const hint = type.t === 'bool' ? `write \`${field} true\` or \`${field} false\`` : undefined;
    this.report(diag('wrongType', g.span, { field, expected: describeType(type), found, ...(hint ? { hint } : {}) }));
    return undefined;
  }

  private checkNumber(field: string, type: FType, g: Got): boolean {
    if (typeof g.value !== 'number') { this.fieldTypeErr(field, type, g); return false; }
    const v = g.value;
    if (type.t === 'int' && !Number.isInteger(v)) { this.report(diag('notInteger', g.span, { field, value: fmt(v) })); return false; }
    if (type.t === 'int' || type.t === 'float') {
      const lo = type.min;
      const hi = type.max;
      const gt = type.t === 'float' ? type.gt : undefined;
      const lt = type.t === 'float' ? type.lt : undefined;
      const bad = (lo !== undefined && v < lo) || (hi !== undefined && v > hi) || (gt !== undefined && v <= gt) || (lt !== undefined && v >= lt);
      if (bad) {
        const parts: string[] = [];
        if (gt !== undefined) parts.push(gt === 0 ? 'positive' : `greater than ${gt}`);
        if (lo !== undefined) parts.push(lo === 1 && type.t === 'int' ? 'at least 1' : `at least ${lo}`);
        if (hi !== undefined) parts.push(`at most ${hi}`);
        if (lt !== undefined) parts.push(`below ${lt}`);
        this.report(diag('outOfRange', g.span, { field, range: parts.join(' and '), value: fmt(v) }));
        return false;
      }
    }
    return true;
  }
}

function inherit(fv: FieldVal, template: string): FieldVal {
  return { ...fv, template: fv.template ?? template, ...(fv.sub ? { sub: new Map([...fv.sub].map(([k, v]) => [k, Array.isArray(v) ? v.map((x) => inherit(x, template)) : inherit(v, template)])) } : {}) };
}

function merge(base: FieldMap, over: FieldMap): FieldMap {
  const out: FieldMap = new Map(base);
  for (const [k, v] of over) {
    const b = out.get(k);
    if (b && !Array.isArray(b) && !Array.isArray(v) && b.sub && v.sub) {
      out.set(k, { ...v, args: v.args.length ? v.args : b.args, sub: merge(b.sub, v.sub) });
    } else out.set(k, v);
  }
  return out;
}

export function parseOverride(text: string, type: string): Val | undefined {
  const t = text.trim();
  if (type === 'string') return text;
  if (type === 'bool') return t === 'true' ? true : t === 'false' ? false : undefined;
  if (!/^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(t)) return undefined;
  const v = Number(t);
  if (!Number.isFinite(v)) return undefined;
  if (type === 'int' && !Number.isInteger(v)) return undefined;
  return v;
}
