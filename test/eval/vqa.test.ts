// VQA accuracy: every normalisation rule of the official vqaEval.py on its own, the official quirks (no
// normalisation when all humans agree; the 32-period limit), and leave-one-out accuracies worked out by hand.

import { describe, expect, it } from 'vitest';
import { normalizeAnswer, processDigitArticle, processPunctuation, pyRound2, vqaAccuracy, vqaScore } from '../../runtime/eval/vqa.js';
import { VQA_CONTRACTIONS } from '../../runtime/eval/vqa-contractions.js';

const rep = (a: string, n: number) => Array<string>(n).fill(a);

describe('answer normalisation', () => {
  it('periodStrip: removes periods except before a digit', () => {
    expect(processPunctuation('yes.')).toBe('yes');
    expect(processPunctuation('3.5')).toBe('3.5');
    expect(processPunctuation('st. louis')).toBe('st louis');
    expect(processPunctuation('.5')).toBe('.5');
  });

  it('re.sub(..., re.UNICODE) passes 32 as count: at most 32 periods go', () => {
    expect(processPunctuation('.'.repeat(40))).toBe('.'.repeat(8));
  });

  it('punctuation next to a space is deleted, elsewhere it becomes a space', () => {
    expect(normalizeAnswer('black-and-white')).toBe('black and white');
    expect(normalizeAnswer('left - right')).toBe('left right');
    expect(processPunctuation('red, blue')).toBe('red blue');
    expect(processPunctuation('red,blue')).toBe('red blue');
    expect(normalizeAnswer('yes, it is (blue)')).toBe('yes it is blue');
    expect(normalizeAnswer('what?!')).toBe('what');
    expect(normalizeAnswer('a/b')).toBe('b'); // "a b" then the article "a" goes
    expect(normalizeAnswer('x/y')).toBe('x y');
  });

  it('commaStrip: a comma between digits makes every mark be deleted, not spaced', () => {
    expect(normalizeAnswer('1,000')).toBe('1000');
    expect(normalizeAnswer('1,2/3')).toBe('123');
  });

  it('number words become digits (none→0 … ten→10), only as whole words', () => {
    const words = ['none', 'zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten'];
    expect(words.map(normalizeAnswer)).toEqual(['0', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '10']);
    expect(normalizeAnswer('Two dogs')).toBe('2 dogs');
    expect(normalizeAnswer('eleven')).toBe('eleven');
    expect(normalizeAnswer('someone')).toBe('someone');
  });

  it('articles a, an, the are dropped', () => {
    expect(normalizeAnswer('a dog')).toBe('dog');
    expect(normalizeAnswer('An apple')).toBe('apple');
    expect(normalizeAnswer('the red car')).toBe('red car');
    expect(normalizeAnswer('the')).toBe('');
  });

  it('contractions table: apostrophe-less forms get their apostrophe', () => {
    expect(normalizeAnswer('dont')).toBe("don't");
    expect(normalizeAnswer('isnt')).toBe("isn't");
    expect(normalizeAnswer('whats that')).toBe("what's that");
    expect(normalizeAnswer('youre')).toBe("you're");
    expect(processDigitArticle('oclock')).toBe("o'clock");
    // Capitalised keys ("Im") can never match after lower-casing, exactly as in the official code.
    expect(normalizeAnswer('Im')).toBe('im');
    expect(Object.keys(VQA_CONTRACTIONS).length).toBe(120); // the size of the official table
  });

  it('whitespace: newlines and tabs become spaces, ends are stripped, runs of spaces collapse', () => {
    expect(normalizeAnswer('  two\tred\ncars ')).toBe('2 red cars');
  });
});

