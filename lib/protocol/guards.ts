// Guards for server messages: what a known message type must hold before anything reads it. A malformed message
// is refused where it enters (the socket, an NDJSON file), so no transform ever meets NaN or a missing field.
import {
  SERVER_TYPES,
  type KnownServerMessage,
  type MetadataMessage,
  type ResultsMessage,
  type ServerMessage,
  type SpeechStartedMessage,
  type UnknownMessage,
  type UtteranceEndMessage,
} from './messages.js';

type Fields = Record<string, unknown>;

const isObject = (value: unknown): value is Fields =>
  value !== null && typeof value === 'object' && !Array.isArray(value);
const finite = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);
const channelPair = (value: unknown): boolean => Array.isArray(value) && value.length > 0 && value.every(finite);

// Each check says what is wrong after the path of the part it checks, and the path is built only on a failure: a
// Results message with many words is checked on every frame.
function wordProblem(word: unknown): string | undefined {
  if (!isObject(word)) return ' is not an object';
  if (typeof word.word !== 'string') return '.word is not a string';
  if (!finite(word.start) || !finite(word.end)) return '.start and .end must be numbers';
  if (word.punctuated_word !== undefined && typeof word.punctuated_word !== 'string')
    return '.punctuated_word is not a string';
  if (word.speaker !== undefined && !finite(word.speaker)) return '.speaker is not a number';
  return undefined;
}

function alternativeProblem(alternative: unknown): string | undefined {
  if (!isObject(alternative)) return ' is not an object';
  if (typeof alternative.transcript !== 'string') return '.transcript is not a string';
  const words = alternative.words;
  if (!Array.isArray(words)) return '.words is not a list';
  for (let w = 0; w < words.length; w++) {
    const problem = wordProblem(words[w]);
    if (problem) return `.words[${w}]${problem}`;
  }
  return undefined;
}

function resultsProblem(m: Fields): string | undefined {
  if (!finite(m.start) || !finite(m.duration)) return 'start and duration must be numbers';
  if (typeof m.is_final !== 'boolean') return 'is_final is not true or false';
  if (!channelPair(m.channel_index)) return 'channel_index is not a list of numbers';
  if (!isObject(m.channel) || !Array.isArray(m.channel.alternatives)) return 'channel.alternatives is not a list';
  const alternatives: unknown[] = m.channel.alternatives;
  for (let i = 0; i < alternatives.length; i++) {
    const problem = alternativeProblem(alternatives[i]);
    if (problem) return `channel.alternatives[${i}]${problem}`;
  }
  return undefined;
}

/** What is wrong with a message of a known `type`, or undefined. */
function knownProblem(message: Fields, type: string): string | undefined {
  switch (type) {
    case 'Results':
      return resultsProblem(message);
    case 'Metadata':
      return finite(message.duration) ? undefined : 'duration is not a number';
    case 'SpeechStarted':
      if (!channelPair(message.channel)) return 'channel is not a list of numbers';
      return finite(message.timestamp) ? undefined : 'timestamp is not a number';
    case 'UtteranceEnd':
      if (!channelPair(message.channel)) return 'channel is not a list of numbers';
      return finite(message.last_word_end) ? undefined : 'last_word_end is not a number';
    default:
      return undefined;
  }
}

/**
 * Why a server message cannot be used, or undefined when it can. Known types are checked field by field; a type
 * this version does not know passes, as long as it is an object with a string `type`.
 */
export function messageProblem(message: unknown): string | undefined {
  if (!isObject(message) || typeof message.type !== 'string') return 'not an object with a string "type"';
  const problem = knownProblem(message, message.type);
  return problem && `${message.type}: ${problem}`;
}

/**
 * A message from the text of a frame, or why it is not one: the one place where parsed JSON becomes a typed message
 * (`M`, one of the `known` types), once `problemOf` has checked what its type promises; any other type is wrapped.
 */
export function parseMessage<M>(
  text: string,
  problemOf: (value: unknown) => string | undefined,
  known: readonly string[],
): { message: M | UnknownMessage } | { problem: string } {
  const json = parseJson(text);
  if (!json) return { problem: 'not JSON' };
  const problem = problemOf(json.value);
  if (problem) return { problem };
  // Checked above: an object with a string type, and what a known type promises.
  const message = json.value as UnknownMessage['message'];
  return { message: known.includes(message.type) ? (message as unknown as M) : unknownMessage(message) };
}

/** A `/v1/listen` message from the text of a frame, or why it is not one. */
export const parseServerMessage = (text: string): { message: ServerMessage } | { problem: string } =>
  parseMessage<KnownServerMessage>(text, messageProblem, SERVER_TYPES);

/** A message of a type this version does not know, as the streams deliver it. */
export const unknownMessage = (message: UnknownMessage['message']): UnknownMessage => ({ type: 'Unknown', message });

/** A message as it came on the wire: an `Unknown` one unwrapped (for a saved run, or a browser). */
export const wireForm = (item: unknown): unknown =>
  isObject(item) && item.type === 'Unknown' && isObject(item.message) ? item.message : item;

/** JSON text's value, or undefined when the text is not JSON (`null` is a value). */
export function parseJson(text: string): { value: unknown } | undefined {
  try {
    return { value: JSON.parse(text) };
  } catch {
    return undefined;
  }
}

/**
 * An incoming HTTP request's target as a URL (its path and query), or undefined for a target that is none: a
 * stranger may send `GET //%% HTTP/1.1`, and `new URL()` throws on it.
 */
export function requestUrl(request: { url?: string }): URL | undefined {
  try {
    return new URL(request.url ?? '/', 'http://local');
  } catch {
    return undefined;
  }
}

// Each takes any message (of either protocol), so that code handling both can narrow with them.
type Message = { type: string };
export const isResults = (m: Message): m is ResultsMessage => m.type === 'Results';
export const isFinal = (m: Message): m is ResultsMessage => isResults(m) && m.is_final;
export const isMetadata = (m: Message): m is MetadataMessage => m.type === 'Metadata';
export const isSpeechStarted = (m: Message): m is SpeechStartedMessage => m.type === 'SpeechStarted';
export const isUtteranceEnd = (m: Message): m is UtteranceEndMessage => m.type === 'UtteranceEnd';
