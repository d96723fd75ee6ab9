// `mm score cider|vqa`: the evaluation metrics alone, on the official file formats (COCO captions, VQA v2),
// so generated predictions can be scored — and our metrics checked against published tooling — without a
// model. Input mistakes name the file (and the JSON line:column or the offending entry) and exit 1.

import { parseFlags, UserError, type IO } from './io.js';
import { ciderD } from '../runtime/eval/cider.js';
import { vqaScore, type VqaAnnotation, type VqaPrediction, type VqaQuestion } from '../runtime/eval/vqa.js';
import { InputFileError, readJsonFile } from '../runtime/eval/json-file.js';

const USAGE = `usage: mm score cider --refs REFS.json --preds PREDS.json [--json]
       mm score vqa --refs ANNOTATIONS.json --questions QUESTIONS.json --preds PREDS.json [--json]

cider  CIDEr-D as the COCO caption evaluation code (PTB tokenisation, n = 1..4, sigma 6, x10).
       REFS:  {"annotations": [{"image_id": ..., "caption": "..."}]}   (COCO captions format)
       PREDS: [{"image_id": ..., "caption": "..."}]                      (one per image)
       Only images with a prediction are scored (as COCOEvalCap does).
vqa    VQA accuracy as the official vqaEval.py (answer normalisation, min(#humans/3, 1) over 10 subsets).
       REFS:      {"annotations": [{"question_id", "answer_type", "question_type", "answers": [{"answer"}...]}]}
       QUESTIONS: {"questions": [{"question_id", "image_id", "question"}]}
       PREDS:     [{"question_id": ..., "answer": "..."}]

options:
  --json   print the result as JSON (per-image / per-question scores included)
  --help   this text`;

type Json = unknown;
const isObj = (v: Json): v is Record<string, Json> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isId = (v: Json): v is string | number => typeof v === 'number' || typeof v === 'string';

/** Entry `i` of an array, checked to have the given fields; errors point at the entry. */
function entries(file: string, arr: Json, where: string, fields: Record<string, 'id' | 'string' | 'array'>): Record<string, Json>[] {
  if (!Array.isArray(arr)) throw new InputFileError(`${file}: ${where} must be an array`);
  return arr.map((e, i) => {
    if (!isObj(e)) throw new InputFileError(`${file}: ${where}[${i}] must be an object`);
    for (const [f, kind] of Object.entries(fields)) {
      const v = e[f];
      const ok = kind === 'id' ? isId(v) : kind === 'string' ? typeof v === 'string' : Array.isArray(v);
      if (!ok) throw new InputFileError(`${file}: ${where}[${i}].${f} ${v === undefined ? 'is missing' : `must be ${kind === 'id' ? 'a number or string id' : kind === 'string' ? 'a string' : 'an array'}`}`);
    }
    return e;
  });
}

function need(flags: Record<string, unknown>, name: string, sub: string): string {
  const v = flags[name];
  if (typeof v !== 'string') throw new UserError(`score ${sub} needs --${name} FILE\n\n${USAGE}`);
  return v;
}

function scoreCider(flags: Record<string, unknown>, io: IO): number {
  const refsFile = need(flags, 'refs', 'cider');
  const predsFile = need(flags, 'preds', 'cider');
  const refsJson = readJsonFile(refsFile, 'the reference captions');
  if (!isObj(refsJson) || !('annotations' in refsJson)) throw new InputFileError(`${refsFile}: expected the COCO captions format {"annotations": [{"image_id", "caption"}]}`);
  const refs = new Map<string, string[]>();
  const idOf = new Map<string, string | number>();
  for (const a of entries(refsFile, refsJson.annotations, 'annotations', { image_id: 'id', caption: 'string' })) {
    const k = String(a.image_id);
    idOf.set(k, a.image_id as string | number);
    (refs.get(k) ?? refs.set(k, []).get(k)!).push(a.caption as string);
  }
  const preds = new Map<string, string>();
  entries(predsFile, readJsonFile(predsFile, 'the predicted captions'), 'the top level', { image_id: 'id', caption: 'string' }).forEach((p, i) => {
    const k = String(p.image_id);
    if (preds.has(k)) throw new InputFileError(`${predsFile}: [${i}]: a second caption for image ${k} (one prediction per image)`);
    if (!refs.has(k)) throw new InputFileError(`${predsFile}: [${i}]: image ${k} has no reference captions in ${refsFile}`);
    preds.set(k, p.caption as string);
  });
  if (preds.size === 0) throw new InputFileError(`${predsFile}: no predictions`);
  const { score, perImage } = ciderD(refs, preds);
  if (flags.json) {
    io.stdout(JSON.stringify({
      metric: 'CIDEr-D', score, score100: score * 100, images: preds.size, unscored: refs.size - preds.size,
      perImage: Object.fromEntries([...perImage].map(([k, v]) => [String(idOf.get(k)), v])),
    }));
  } else {
    io.stdout(`CIDEr-D ${(score * 100).toFixed(2)}  (raw ${score.toFixed(4)}; ${preds.size} images${refs.size > preds.size ? `, ${refs.size - preds.size} without a prediction not scored` : ''})`);
  }
  return 0;
}

