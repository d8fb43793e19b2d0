// The relay's page, served as it is (plain HTML and JS, no build step): the microphone recorded in a format the
// browser has (WebM/Opus, else Ogg/Opus, else MP4) in 250 ms slices and sent to the relay's socket beside the page
// (`./listen`, where the key is held); the transcript as it arrives, a line per utterance (or turn) with its time,
// interim text in grey; what it transcribes with, and whether its words are synthetic; recording state, level and
// elapsed time; copy and download (text, WebVTT); errors in words, HTTPS explained; a relay's spoken reply played.
export const RELAY_PAGE = /* HTML */ `<!doctype html>
  <html lang="en">
    <head>
      <meta charset="utf-8" />
      <meta name="viewport" content="width=device-width, initial-scale=1" />
      <title>deepgram-stream: live transcript</title>
      <style>
        body {
          font:
            18px/1.5 system-ui,
            sans-serif;
          max-width: 48rem;
          margin: 2rem auto;
          padding: 0 1rem;
        }
        #transcript {
          min-height: 8rem;
          border: 1px solid #ccc;
          border-radius: 6px;
          padding: 0.75rem;
        }
        #finals {
          margin: 0;
          padding: 0;
          list-style: none;
        }
        #finals time {
          color: #888;
          font-size: 0.8em;
          margin-right: 0.5em;
        }
        #interim {
          color: #888;
        }
        #status,
        #backend {
          color: #555;
        }
        #status.error,
        #backend.synthetic {
          color: #b00020;
        }
        #recording {
          color: #b00020;
          visibility: hidden;
        }
        #meter {
          display: inline-block;
          width: 6rem;
          height: 0.6rem;
          background: #eee;
          vertical-align: middle;
        }
        #level {
          height: 100%;
          width: 0;
          background: seagreen;
        }
      </style>
    </head>
    <body>
      <h1>Live transcript</h1>
      <p id="backend">Press start: the relay says what it transcribes with.</p>
      <p>
        <button id="start">Start</button>
        <button id="stop" disabled>Stop</button>
        <span id="recording">● Recording</span>
        <span id="meter"><span id="level" style="display: block"></span></span>
        <span id="elapsed">0:00</span>
        <span id="status">Press start and speak.</span>
      </p>
      <div id="transcript">
        <ol id="finals"></ol>
        <span id="interim"></span>
      </div>
      <p>
        <button id="copy" disabled>Copy text</button>
        <button id="text" disabled>Download text</button>
        <button id="vtt" disabled>Download captions (WebVTT)</button>
      </p>
      <p id="reply"></p>
      <script>
        const $ = (id) => document.getElementById(id);
        const status = (text, error = false) => {
          $('status').textContent = text;
          $('status').className = error ? 'error' : '';
        };
        const clock = (seconds) => Math.floor(seconds / 60) + ':' + String(Math.floor(seconds % 60)).padStart(2, '0');
        let socket;
        let recorder;
        /** Every finished utterance or turn: its audio times and text, for the lines, the copy and the captions. */
        let lines = [];
        // A relay with a reply sends it as linear16 audio at 24 kHz: played as it comes, stopped on barge-in.
        let player;
        let playing = [];
        let playUntil = 0;
        const play = (data) => {
          const pcm = new Int16Array(data);
          const buffer = player.createBuffer(1, pcm.length, 24000);
          buffer.getChannelData(0).set(Float32Array.from(pcm, (v) => v / 32768));
          const source = player.createBufferSource();
          source.buffer = buffer;
          source.connect(player.destination);
          playUntil = Math.max(playUntil, player.currentTime);
          source.start(playUntil);
          playUntil += buffer.duration;
          playing.push(source);
          source.onended = () => {
            playing = playing.filter((s) => s !== source);
            if (playing.length === 0) $('reply').textContent = 'Reply played.';
          };
          $('reply').textContent = 'Speaking…';
          $('reply').dataset.played = String(Number($('reply').dataset.played ?? 0) + 1);
        };
        const stopPlaying = () => {
          playing.forEach((source) => ((source.onended = null), source.stop()));
          playing = [];
          playUntil = 0;
          $('reply').textContent = 'Reply stopped: you spoke.';
          $('reply').dataset.stopped = String(Number($('reply').dataset.stopped ?? 0) + 1);
        };
        /** The utterance under way: finals join its line until one ends it (speech_final; on Flux each turn). */
        let open;
        const addFinal = (start, end, text, ends) => {
          if (text && !open) {
            const item = document.createElement('li');
            open = { line: { start, end, text: '' }, item };
            lines.push(open.line);
            $('finals').append(item);
            ['copy', 'text', 'vtt'].forEach((id) => ($(id).disabled = false));
          }
          if (text) {
            open.line.text += (open.line.text ? ' ' : '') + text;
            open.line.end = end;
            const time = document.createElement('time');
            time.textContent = clock(open.line.start);
            open.item.replaceChildren(time, ' ' + open.line.text + ' ');
          }
          if (ends) open = undefined;
        };
        const download = (name, type, body) => {
          const link = document.createElement('a');
          link.href = URL.createObjectURL(new Blob([body], { type }));
          link.download = name;
          link.click();
          setTimeout(() => URL.revokeObjectURL(link.href), 1000);
        };
        const stamp = (s) => new Date(s * 1000).toISOString().slice(11, 23);
        const asText = () => lines.map((l) => clock(l.start) + ' ' + l.text).join('\\n') + '\\n';
        $('copy').onclick = () => navigator.clipboard.writeText(asText()).then(() => status('Copied.'));
        $('text').onclick = () => download('transcript.txt', 'text/plain', asText());
        $('vtt').onclick = () =>
          download(
            'transcript.vtt',
            'text/vtt',
            'WEBVTT\\n\\n' +
              lines.map((l) => stamp(l.start) + ' --> ' + stamp(l.end) + '\\n' + l.text + '\\n\\n').join(''),
          );
        /** The microphone's level, and the time since start, while recording. */
        const watch = (microphone) => {
          const analyser = player.createAnalyser();
          player.createMediaStreamSource(microphone).connect(analyser);
          const samples = new Float32Array(analyser.fftSize);
          const began = performance.now();
          const timer = setInterval(() => {
            analyser.getFloatTimeDomainData(samples);
            const rms = Math.sqrt(samples.reduce((sum, v) => sum + v * v, 0) / samples.length);
            $('level').style.width = Math.min(100, Math.round(rms * 400)) + '%';
            $('elapsed').textContent = clock((performance.now() - began) / 1000);
          }, 100);
          return () => (clearInterval(timer), ($('level').style.width = '0'));
        };

        $('start').onclick = async () => {
          if (!navigator.mediaDevices?.getUserMedia) {
            return status(
              'The microphone needs a secure page: open this page over HTTPS, or at http://localhost on the ' +
                'machine that runs the relay (browsers give no microphone to plain http:// from elsewhere).',
              true,
            );
          }
          const mimeType = ['audio/webm;codecs=opus', 'audio/ogg;codecs=opus', 'audio/mp4'].find((type) =>
            MediaRecorder.isTypeSupported(type),
          );
          if (!mimeType) return status('This browser records in no format the relay takes (WebM, Ogg or MP4).', true);
          let microphone;
          try {
            microphone = await navigator.mediaDevices.getUserMedia({ audio: true });
          } catch (error) {
            return status('The microphone is not available: ' + error.message, true);
          }
          lines = [];
          open = undefined;
          $('finals').textContent = '';
          $('interim').textContent = '';
          $('start').disabled = true;
          $('stop').disabled = false;
          status('Connecting…');
          player ??= new AudioContext();
          const unwatch = watch(microphone);
          socket = new WebSocket(new URL('listen', location.href.replace(/^http/, 'ws')));
          socket.binaryType = 'arraybuffer';
          let failed = false;
          socket.onopen = () => {
            status('Listening…');
            $('recording').style.visibility = 'visible';
            recorder = new MediaRecorder(microphone, { mimeType });
            recorder.ondataavailable = (event) => {
              if (event.data.size > 0 && socket.readyState === 1) socket.send(event.data);
            };
            // The last slice is delivered before the recorder's stop event: only then may the session be ended.
            recorder.onstop = () => {
              microphone.getTracks().forEach((track) => track.stop());
              $('recording').style.visibility = 'hidden';
              if (socket.readyState === 1) socket.send(JSON.stringify({ type: 'CloseStream' }));
            };
            recorder.start(250);
          };
          socket.onmessage = (event) => {
            if (event.data instanceof ArrayBuffer) return play(event.data);
            const message = JSON.parse(event.data);
            if (message.type === 'ReplyStopped') return stopPlaying();
            if (message.type === 'RelayInfo') {
              $('backend').textContent = message.synthetic
                ? 'The local server (' + message.model + '): its words are synthetic, not recognized speech.'
                : 'Transcribing with ' + message.model + ' on ' + message.backend + '.';
              $('backend').className = message.synthetic ? 'synthetic' : '';
              return;
            }
            // Nova's Results (interim or final), or Flux's TurnInfo (the turn so far, final at EndOfTurn).
            const flux = message.type === 'TurnInfo';
            if (message.type === 'Results' || flux) {
              const text = flux ? message.transcript : message.channel.alternatives[0].transcript;
              if (flux ? message.event === 'EndOfTurn' : message.is_final) {
                const [start, end] = flux
                  ? [message.audio_window_start, message.audio_window_end]
                  : [message.start, message.start + message.duration];
                addFinal(start, end, text, flux || message.speech_final);
                $('interim').textContent = '';
              } else $('interim').textContent = text;
            } else if (message.type === 'RelayError') {
              failed = true;
              status('Transcription stopped: ' + message.message, true);
            }
          };
          socket.onclose = (event) => {
            if (recorder && recorder.state !== 'inactive') recorder.stop();
            microphone.getTracks().forEach((track) => track.stop());
            unwatch();
            $('recording').style.visibility = 'hidden';
            $('start').disabled = false;
            $('stop').disabled = true;
            if (event.code === 1000) status('Done.');
            else if (!failed) {
              status('The connection closed (' + event.code + (event.reason ? ': ' + event.reason : '') + ').', true);
            }
          };
        };

        $('stop').onclick = () => {
          $('stop').disabled = true;
          status('Finishing…');
          if (recorder && recorder.state !== 'inactive') recorder.stop();
          else if (socket && socket.readyState === 1) socket.send(JSON.stringify({ type: 'CloseStream' }));
        };
      </script>
    </body>
  </html> `;
