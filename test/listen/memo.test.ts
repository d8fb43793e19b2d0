import t from 'tap';
import { Memo } from '../../lib/listen/memo.js';

t.test('an answer is worked out once per key, and the oldest goes once the limit is reached', async (t) => {
  const worked: string[] = [];
  const memo = new Memo<string>(2, 10);
  const answer = (key: string) => memo.get(key, () => (worked.push(key), key.toUpperCase()));
  t.same([answer('a'), answer('a'), answer('b'), answer('a')], ['A', 'A', 'B', 'A']);
  t.same(worked, ['a', 'b'], 'once each');
  t.equal(answer('c'), 'C');
  t.equal(answer('b'), 'B');
  t.equal(answer('a'), 'A');
  t.same(worked, ['a', 'b', 'c', 'a'], 'a, the oldest, went when c came; b stayed');
});

t.test('work that throws keeps nothing: the next ask works it out again', async (t) => {
  const memo = new Memo<string>(4, 10);
  let calls = 0;
  const fails = () => {
    calls++;
    throw new Error('no');
  };
  t.throws(() => memo.get('k', fails), /no/);
  t.throws(() => memo.get('k', fails), /no/);
  t.equal(calls, 2);
  t.equal(
    memo.get('k', () => 'yes'),
    'yes',
  );
});

t.test('a key longer than the longest kept is worked out every time, and pushes nothing out', async (t) => {
  const memo = new Memo<string>(1, 3);
  let calls = 0;
  const answer = (key: string) => memo.get(key, () => (calls++, key.length.toString()));
  answer('abc');
  answer('abcd');
  answer('abcd');
  t.equal(calls, 3, 'the long key twice');
  answer('abc');
  t.equal(calls, 3, 'the short one still kept');
});
