import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Deadlines, type Holder } from './deadlines.js';

/** One holder per id, as the store has one group per id. */
function holders(): (id: string) => Holder {
  const made = new Map<string, Holder>();
  return (id) => {
    let h = made.get(id);
    if (h === undefined) {
      h = { id, deadlineSlot: -1 };
      made.set(id, h);
    }
    return h;
  };
}

type Step = ['set', string, number] | ['delete', string] | ['pop', number, string[]] | ['next', number | undefined];

const cases: Array<{ name: string; steps: Step[]; size: number }> = [
  {
    name: 'empty',
    steps: [
      ['next', undefined],
      ['pop', 100, []],
    ],
    size: 0,
  },
  {
    name: 'pops in deadline order, only what is due',
    steps: [
      ['set', 'c', 30],
      ['set', 'a', 10],
      ['set', 'b', 20],
      ['next', 10],
      ['pop', 25, ['a', 'b']],
      ['next', 30],
    ],
    size: 1,
  },
  {
    name: 'a later deadline is found when the earlier comes up',
    steps: [
      ['set', 'a', 10],
      ['set', 'a', 50],
      ['next', 10],
      ['pop', 20, []],
      ['next', 50],
      ['pop', 50, ['a']],
    ],
    size: 0,
  },
  {
    name: 'an earlier deadline takes effect at once',
    steps: [
      ['set', 'a', 50],
      ['set', 'a', 10],
      ['next', 10],
      ['pop', 10, ['a']],
      ['next', undefined],
    ],
    size: 0,
  },
  {
    name: 'shortened, extended and shortened again: due once',
    steps: [
      ['set', 'a', 30],
      ['set', 'a', 10],
      ['set', 'a', 30],
      ['set', 'a', 20],
      ['pop', 19, []],
      ['pop', 100, ['a']],
      ['pop', 100, []],
    ],
    size: 0,
  },
  {
    name: 'deleted ids never come up; set again, they do',
    steps: [
      ['set', 'a', 10],
      ['set', 'b', 20],
      ['delete', 'a'],
      ['delete', 'nothing'],
      ['next', 20],
      ['set', 'a', 40],
      ['pop', 100, ['b', 'a']],
    ],
    size: 0,
  },
  {
    // A deleted id's slot is taken by the next id: the item it left must not bring that one up early.
    name: "an id taking the slot of a deleted one is not due at the deleted one's time",
    steps: [
      ['set', 'a', 10],
      ['delete', 'a'],
      ['set', 'b', 50],
      ['next', 50],
      ['pop', 20, []],
      ['set', 'c', 30],
      ['pop', 40, ['c']],
      ['pop', 50, ['b']],
    ],
    size: 0,
  },
  {
    name: 'equal deadlines all come up',
    steps: [
      ['set', 'a', 5],
      ['set', 'b', 5],
      ['set', 'c', 5],
      ['pop', 5, ['a', 'b', 'c']],
    ],
    size: 0,
  },
];

for (const c of cases) {
  test(`deadlines: ${c.name}`, () => {
    const d = new Deadlines();
    const h = holders();
    for (const [i, step] of c.steps.entries()) {
      const at = `step ${i} ${JSON.stringify(step)}`;
      if (step[0] === 'set') d.set(h(step[1]), step[2]);
      else if (step[0] === 'delete') d.delete(h(step[1]));
      else if (step[0] === 'next') assert.equal(d.next(), step[1], at);
      else assert.deepEqual(d.popDue(step[1]).sort(), [...step[2]].sort(), at);
    }
    assert.equal(d.size, c.size);
  });
}

test('deadlines: popDue stops at max and leaves the rest', () => {
  const d = new Deadlines();
  const h = holders();
  for (let i = 0; i < 10; i++) d.set(h(`g${i}`), i);
  assert.deepEqual(d.popDue(100, 4), ['g0', 'g1', 'g2', 'g3']);
  assert.equal(d.size, 6);
  assert.equal(d.next(), 4);
});

test('deadlines: against a sorted list, random operations', () => {
  let seed = 7;
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  const d = new Deadlines();
  const h = holders();
  const model = new Map<string, number>();
  let now = 0;
  for (let i = 0; i < 20_000; i++) {
    const id = `g${rand(300)}`;
    const op = rand(10);
    if (op < 6) {
      const t = now + 1 + rand(1000);
      d.set(h(id), t);
      model.set(id, t);
    } else if (op < 8) {
      d.delete(h(id));
      model.delete(id);
    } else {
      now += rand(50);
      const want = [...model].filter(([, t]) => t <= now).map(([k]) => k);
      for (const k of want) model.delete(k);
      assert.deepEqual(d.popDue(now).sort(), want.sort(), `at ${now}`);
    }
    assert.equal(d.size, model.size);
    assert.equal(d.deadline(h(id)), model.get(id));
  }
  // Leftovers of shortened and deleted deadlines do not pile up.
  assert.ok(d.heapLength <= 2 * d.size + 64 + 1, `heap ${d.heapLength} for ${d.size} ids`);
});

test('deadlines: a re-pushed id costs no heap item while its deadline only moves later', () => {
  const d = new Deadlines();
  const g = { id: 'g', deadlineSlot: -1 };
  for (let i = 0; i < 1000; i++) d.set(g, 100 + i);
  assert.equal(d.heapLength, 1);
  assert.deepEqual(d.popDue(500), []);
  assert.deepEqual(d.popDue(1099), ['g']);
});
