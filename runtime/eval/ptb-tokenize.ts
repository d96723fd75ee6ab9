// What the COCO caption toolkit does to each caption before scoring, re-implemented in JS: Stanford PTBTokenizer
// (CoreNLP 3.4.1, `-preserveLines -lowerCase`, historical ptb3Escaping defaults) as a longest-match scanner,
// then removal of its PUNCTUATIONS tokens. Quirks kept on purpose: tokens are lower-cased after lexing, so "("
// gives "-lrb-", which the upper-case "-LRB-" filter keeps; "grey" → "gray" (not "Grey"); "/" and "*" are
// escaped; abbreviations ("mr.", "no.") and runs like "?!" stay tokens.

/** pycocoevalcap/tokenizer/ptbtokenizer.py PUNCTUATIONS, verbatim: these tokens are dropped after tokenising. */
export const PTB_PUNCTUATIONS: readonly string[] = [
  "''", "'", '``', '`', '-LRB-', '-RRB-', '-LCB-', '-RCB-', '.', '?', '!', ',', ':', '-', '--', '...', ';',
];
const PUNCT = new Set(PTB_PUNCTUATIONS);

// ---------------------------------------------------------------------------------------- Americanize

const AMERICAN: Record<string, string> = {};
// CoreNLP Americanize word list: British form → American form (exact, case-sensitive).
'anaesthetic:anesthetic analogue:analog analogues:analogs analyse:analyze analysed:analyzed analysing:analyzing armoured:armored cancelled:canceled cancelling:canceling candour:candor capitalise:capitalize capitalised:capitalized capitalisation:capitalization centre:center chimaeric:chimeric clamour:clamor coloured:colored colouring:coloring defence:defense detour:detour discolour:discolor discolours:discolors discoloured:discolored discolouring:discoloring encyclopaedia:encyclopedia endeavour:endeavor endeavours:endeavors endeavoured:endeavored endeavouring:endeavoring fervour:fervor favour:favor favours:favors favoured:favored favouring:favoring favourite:favorite favourites:favorites fibre:fiber fibres:fibers finalise:finalize finalised:finalized finalising:finalizing flavour:flavor flavours:flavors flavoured:flavored flavouring:flavoring glamour:glamour grey:gray harbour:harbor harbours:harbors homologue:homolog homologues:homologs honour:honor honours:honors honoured:honored honouring:honoring honourable:honorable humour:humor humours:humors humoured:humored humouring:humoring kerb:curb labelled:labeled labelling:labeling labour:labor labours:labors laboured:labored labouring:laboring leant:leaned learnt:learned localise:localize localised:localized manoeuvre:maneuver manoeuvres:maneuvers maximise:maximize maximised:maximized maximising:maximizing meagre:meager minimise:minimize minimised:minimized minimising:minimizing modernise:modernize modernised:modernized modernising:modernizing misdemeanour:misdemeanor misdemeanours:misdemeanors neighbour:neighbor neighbours:neighbors neighbourhood:neighborhood neighbourhoods:neighborhoods oestrogen:estrogen oestrogens:estrogens organisation:organization organisations:organizations penalise:penalize penalised:penalized popularise:popularize popularised:popularized popularises:popularizes popularising:popularizing practise:practice practised:practiced pressurise:pressurize pressurised:pressurized pressurises:pressurizes pressurising:pressurizing realise:realize realised:realized realising:realizing realises:realizes recognise:recognize recognised:recognized recognising:recognizing recognises:recognizes rumoured:rumored rumouring:rumoring savour:savor savours:savors savoured:savored savouring:savoring splendour:splendor splendours:splendors theatre:theater theatres:theaters titre:titer titres:titers travelled:traveled travelling:traveling'
  .split(' ').forEach((p) => { const [b, a] = p.split(':'); AMERICAN[b!] = a!; });

const AMERICAN_PATTERNS: [RegExp, RegExp | null, (m: RegExpExecArray) => string][] = [
  [/haem(at)?o/g, null, (m) => `hem${m[1] ?? ''}o`],
  [/aemia$/g, null, () => 'emia'],
  [/([lL]euk)aem/g, null, (m) => `${m[1]}em`],
  [/programme(s?)$/g, null, (m) => `program${m[1]}`],
  [/^([a-z]{3,})our(s?)$/g, /glamour|de[tv]our/, (m) => `${m[1]}or${m[2]}`],
];

