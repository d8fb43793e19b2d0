import t from 'tap';
import { startTicking, stopTicking, type Ticking } from '../../lib/listen/ticks.js';
import { until } from '../helpers.js';

/** A member that counts its ticks and runs `also` in each. */
function member(also = () => {}): Ticking & { ticks: number } {
  const counted = {
    ticks: 0,
    tick() {
      counted.ticks++;
      also();
    },
  };
  return counted;
}

t.test('members of one interval tick from one timer: one wake-up for all of them', async (t) => {
  const order: string[] = [];
  // A microtask queued in a timer's callback runs before the next timer's: so 'a then' lands between two timers.
  const a = member(() => {
    order.push('a');
    queueMicrotask(() => order.push('a then'));
  });
  const b = member(() => order.push('b'));
  startTicking(20, a);
  startTicking(20, b);
  await until(() => b.ticks >= 2, 'two ticks');
  stopTicking(20, a);
  stopTicking(20, b);
  t.same(order.slice(0, 3), ['a', 'b', 'a then'], 'both ticked in one callback');
});

t.test('a member stopped (by itself or by another) is not ticked again; the others go on', async (t) => {
  const late = member();
  const quitter: Ticking & { ticks: number } = member(() => {
    stopTicking(30, quitter);
    stopTicking(30, late);
  });
  const steady = member();
  startTicking(30, quitter);
  startTicking(30, late);
  startTicking(30, steady);
  await until(() => steady.ticks >= 3, 'three ticks');
  stopTicking(30, steady);
  t.equal(quitter.ticks, 1);
  t.equal(late.ticks, 0, 'stopped in the same tick, before its turn');
  stopTicking(30, steady); // stopping twice is harmless
});

t.test(
  'a member stopped is ticked no more, and one started after it ticks (the timer of its interval made again)',
  async (t) => {
    const first = member();
    startTicking(25, first);
    await until(() => first.ticks >= 1, 'a tick');
    stopTicking(25, first);
    const again = member();
    startTicking(25, again);
    await until(() => again.ticks >= 2, 'ticks on a new timer');
    stopTicking(25, again);
    t.equal(first.ticks, 1);
  },
);
