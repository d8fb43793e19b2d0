// A server in its own process for the benchmarks: the local Deepgram-compatible server; an echo server that
// answers each audio frame with a timestamped message (for latency, where the server's own work must be nil); or a
// server that discards the audio and answers CloseStream with one final and Metadata (for the client's own memory and
// CPU: a client that must hear words, as the transcriber must, hears one).
import { WebSocketServer } from 'ws';
import { startServer } from '../lib/server/index.js';
import { clock } from './support.js';

const [kind, json] = process.argv.slice(2);
const options = JSON.parse(json ?? '{}');
// A bench that dies (a crash, Ctrl-C) takes its server with it: one left running would load every later run.
process.on('disconnect', () => process.exit(0));

if (kind === 'local') {
  const server = await startServer({ realtimeFactor: false, maxConnections: 10_000, ...options });
  process.send!(server.url);
} else {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: false });
  // Flux's path (/v2/listen) answers as Flux does: TurnInfo, a Warning for ForceEndTurn, no status at the close.
  wss.on('connection', (ws, request) => {
    const flux = request.url?.startsWith('/v2/') ?? false;
    let n = 0;
    let bytes = 0;
    ws.on('message', (data, isBinary) => {
      if (isBinary && kind === 'discard')
        return void (bytes += [data].flat().reduce((sum, b) => sum + b.byteLength, 0));
      const text = data.toString();
      if (isBinary && flux) {
        ws.send(
          JSON.stringify({
            type: 'TurnInfo',
            request_id: 'bench',
            sequence_id: n++,
            sent: clock(),
            event: 'Update',
            turn_index: 0,
            audio_window_start: 0,
            audio_window_end: 0,
            transcript: 'echo',
            words: [],
            end_of_turn_confidence: 0,
          }),
        );
      } else if (isBinary) {
        ws.send(
          JSON.stringify({
            type: 'Results',
            n: n++,
            sent: clock(),
            channel_index: [0, 1],
            start: 0,
            duration: 0,
            is_final: n % 10 === 0,
            speech_final: false,
            channel: { alternatives: [{ transcript: 'echo', confidence: 1, words: [] }] },
          }),
        );
      } else if (text.includes('ForceEndTurn')) {
        const warning = { code: 'FORCE_END_TURN_NO_ACTIVE_TURN', description: 'no turn' };
        ws.send(JSON.stringify({ type: 'Warning', request_id: 'bench', sequence_id: n++, ...warning }));
      } else if (text.includes('CloseStream') && flux) {
        ws.close();
      } else if (text.includes('CloseStream')) {
        const word = { word: 'discarded', start: 0, end: 0.5, confidence: 1 };
        const alternatives = [{ transcript: 'discarded', confidence: 1, words: [word] }];
        ws.send(
          JSON.stringify({
            type: 'Results',
            channel_index: [0, 1],
            start: 0,
            duration: 0.5,
            is_final: true,
            speech_final: true,
            channel: { alternatives },
          }),
        );
        // Its duration as linear16 at 16 kHz, what every client here sends.
        const duration = bytes / 32000;
        ws.send(JSON.stringify({ type: 'Metadata', sent: clock(), duration, request_id: 'bench' }));
        ws.close(1000);
      }
    });
  });
  wss.on('listening', () => process.send!(`ws://127.0.0.1:${(wss.address() as { port: number }).port}`));
}
