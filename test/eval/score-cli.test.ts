// `mm score`: the official file formats in, a score out (text and --json); every input mistake is exit 1
// with a message naming the file — and the JSON line:column for a syntax error — never a stack trace.

import { describe, expect, it, beforeAll } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { run } from '../../cli/score.js';

let dir: string;
const f = (name: string, content: unknown) => {
  const p = path.join(dir, name);
  fs.writeFileSync(p, typeof content === 'string' ? content : JSON.stringify(content, null, 1));
  return p;
};
async function mm(...argv: string[]) {
  const out: string[] = [], err: string[] = [];
  const code = await run(argv, { stdout: (s) => out.push(s), stderr: (s) => err.push(s) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

beforeAll(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mm-score-')); });

describe('mm score cider', () => {
  it('scores COCO-format files', async () => {
    const refs = f('refs.json', { annotations: [{ image_id: 1, caption: 'A cat.' }, { image_id: 2, caption: 'A dog!' }], images: [] });
    const preds = f('preds.json', [{ image_id: 1, caption: 'a cat' }, { image_id: 2, caption: 'a dog' }]);
    const r = await mm('cider', '--refs', refs, '--preds', preds);
    expect(r.code).toBe(0);
    expect(r.out).toContain('CIDEr-D 500.00');
    const j = await mm('cider', '--refs', refs, '--preds', preds, '--json');
    expect(JSON.parse(j.out)).toMatchObject({ metric: 'CIDEr-D', images: 2, perImage: { 1: expect.closeTo(5, 10) } });
    expect(JSON.parse(j.out).score).toBeCloseTo(5, 12);
  });

  it('user errors: missing file, bad JSON with position, wrong shape, duplicates', async () => {
    const refs = f('refs2.json', { annotations: [{ image_id: 1, caption: 'a cat' }] });
    let r = await mm('cider', '--refs', path.join(dir, 'nope.json'), '--preds', refs);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/nope\.json: cannot read the reference captions \(no such file\)/);
    r = await mm('cider', '--refs', refs, '--preds', f('bad.json', '[\n  {"image_id": 1,\n   "caption": }\n]'));
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/bad\.json:3:15: invalid JSON/);
    r = await mm('cider', '--refs', refs, '--preds', f('trunc.json', '[{"image_id": 1'));
    expect(r.err).toMatch(/trunc\.json:1:16: unexpected end of JSON/);
    r = await mm('cider', '--refs', f('shape.json', { annotations: [{ image_id: 1 }] }), '--preds', refs);
    expect(r.err).toMatch(/shape\.json: annotations\[0\]\.caption is missing/);
    r = await mm('cider', '--refs', f('list.json', []), '--preds', refs);
    expect(r.err).toMatch(/list\.json: expected the COCO captions format/);
    r = await mm('cider', '--refs', refs, '--preds', f('dup.json', [{ image_id: 1, caption: 'a' }, { image_id: 1, caption: 'b' }]));
    expect(r.err).toMatch(/dup\.json: \[1\]: a second caption for image 1/);
    r = await mm('cider', '--refs', refs, '--preds', f('unk.json', [{ image_id: 5, caption: 'a' }]));
    expect(r.err).toMatch(/image 5 has no reference captions/);
    for (const x of [r]) expect(x.err).not.toMatch(/\n\s+at /);
  });

  it('usage errors and --help', async () => {
    expect((await mm('--help')).code).toBe(0);
    expect((await mm('cider', '--help')).out).toContain('usage: mm score cider');
    const none = await mm();
    expect(none.code).toBe(1);
    expect(none.err).toContain('which metric?');
    expect((await mm('bleu')).err).toContain("unknown metric 'bleu'");
    expect((await mm('cider', '--refs', 'x')).err).toContain('needs --preds FILE');
    expect((await mm('cider', '--bogus')).err).toContain('unknown option --bogus');
  });
});

describe('mm score vqa', () => {
  const answers = (xs: string[]) => xs.map((answer, i) => ({ answer, answer_confidence: 'yes', answer_id: i + 1 }));
  it('scores the official VQA formats', async () => {
    const anns = f('anns.json', { annotations: [
      { question_id: 10, image_id: 1, question_type: 'how many', answer_type: 'number', answers: answers([...Array(3).fill('2'), ...Array(7).fill('3')]) },
      { question_id: 11, image_id: 1, question_type: 'is the', answer_type: 'yes/no', answers: answers(Array(10).fill('yes')) },
    ] });
    const qs = f('qs.json', { questions: [{ question_id: 10, image_id: 1, question: 'How many?' }, { question_id: 11, image_id: 1, question: 'Is the?' }] });
    const preds = f('vpreds.json', [{ question_id: 10, answer: 'Two' }, { question_id: 11, answer: 'yes' }]);
    const r = await mm('vqa', '--refs', anns, '--questions', qs, '--preds', preds);
    expect(r.code).toBe(0);
    expect(r.out).toContain('VQA accuracy 95.00');
    const j = JSON.parse((await mm('vqa', '--refs', anns, '--questions', qs, '--preds', preds, '--json')).out);
    expect(j).toMatchObject({ overall: 95, perAnswerType: { number: 90, 'yes/no': 100 }, perQuestion: { 10: 90, 11: 100 }, missing: 0 });

    const one = await mm('vqa', '--refs', anns, '--questions', qs, '--preds', f('one.json', [{ question_id: 11, answer: 'no' }]));
    expect(one.code).toBe(0);
    expect(one.err).toContain('1 annotated questions have no prediction');

    const bad = await mm('vqa', '--refs', anns, '--questions', qs, '--preds', f('unknown.json', [{ question_id: 99, answer: 'no' }]));
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/unknown\.json: prediction for question 99/);
    const noq = await mm('vqa', '--refs', anns, '--preds', preds);
    expect(noq.err).toContain('needs --questions FILE');
    const badAns = await mm('vqa', '--refs', f('ba.json', { annotations: [{ question_id: 1, answers: [{ answer: 3 }] }] }), '--questions', qs, '--preds', preds);
    expect(badAns.err).toMatch(/ba\.json: annotations\[0\]\.answers\[0\]\.answer must be a string/);
  });
});
