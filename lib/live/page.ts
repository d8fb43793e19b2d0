// The relay's page, served as it is (plain HTML and JS, no build step): the microphone recorded as WebM/Opus in
// 250 ms slices and sent to the relay's socket beside the page (`./listen`, where the key is held), and the
// transcript shown as it arrives: interim text in grey, finals in black, errors in words.
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
        #interim {
          color: #888;
        }
        #status {
          color: #555;
        }
        #status.error {
          color: #b00020;
        }
        button {
          font-size: 1rem;
          padding: 0.4rem 1.2rem;
          margin-right: 0.5rem;
        }
      </style>
    </head>
    <body>
      <h1>Live transcript</h1>
      <p>
        <button id="start">Start</button>
        <button id="stop" disabled>Stop</button>
        <span id="status">Press start and speak.</span>
      </p>
      <div id="transcript"><span id="finals"></span> <span id="interim"></span></div>
      <p id="reply"></p>
      <script>
        const $ = (id) => document.getElementById(id);
        const status = (text, error = false) => {
          $('status').textContent = text;
          $('status').className = error ? 'error' : '';
        };
        let socket;
        let recorder;
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

        $('start').onclick = async () => {
          let microphone;
          try {
            microphone = await navigator.mediaDevices.getUserMedia({ audio: true });
          } catch (error) {
            return status('The microphone is not available: ' + error.message, true);
          }
          $('finals').textContent = '';
          $('interim').textContent = '';
          $('start').disabled = true;
          $('stop').disabled = false;
          status('Connecting…');
          player ??= new AudioContext();
          socket = new WebSocket(new URL('listen', location.href.replace(/^http/, 'ws')));
          socket.binaryType = 'arraybuffer';
          let failed = false;
          socket.onopen = () => {
            status('Listening…');
            recorder = new MediaRecorder(microphone, { mimeType: 'audio/webm;codecs=opus' });
            recorder.ondataavailable = (event) => {
              if (event.data.size > 0 && socket.readyState === 1) socket.send(event.data);
            };
            // The last slice is delivered before the recorder's stop event: only then may the session be ended.
            recorder.onstop = () => {
              microphone.getTracks().forEach((track) => track.stop());
              if (socket.readyState === 1) socket.send(JSON.stringify({ type: 'CloseStream' }));
            };
            recorder.start(250);
          };
          socket.onmessage = (event) => {
            if (event.data instanceof ArrayBuffer) return play(event.data);
            const message = JSON.parse(event.data);
            if (message.type === 'ReplyStopped') return stopPlaying();
            // Nova's Results (interim or final), or Flux's TurnInfo (the turn so far, final at EndOfTurn).
            const flux = message.type === 'TurnInfo';
            if (message.type === 'Results' || flux) {
              const text = flux ? message.transcript : message.channel.alternatives[0].transcript;
              if (flux ? message.event === 'EndOfTurn' : message.is_final) {
                if (text) $('finals').textContent += ($('finals').textContent ? ' ' : '') + text;
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
