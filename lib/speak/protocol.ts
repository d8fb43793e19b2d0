// `/v1/speak` as a socket protocol for the shared link: its binary frames are audio, its Metadata comes first (so
// nothing waits for the close code), Close ends it, and its closes are described in its own terms.
import type { SocketProtocol } from '../listen/protocol.js';
import { CLOSE_NORMAL } from '../protocol/messages.js';
import { checkSpeakQuery, parseSpeakMessage } from '../protocol/speak.js';
import type { MetadataMessage } from '../protocol/messages.js';

const CLOSES: Record<string, string> = {
  'MESSAGE-0000': 'the server takes no binary frames on /v1/speak: send text as Speak messages',
  'DATA-0000': 'a message the server does not know (the types are Speak, Flush, Clear and Close)',
  'DATA-0001': 'more than the characters a minute the server takes across Speak messages',
  'BIG-0000': 'a frame larger than the server takes',
  'BIG-0001': 'a Speak message longer than the server takes (2,000 characters)',
  'NET-0003': "the connection reached the server's longest session (60 minutes): open a new one",
};

export const SPEAK_V1: SocketProtocol = {
  path: '/v1/speak',
  parse: parseSpeakMessage,
  isClosing: (message): message is MetadataMessage => false,
  checkQuery: checkSpeakQuery,
  isCleanClose: (code) => code === CLOSE_NORMAL,
  closeStream: JSON.stringify({ type: 'Close' }),
  keepAlive: 'ping',
  progress: () => undefined,
  audioOut: true,
  describeClose: (code, reason) => {
    const known = Object.entries(CLOSES).find(([tag]) => reason.toUpperCase().includes(tag));
    if (known) return `${known[0]}: ${known[1]}`;
    if (code === 1006) return 'the connection dropped without a close frame';
    return 'unexpected close';
  },
};