export function americanize(w: string): string {
  if (Object.prototype.hasOwnProperty.call(AMERICAN, w)) return AMERICAN[w]!;
  for (const [re, except, rep] of AMERICAN_PATTERNS) {
    if (except && except.test(w)) continue;
    re.lastIndex = 0;
    if (re.test(w)) { re.lastIndex = 0; return w.replace(re, (...a) => rep(a.slice(0, -2) as unknown as RegExpExecArray)); }
  }
  return w;
}

// ------------------------------------------------------------------------------------------- the lexer

/** latexQuotes(): the quote normalisation of the historical PTB escaping. */
function quotes(tok: string, left: boolean): string {
  let s = left ? tok.replace(/'/g, '`').replace(/"/g, '``') : tok.replace(/"/g, "''");
  s = s.replace(/[\u2018\u201B\u2039]/g, '`').replace(/[\u2019\u203A]/g, "'");
  return s.replace(/[\u201C\u00AB]/g, '``').replace(/[\u201D\u00BB]/g, "''");
}
/** delimit(): backslash before "/" or "*" unless already escaped. */
function delimit(s: string, c: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) { if (s[i] === c && (i === 0 || s[i - 1] !== '\\')) out += '\\'; out += s[i]; }
  return out;
}
const soft = (s: string) => s.replace(/\u00AD/g, '');

const L = '\\p{L}\\p{M}\\u00AD';
const APOS = "['\\u2019]";
const APOSX = "['\\u2019\\u2018\\u201B]";
const ACRO = '[A-Za-z](?:\\.[A-Za-z])+';
const ABMONTH = 'jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec';
const ABDAYS = 'mon|tue|tues|wed|thu|thurs|fri';
const ABSTATE = 'ala|ariz|Ark|calif|colo|conn|dak|del|fla|ga|Ill|ind|kans?|ky|la|Mass|md|mich|minn|Miss|mo|mont|neb|nev|okla|Ore|pa|penn|tenn|tex|va|vt|Wash|wisc?|wyo';
const ABCOMP = 'inc|cos?|corp|pp?tys?|ltd|plc|bancorp|dept|bhd|assn|univ|intl|sys';
const ABNUM = 'nos?|prop|ph|tel|est|ext|sq|ft';
const ABPTIT = 'jr|sr|bros|(?:ed|ph)\\.d|blvd|rd|esq';
const ABTITLE = 'mr|mrs|ms|Miss|drs?|profs?|sens?|reps?|attys?|lt|col|gen|messrs|govs?|adm|rev|maj|sgt|cpl|pvt|mt|capt|ste?|ave|pres|lieut|hon|brig|co?mdr|pfc|spc|supts?|det';
// JFlex %caseless makes literals caseless but not character classes: "[A]rk" needs the capital. Emulated by
// matching the lists case-insensitively and then re-checking the capitalised entries.
const CAPITAL_ONLY = /^(ark|ill|mass|miss|ore|wash)\.$/i;
const ABBREV1 = new RegExp(`(?:${ABMONTH}|${ABDAYS}|${ABSTATE}|${ABCOMP}|${ABNUM}|${ABPTIT}|etc|al|seq)\\.`, 'iy');
// Alternatives longest-first: a JS alternation takes the first that succeeds, JFlex the longest match.
const ABBREV2 = new RegExp(`(?:${ACRO}|${ABTITLE}|vs|alex|wm|jos|cie|cf|treas|invt|elec|natl|m[ft]g|[A-Za-z])\\.`, 'iy');
const THING_PART = `(?:[dDoOlL]${APOSX}[${L}\\p{Nd}])?[${L}\\p{Nd}]+`;

interface Rule { re: RegExp; ctx?: RegExp; emit: (text: string) => string[]; check?: (text: string) => boolean }
const y = (src: string, flags = '') => new RegExp(src, `uy${flags}`);
const same = (t: string) => [t];