function scoreVqa(flags: Record<string, unknown>, io: IO): number {
  const annFile = need(flags, 'refs', 'vqa');
  const qFile = need(flags, 'questions', 'vqa');
  const predsFile = need(flags, 'preds', 'vqa');
  const annJson = readJsonFile(annFile, 'the VQA annotations');
  if (!isObj(annJson) || !('annotations' in annJson)) throw new InputFileError(`${annFile}: expected the VQA annotations format {"annotations": [{"question_id", "answers": [...]}]}`);
  const anns = entries(annFile, annJson.annotations, 'annotations', { question_id: 'id', answers: 'array' }) as unknown as VqaAnnotation[];
  anns.forEach((a, i) => entries(annFile, a.answers, `annotations[${i}].answers`, { answer: 'string' }));
  const qJson = readJsonFile(qFile, 'the VQA questions');
  if (!isObj(qJson) || !('questions' in qJson)) throw new InputFileError(`${qFile}: expected the VQA questions format {"questions": [{"question_id", "image_id", "question"}]}`);
  const questions = entries(qFile, qJson.questions, 'questions', { question_id: 'id' }) as unknown as VqaQuestion[];
  const preds = entries(predsFile, readJsonFile(predsFile, 'the predicted answers'), 'the top level', { question_id: 'id', answer: 'string' }) as unknown as VqaPrediction[];
  if (preds.length === 0) throw new InputFileError(`${predsFile}: no predictions`);
  let r;
  try { r = vqaScore(questions, anns, preds); } catch (e) { throw new InputFileError(`${predsFile}: ${(e as Error).message}`); }
  if (flags.json) {
    io.stdout(JSON.stringify({
      metric: 'VQA accuracy', overall: r.overall, perAnswerType: r.perAnswerType, perQuestionType: r.perQuestionType,
      questions: preds.length, missing: r.missing, perQuestion: Object.fromEntries([...r.perQuestion].map(([k, v]) => [String(k), v])),
    }));
  } else {
    const types = Object.entries(r.perAnswerType).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ');
    io.stdout(`VQA accuracy ${r.overall.toFixed(2)}  (${preds.length} questions${types ? `; ${types}` : ''})`);
    if (r.missing > 0) io.stderr(`mm score: warning: ${r.missing} annotated questions have no prediction and were not scored`);
  }
  return 0;
}

export async function run(argv: string[], io: IO): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === '--help' || sub === '-h' || sub === 'help') { io.stdout(USAGE); return 0; }
  try {
    if (sub !== 'cider' && sub !== 'vqa') throw new UserError(`${sub ? `unknown metric '${sub}'` : 'which metric?'} (cider or vqa)\n\n${USAGE}`);
    if (rest.includes('-h')) { io.stdout(USAGE); return 0; }
    const { flags, positional } = parseFlags(rest, { refs: 'string', preds: 'string', questions: 'string', json: 'boolean', help: 'boolean' });
    if (flags.help) { io.stdout(USAGE); return 0; }
    if (positional.length) throw new UserError(`unexpected argument '${positional[0]}' (files are given with --refs/--preds)`);
    if (sub === 'cider' && flags.questions !== undefined) throw new UserError('--questions is for `mm score vqa`');
    return sub === 'cider' ? scoreCider(flags, io) : scoreVqa(flags, io);
  } catch (e) {
    if (e instanceof UserError || e instanceof InputFileError) { io.stderr(`mm score: ${e.message}`); return 1; }
    throw e;
  }
}
