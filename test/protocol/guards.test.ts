import t from 'tap';
import { messageProblem } from '../../lib/index.js';
import { parseServerMessage } from '../../lib/protocol/guards.js';
import { resultsWith } from '../helpers.js';

const word = { word: 'a', start: 0, end: 1, confidence: 1, punctuated_word: 'A', speaker: 0 };

const alternative = (words: unknown[]) => ({ transcript: 'a b', confidence: 1, words });

t.test('well-formed messages of each known type, and any type this version does not know, pass', async (t) => {
  const fine = [
    resultsWith([alternative([word, { word: 'b', start: 1, end: 2 }])]),
    resultsWith([]),
    { type: 'Metadata', duration: 1.5 },
    { type: 'SpeechStarted', channel: [0], timestamp: 0.5 },
    { type: 'UtteranceEnd', channel: [0, 1], last_word_end: 2 },
    { type: 'Later', anything: null },
  ];
  for (const message of fine) t.equal(messageProblem(message), undefined, message.type);
});

t.test('each broken field is named, with its path into the words', async (t) => {
  const cases: [unknown, string][] = [
    [null, 'not an object with a string "type"'],
    [[{ type: 'Results' }], 'not an object with a string "type"'],
    [{ type: 7 }, 'not an object with a string "type"'],
    [resultsWith([], { start: 'x' }), 'Results: start and duration must be numbers'],
    [resultsWith([], { duration: Infinity }), 'Results: start and duration must be numbers'],
    [resultsWith([], { is_final: 1 }), 'Results: is_final is not true or false'],
    [resultsWith([], { channel_index: [] }), 'Results: channel_index is not a list of numbers'],
    [resultsWith([], { channel_index: [0, 'x'] }), 'Results: channel_index is not a list of numbers'],
    [resultsWith([], { channel: null }), 'Results: channel.alternatives is not a list'],
    [resultsWith([], { channel: { alternatives: {} } }), 'Results: channel.alternatives is not a list'],
    [resultsWith([alternative([]), 'x']), 'Results: channel.alternatives[1] is not an object'],
    [resultsWith([{ words: [] }]), 'Results: channel.alternatives[0].transcript is not a string'],
    [resultsWith([{ transcript: '' }]), 'Results: channel.alternatives[0].words is not a list'],
    [resultsWith([alternative([word, null])]), 'Results: channel.alternatives[0].words[1] is not an object'],
    [
      resultsWith([alternative([{ ...word, word: 1 }])]),
      'Results: channel.alternatives[0].words[0].word is not a string',
    ],
    [
      resultsWith([alternative([word, word, { ...word, end: NaN }])]),
      'Results: channel.alternatives[0].words[2].start and .end must be numbers',
    ],
    [
      resultsWith([alternative([{ ...word, punctuated_word: 2 }])]),
      'Results: channel.alternatives[0].words[0].punctuated_word is not a string',
    ],
    [
      resultsWith([alternative([word]), alternative([{ ...word, speaker: '1' }])]),
      'Results: channel.alternatives[1].words[0].speaker is not a number',
    ],
    [{ type: 'Metadata' }, 'Metadata: duration is not a number'],
    [{ type: 'SpeechStarted', channel: 0, timestamp: 1 }, 'SpeechStarted: channel is not a list of numbers'],
    [{ type: 'SpeechStarted', channel: [0], timestamp: null }, 'SpeechStarted: timestamp is not a number'],
    [{ type: 'UtteranceEnd', last_word_end: 1 }, 'UtteranceEnd: channel is not a list of numbers'],
    [{ type: 'UtteranceEnd', channel: [0], last_word_end: '1' }, 'UtteranceEnd: last_word_end is not a number'],
  ];
  for (const [message, problem] of cases) t.equal(messageProblem(message), problem, problem);
});

t.test('parseServerMessage: text that is no JSON, a problem, a known message, an unknown one wrapped', async (t) => {
  t.same(parseServerMessage('{"type":'), { problem: 'not JSON' });
  t.same(parseServerMessage('{"type":"Metadata"}'), { problem: 'Metadata: duration is not a number' });
  t.same(parseServerMessage('{"type":"Metadata","duration":2}'), { message: { type: 'Metadata', duration: 2 } });
  t.same(parseServerMessage('{"type":"Later","x":1}'), {
    message: { type: 'Unknown', message: { type: 'Later', x: 1 } },
  });
});
