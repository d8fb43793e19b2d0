import t from 'tap';
import { ControlQueue, Idle } from '../../lib/listen/controls.js';

/** Every frame due after `sent` bytes, in order. */
function due(queue: ControlQueue, sent: number): string[] {
  const frames: string[] = [];
  for (let text = queue.shift(sent); text !== undefined; text = queue.shift(sent)) frames.push(text);
  return frames;
}

t.test('control frames come due in order, each once the audio before it has gone out', async (t) => {
  const queue = new ControlQueue();
  t.equal(queue.next, Infinity, 'nothing waits');
  queue.add(100, 'a');
  queue.add(100, 'b');
  queue.add(250, 'c');
  t.equal(queue.next, 100, 'the head is due first');
  t.same(due(queue, 99), [], 'not before its audio');
  t.same(due(queue, 100), ['a', 'b']);
  t.equal(queue.next, 250);
  queue.add(300, 'd');
  t.same(due(queue, 1000), ['c', 'd']);
  t.equal(queue.next, Infinity, 'drained');
  queue.add(5, 'e');
  queue.clear();
  t.equal(queue.next, Infinity, 'cleared');
  t.same(due(queue, 1000), []);
});

t.test('the idle watch sends on a tick that follows a whole interval with nothing out, not on the first', async (t) => {
  let frames = 0;
  let sent = 0;
  const idle = new Idle({
    activity: () => frames,
    idle: () => {
      sent++;
      frames++; // what it sends is a frame too
    },
  });
  idle.start(3_600_000); // ticked by hand below: the hour-long timer never fires
  t.teardown(() => idle.stop());
  idle.tick();
  t.equal(sent, 0, 'the first tick may come at once: not a whole interval');
  idle.tick();
  t.equal(sent, 1, 'a whole interval with nothing out');
  idle.tick();
  t.equal(sent, 2, 'and each interval after it: its own frame is not activity');
  frames++; // audio went out
  idle.tick();
  t.equal(sent, 2, 'not after an interval in which something went out');
  idle.tick();
  t.equal(sent, 3);
  idle.start(3_600_000); // a new socket: its first tick again is not a whole interval
  idle.tick();
  t.equal(sent, 3);
});
