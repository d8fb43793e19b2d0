import t from 'tap';
import { once } from 'node:events';
import { Duplex, PassThrough } from 'node:stream';
import { Chain } from '../../lib/audio/chain.js';

/** A last stage like a listen stream: takes bytes, and gives objects on its own schedule, after its writable end. */
function session() {
  return new Duplex({ readableObjectMode: true, write: (_c, _e, done) => done(), read() {} });
}

t.test(
  'a Chain is a node:stream Duplex over stages set later: bytes to the first, objects from the last',
  async (t) => {
    const chain = new Chain();
    t.ok(chain instanceof Duplex);
    chain.write(Buffer.from('early')); // before any stage: held
    const first = new PassThrough();
    const last = session();
    let taken = 0;
    last._write = (chunk: Buffer, _e, done) => ((taken += chunk.length), done());
    chain.setPipeline(last, first);
    chain.end(Buffer.from('late'));
    await once(last, 'finish');
    t.equal(taken, 9, 'every byte reached the last stage');
    last.push({ type: 'Results' });
    last.push(null);
    t.same(await chain.toArray(), [{ type: 'Results' }], 'and what it gave came out');
  },
);

t.test("an error of the last stage after it took every byte is the Chain's error, not an unhandled one", async (t) => {
  const chain = new Chain();
  const last = session();
  chain.setPipeline(last, new PassThrough());
  chain.end(Buffer.from('all of it'));
  await once(last, 'finish'); // pipeline() is done here
  last.destroy(new Error('the session failed later'));
  const [error] = await once(chain, 'error');
  t.equal(error.message, 'the session failed later');
});

t.test('destroying the Chain destroys every stage', async (t) => {
  const chain = new Chain();
  const first = new PassThrough();
  const last = session();
  chain.setWritable(first);
  chain.setPipeline(last, first);
  chain.destroy();
  await once(chain, 'close');
  t.ok(first.destroyed && last.destroyed);
});