// In JFlex order: the longest match wins (trailing context counts), ties go to the earlier rule.
const RULES: Rule[] = [
  { re: y('cannot', 'i'), emit: (t) => [t.slice(0, 3), t.slice(3)] },
  { re: y('[\\u2013\\u2014\\u2015]'), emit: () => ['--'] },
  { re: y(`[${L}]+`), ctx: y(`${APOS}(?:[msd]|re|ve|ll)`, 'i'), emit: (t) => [americanize(soft(t))] },
  { re: y('[A-Za-z\\u00AD]*[A-MO-Za-mo-z]\\u00AD*'), ctx: y(`[nN]${APOSX}[tT]`), emit: (t) => [soft(t)] },
  { re: y(`[${L}]+`), emit: (t) => [americanize(soft(t))] },
  { re: y(`${APOS}n${APOS}?|${APOS}em|${APOS}till?|${APOS}cause|${APOS}[2-9]0s|'twas|nor'easter|c'mon|e'er|s'mores|ev'ry|li'l|nat'l`, 'i'), emit: same },
  { re: y(`[${L}]+[aeiouyAEIOUY]${APOSX}[aeiouA-Z][${L}]*`), emit: same },
  { re: y(`${APOS}(?:[msd]|re|ve|ll)`, 'i'), ctx: y('[^A-Za-z]'), emit: (t) => [quotes(t, false)] },
  { re: y(`n${APOSX}t`, 'i'), emit: (t) => [quotes(t, false)] },
  { re: y('\\p{Nd}{1,2}[-/]\\p{Nd}{1,2}[-/]\\p{Nd}{2,4}'), emit: (t) => [delimit(t, '/')] },
  { re: y('[-+]?(?:\\p{Nd}*(?:[.:,\\u00AD]\\p{Nd}+)+|\\p{Nd}+)'), emit: (t) => [soft(t)] },
  { re: y('(?:\\p{Nd}{1,4}[- \\u00A0])?\\p{Nd}{1,4}(?:\\\\?\\/|\\u2044)\\p{Nd}{1,4}'), emit: (t) => [delimit(t, '/').replace(/ /g, '\u00A0')] },
  { re: y('[\\u00BC\\u00BD\\u00BE\\u2153]'), emit: (t) => [({ '\u00BC': '1\\/4', '\u00BD': '1\\/2', '\u00BE': '3\\/4', '\u2153': '1\\/3' } as Record<string, string>)[t]!] },
  { re: y(`-(?:RRB|LRB|RCB|LCB|RSB|LSB)-|C\\.D\\.s|pro-|anti-|S&P-500|S&Ls|Cap${APOS}n|c${APOS}est`, 'i'), emit: same },
  { re: y('[A-Za-z0-9]+(?:-[A-Za-z]+){0,2}(?:\\\\?\\/[A-Za-z0-9]+(?:-[A-Za-z]+){0,2}){1,2}'), emit: (t) => [delimit(t, '/')] },
  { re: y('[A-Z]*\\$|#'), emit: same },
  { re: y('[\\u00A2\\u00A3\\u00A4\\u20A0\\u20AC]'), emit: (t) => [t === '\u00A2' ? 'cents' : t === '\u00A3' ? '#' : '$'] },
  { re: ABBREV1, ctx: y('[ \\t\\u00A0\\n](?:[ \\t\\u00A0\\n]|[A-Z])'), check: (t) => !CAPITAL_ONLY.test(t) || /^[A-Z]/.test(t), emit: (t) => [t, '.'] },
  { re: ABBREV1, check: (t) => !CAPITAL_ONLY.test(t) || /^[A-Z]/.test(t), emit: same },
  { re: ABBREV2, check: (t) => !/^miss\.$/i.test(t) || t[0] === 'M', emit: same },
  { re: y(ACRO), ctx: y('[ \\t\\u00A0\\n]|$'), emit: same },
  { re: y(`${APOS}\\p{Nd}\\p{Nd}`), ctx: y('[ \\t\\u00A0\\n]|$'), emit: same },
  { re: y(`[${L}]+\\.`), ctx: y('[,;:]'), emit: (t) => [soft(t)] },
  { re: y('"'), ctx: y('[A-Za-z0-9$]'), emit: (t) => [quotes(t, true)] },
  { re: y('"'), emit: (t) => [quotes(t, false)] },
  { re: y('[+%&\\u2030\\u2031~^=]'), emit: same },
  { re: y('[|\\\\\\u007f]'), emit: () => [] },
  { re: y('[<\\[(]'), emit: () => ['-LRB-'] },
  { re: y('[>\\])]'), emit: () => ['-RRB-'] },
  { re: y('\\{'), emit: () => ['-LCB-'] },
  { re: y('\\}'), emit: () => ['-RCB-'] },
  { re: y('-+'), emit: (t) => [t.length >= 3 && t.length <= 4 ? '--' : t] },
  { re: y('\\.{3,5}|(?:\\.[ \\u00A0]){2,4}\\.|[\\u0085\\u2026]'), emit: () => ['...'] },
  { re: y('@+|#+|_+'), emit: same },
  { re: y('\\*+|(?:\\\\\\*){1,3}'), emit: (t) => [delimit(t, '*')] },
  { re: y('[,;:]'), emit: same },
  { re: y('[?!]+'), emit: same },
  { re: y('[.\\u00A1\\u00BF\\u037E\\u0589\\u061F\\u06D4]'), emit: same },
  { re: y('\\/'), emit: () => ['\\/'] },
  { re: y(`[A-Za-z0-9][A-Za-z0-9.,\\u00AD]*(?:-(?:[A-Za-z0-9\\u00AD]+|${ACRO}\\.))+`), emit: (t) => [soft(t)] },
  { re: y(`${THING_PART}(?:[-_\\u058A\\u2010\\u2011]${THING_PART})*\\.`), ctx: y('[,;:]'), emit: same },
  { re: y(`${THING_PART}(?:[-_\\u058A\\u2010\\u2011]${THING_PART})*`), emit: same },
  { re: y('[A-Z]+(?:[+&][A-Z]+)+'), emit: same },
  { re: y("'"), ctx: y('[A-Za-z][^ \\t\\n\\r\\u00A0]'), emit: (t) => [quotes(t, true)] },
  { re: y(`${APOS}(?:[msd]|re|ve|ll)`, 'i'), emit: (t) => [quotes(t, false)] },
  { re: y("''|[`\\u2018\\u2019\\u201A\\u201B\\u201C\\u201D\\u201E\\u201F\\u2039\\u203A\\u00AB\\u00BB]{1,2}|['\\u2019]"), emit: (t) => [quotes(t, false)] },
  { re: y('[\\u00A6-\\u00A9\\u00AC\\u00AE-\\u00B3\\u00B4-\\u00BA\\u00D7\\u00F7\\u2020-\\u2023\\u2032-\\u2038\\u2100-\\u214F\\u2190-\\u22FF\\u2600-\\u26FF]'), emit: same },
  { re: y('[\\s\\u00A0\\u200B\\u200E\\u200F\\uFEFF\\u0000]+'), emit: () => [] },
];