describe('accuracy', () => {
  it('leave-one-out min(#matches/3, 1), averaged over the 10 subsets', () => {
    expect(vqaAccuracy('yes', rep('yes', 10))).toBe(1);
    // 4 matches: every subset still holds ≥ 3.
    expect(vqaAccuracy('yes', [...rep('yes', 4), ...rep('no', 6)])).toBeCloseTo(1, 12);
    // 3 matches: the 3 subsets without one "yes" give 2/3, the other 7 give 1 → (3·2/3 + 7)/10.
    expect(vqaAccuracy('yes', [...rep('yes', 3), ...rep('no', 7)])).toBeCloseTo(0.9, 12);
    // 2 matches: 2 subsets give 1/3, 8 give 2/3 → (2/3 + 16/3)/10.
    expect(vqaAccuracy('yes', [...rep('yes', 2), ...rep('no', 8)])).toBeCloseTo(0.6, 12);
    // 1 match: that subset gives 0, the other 9 give 1/3.
    expect(vqaAccuracy('yes', ['yes', ...rep('no', 9)])).toBeCloseTo(0.3, 12);
    expect(vqaAccuracy('maybe', [...rep('yes', 5), ...rep('no', 5)])).toBe(0);
  });

  it('normalises both sides when the humans disagree', () => {
    expect(vqaAccuracy('Two.', [...rep('2', 3), ...rep('two', 3), ...rep('three', 4)])).toBeCloseTo(1, 12);
    expect(vqaAccuracy('the dog', ['dog', 'dog', 'a dog', 'cat', 'cat', 'cat', 'cat', 'cat', 'cat', 'cat'])).toBeCloseTo(0.9, 12);
  });

  it('official quirk: when all humans agree nothing is normalised (only case and the ends)', () => {
    expect(vqaAccuracy('yes.', rep('yes', 10))).toBe(0);
    expect(vqaAccuracy(' YES ', rep('yes', 10))).toBe(1);
    expect(vqaAccuracy('yes.', [...rep('yes', 9), 'no'])).toBeCloseTo(1, 12);
  });
});

describe('vqaScore', () => {
  const anns = [
    { question_id: 1, question_type: 'is this', answer_type: 'yes/no', answers: rep('yes', 10).map((answer) => ({ answer })) },
    { question_id: 2, question_type: 'how many', answer_type: 'number', answers: [...rep('2', 3), ...rep('3', 7)].map((answer) => ({ answer })) },
    { question_id: 3, question_type: 'what color', answer_type: 'other', answers: ['red', ...rep('blue', 9)].map((answer) => ({ answer })) },
  ];
  const questions = anns.map((a) => ({ question_id: a.question_id, image_id: 7, question: '?' }));

  it('overall, per question, per answer type and question type, in percent rounded like the official code', () => {
    const r = vqaScore(questions, anns, [
      { question_id: 1, answer: 'yes' }, { question_id: 2, answer: 'two' }, { question_id: 3, answer: 'red' },
    ]);
    expect(r.perQuestion.get(1)).toBe(100);
    expect(r.perQuestion.get(2)).toBe(90);
    expect(r.perQuestion.get(3)).toBe(30);
    expect(r.overall).toBe(pyRound2((100 * (1 + 0.9 + 0.3)) / 3)); // 73.33
    expect(r.overall).toBe(73.33);
    expect(r.perAnswerType).toEqual({ 'yes/no': 100, number: 90, other: 30 });
    expect(r.perQuestionType['how many']).toBe(90);
    expect(r.missing).toBe(0);
  });

  it('counts unanswered questions and rejects unknown or duplicate ones', () => {
    expect(vqaScore(questions, anns, [{ question_id: 1, answer: 'yes' }]).missing).toBe(2);
    expect(() => vqaScore(questions, anns, [{ question_id: 9, answer: 'x' }])).toThrow(/question 9/);
    expect(() => vqaScore(questions, anns, [{ question_id: 1, answer: 'x' }, { question_id: 1, answer: 'y' }])).toThrow(/two predictions/);
  });

  it("Python's round(x, 2): half to even on exact ties", () => {
    expect(pyRound2(0.125)).toBe(0.12);
    expect(pyRound2(0.375)).toBe(0.38);
    expect(pyRound2(73.3333333)).toBe(73.33);
  });
});
