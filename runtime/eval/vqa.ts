// VQA accuracy as the official evaluation (VQA/PythonEvaluationTools/vqaEval.py) computes it: the answer
// normalisation (processPunctuation, processDigitArticle with the contractions table), applied only when the
// ten human answers disagree (as the official code does), then for each of the 10 leave-one-out subsets
// min(#matches among the other 9 / 3, 1), averaged. Scores are reported ×100, rounded to 2 places like it.

import { VQA_CONTRACTIONS } from './vqa-contractions.js';

const MANUAL_MAP: Record<string, string> = {
  none: '0', zero: '0', one: '1', two: '2', three: '3', four: '4', five: '5', six: '6', seven: '7', eight: '8',
  nine: '9', ten: '10',
};
const ARTICLES = new Set(['a', 'an', 'the']);
// The official pattern "(?!<=\d)(\.)(?!\d)" has a typo (a lookahead for the text "<=digit", not a look-behind),
// so it removes every period not followed by a digit. JS regexes read it the same way; kept verbatim.
const PERIOD_STRIP = /(?!<=\d)(\.)(?!\d)/g;
const COMMA_STRIP = /(\d)(,)(\d)/;
const PUNCT = [';', '/', '[', ']', '"', '{', '}', '(', ')', '=', '+', '\\', '_', '-', '>', '<', '@', '`', ',', '?', '!'];

/** processPunctuation(): a mark next to a space (or any text with a digit,digit) is deleted, else it becomes a space. */
export function processPunctuation(inText: string): string {
  let out = inText;
  const digitComma = COMMA_STRIP.test(inText);
  for (const p of PUNCT) {
    if (inText.includes(p + ' ') || inText.includes(' ' + p) || digitComma) out = out.split(p).join('');
    else out = out.split(p).join(' ');
  }
  // Python passes re.UNICODE (= 32) as the positional `count` of re.sub: at most 32 periods are removed.
  let removed = 0;
  return out.replace(PERIOD_STRIP, (m) => (removed++ < 32 ? '' : m));
}

/** processDigitArticle(): lower-case, number words → digits, drop articles, then the contractions table. */
export function processDigitArticle(inText: string): string {
  const words: string[] = [];
  for (let w of inText.toLowerCase().split(/\s+/).filter((x) => x.length > 0)) {
    w = Object.prototype.hasOwnProperty.call(MANUAL_MAP, w) ? MANUAL_MAP[w]! : w;
    if (!ARTICLES.has(w)) words.push(w);
  }
  return words.map((w) => (Object.prototype.hasOwnProperty.call(VQA_CONTRACTIONS, w) ? VQA_CONTRACTIONS[w]! : w)).join(' ');
}

/** The official whitespace clean-up (newline, tab → space; strip) followed by both processing steps. */
export function normalizeAnswer(a: string): string {
  return processDigitArticle(processPunctuation(clean(a)));
}

const clean = (s: string): string => s.replace(/\n/g, ' ').replace(/\t/g, ' ').trim();

/** Accuracy in [0, 1] of one predicted answer against the human answers (usually 10). */
export function vqaAccuracy(pred: string, humanAnswers: string[]): number {
  if (humanAnswers.length === 0) throw new Error('vqaAccuracy: no human answers');
  let gts = humanAnswers.map(clean);
  let res = clean(pred);
  // Official quirk: normalisation only when the humans disagree (len(set(gtAnswers)) > 1).
  if (new Set(gts).size > 1) {
    gts = gts.map((g) => processDigitArticle(processPunctuation(g)));
    res = processDigitArticle(processPunctuation(res));
  }
  const r = res.toLowerCase();
  let sum = 0;
  for (let i = 0; i < gts.length; i++) {
    let matches = 0;
    for (let j = 0; j < gts.length; j++) if (j !== i && gts[j]!.toLowerCase() === r) matches++;
    sum += Math.min(1, matches / 3);
  }
  return sum / gts.length;
}

export interface VqaQuestion { question_id: number | string; image_id?: number | string; question?: string }
export interface VqaAnnotation {
  question_id: number | string;
  image_id?: number | string;
  question_type?: string;
  answer_type?: string;
  answers: { answer: string; answer_id?: number; answer_confidence?: string }[];
  multiple_choice_answer?: string;
}
export interface VqaPrediction { question_id: number | string; answer: string }
export interface VqaScore {
  /** Percent, rounded to 2 places as the official `overall`. */
  overall: number;
  perQuestion: Map<number | string, number>;
  perAnswerType: Record<string, number>;
  perQuestionType: Record<string, number>;
  /** Annotated questions that had no prediction (the official code refuses such a result file). */
  missing: number;
}

/** Python's round(x, 2) for the values we print: round half to even on the decimal value. */
export function pyRound2(x: number): number {
  const s = x * 100;
  const f = Math.floor(s);
  const d = s - f;
  const r = d > 0.5 ? f + 1 : d < 0.5 ? f : (f % 2 === 0 ? f : f + 1);
  return r / 100;
}

/** Scores every prediction; questions must exist in the annotations (and the questions list, when given). */
export function vqaScore(questions: VqaQuestion[], annotations: VqaAnnotation[], preds: VqaPrediction[]): VqaScore {
  const anns = new Map<string, VqaAnnotation>();
  for (const a of annotations) anns.set(String(a.question_id), a);
  const qids = new Set(questions.map((q) => String(q.question_id)));
  const seen = new Set<string>();
  const perQuestion = new Map<number | string, number>();
  const byAns = new Map<string, number[]>();
  const byQues = new Map<string, number[]>();
  const all: number[] = [];
  for (const p of preds) {
    const key = String(p.question_id);
    const ann = anns.get(key);
    if (!ann) throw new Error(`prediction for question ${key} which is not in the annotations`);
    if (questions.length > 0 && !qids.has(key)) throw new Error(`prediction for question ${key} which is not in the questions`);
    if (seen.has(key)) throw new Error(`two predictions for question ${key}`);
    seen.add(key);
    const acc = vqaAccuracy(String(p.answer), ann.answers.map((a) => String(a.answer)));
    all.push(acc);
    perQuestion.set(p.question_id, pyRound2(100 * acc));
    const push = (m: Map<string, number[]>, k: string | undefined) => { if (k !== undefined) (m.get(k) ?? m.set(k, []).get(k)!).push(acc); };
    push(byAns, ann.answer_type);
    push(byQues, ann.question_type);
  }
  const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);
  const table = (m: Map<string, number[]>) => Object.fromEntries([...m].map(([k, v]) => [k, pyRound2(100 * mean(v))]));
  return {
    overall: pyRound2(100 * mean(all)),
    perQuestion,
    perAnswerType: table(byAns),
    perQuestionType: table(byQues),
    missing: [...anns.keys()].filter((k) => !seen.has(k)).length,
  };
}