function matchAt(re: RegExp, s: string, i: number): string | null {
  re.lastIndex = i;
  const m = re.exec(s);
  return m ? m[0] : null;
}

/** PTB tokens of one caption as CoreNLP emits them with -lowerCase (punctuation not yet removed). */
export function ptbTokens(caption: string): string[] {
  // Each caption is one line of the file the toolkit tokenises: the newline after it is trailing context
  // for some rules ("'re" before a non-letter is a clitic, not an opening quote).
  const s = caption.replace(/\n/g, ' ') + '\n';
  const out: string[] = [];
  let i = 0;
  while (i < s.length) {
    let best: { rule: Rule; text: string; total: number } | null = null;
    for (const rule of RULES) {
      const text = matchAt(rule.re, s, i);
      if (!text || (rule.check && !rule.check(text))) continue;
      let total = text.length;
      if (rule.ctx) {
        const c = matchAt(rule.ctx, s, i + text.length);
        if (c === null) continue;
        total += c.length;
      }
      if (!best || total > best.total) best = { rule, text, total };
    }
    if (!best) { i++; continue; } // untokenizable character: deleted (CoreNLP's default firstDelete)
    out.push(...best.rule.emit(best.text));
    i += best.text.length;
  }
  return out.map((t) => t.toLowerCase());
}

/** What pycocoevalcap feeds the scorers: PTB tokens minus PUNCTUATIONS, joined by single spaces. */
export function cocoTokenize(caption: string): string {
  return ptbTokens(caption).filter((t) => !PUNCT.has(t)).join(' ');
}
