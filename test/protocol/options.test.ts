import t from 'tap';
import { checkQuery, toSearchParams } from '../../lib/index.js';

t.test('toSearchParams: strings, booleans and numbers as Deepgram reads them; repeatable keys repeated', async (t) => {
  const params = toSearchParams({
    model: 'nova-3',
    interim_results: true,
    punctuate: false,
    endpointing: false,
    sample_rate: 8000,
    keyterm: ['a b', 'c'],
    search: 'x',
    extra: { k: 'v', n: '1' },
    redact: true,
  });
  t.equal(
    params.toString(),
    'model=nova-3&interim_results=true&punctuate=false&endpointing=false&sample_rate=8000' +
      '&keyterm=a+b&keyterm=c&search=x&extra=k%3Av&extra=n%3A1&redact=true',
  );
  t.equal(toSearchParams({ model: undefined }).toString(), '', 'undefined values are left out');
});

t.test('checkQuery refuses only what cannot work, and says how to fix it', async (t) => {
  const check = (query: string) => checkQuery(new URLSearchParams(query));
  t.equal(check(''), undefined);
  t.equal(
    check('encoding=linear16&sample_rate=16000&channels=2&endpointing=300&interim_results=true&utterance_end_ms=1000'),
    undefined,
  );
  t.match(check('encoding=linear16'), /needs sample_rate.*leave encoding out for containerized audio/);
  t.match(check('encoding=wav&sample_rate=1'), /not one Deepgram knows/);
  t.match(check('encoding=amr-nb&sample_rate=16000'), /takes sample_rate=8000/);
  t.match(check('encoding=amr-wb&sample_rate=8000'), /takes sample_rate=16000/);
  t.match(check('sample_rate=44.1'), /whole number of Hz/);
  t.match(check('channels=21'), /from 1 to 20/);
  t.match(check('endpointing=soon'), /milliseconds or false/);
  t.match(check('utterance_end_ms=1000'), /needs interim_results=true/);
  t.match(check('utterance_end_ms=x&interim_results=true'), /number of milliseconds/);
  t.match(check('diarize=1'), /diarize must be true or false/);
  t.equal(check('sample_rate=16000'), undefined, 'sample_rate alone is ignored by Deepgram, not refused');
});
