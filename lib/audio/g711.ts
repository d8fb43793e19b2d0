// G.711 µ-law and A-law: a byte's sample, and a sample's byte. Encoding picks the code whose sample is nearest,
// from one table per law built from the decoding tables, so that encode and decode agree by construction.

export type G711 = 'mulaw' | 'alaw';

function decodingTable(law: G711): Float32Array {
  const table = new Float32Array(256);
  for (let i = 0; i < 256; i++) {
    if (law === 'mulaw') {
      const u = ~i & 0xff;
      const t = (((u & 0x0f) << 3) + 0x84) << ((u & 0x70) >> 4);
      table[i] = (u & 0x80 ? 0x84 - t : t - 0x84) / 32768;
    } else {
      const a = i ^ 0x55;
      const exponent = (a & 0x70) >> 4;
      let magnitude = ((a & 0x0f) << 4) + 8;
      if (exponent !== 0) magnitude = (magnitude + 0x100) << (exponent - 1);
      table[i] = (a & 0x80 ? magnitude : -magnitude) / 32768;
    }
  }
  return table;
}

/** A byte's sample in [-1, 1], per law. */
export const G711_SAMPLES: Record<G711, Float32Array> = { mulaw: decodingTable('mulaw'), alaw: decodingTable('alaw') };

const encoding: Partial<Record<G711, Uint8Array>> = {};

/** For each 16-bit sample (offset by 32768), the code whose sample is nearest: built on first use. */
function encodingTable(law: G711): Uint8Array {
  const samples = G711_SAMPLES[law];
  const codes = Array.from({ length: 256 }, (_, code) => code).sort((a, b) => samples[a] - samples[b]);
  const table = new Uint8Array(65536);
  let next = 0;
  for (let value = 0; value < 65536; value++) {
    const sample = (value - 32768) / 32768;
    while (next < 255 && Math.abs(samples[codes[next + 1]] - sample) <= Math.abs(samples[codes[next]] - sample)) next++;
    table[value] = codes[next];
  }
  return table;
}

/** Samples in [-1, 1] as 16-bit little-endian PCM, or as µ-law or A-law bytes. */
export function encodeSamples(samples: Float32Array, as: 'linear16' | G711): Buffer {
  const clamp = (x: number) => Math.max(-32768, Math.min(32767, Math.round(x * 32768)));
  if (as === 'linear16') {
    const out = Buffer.alloc(samples.length * 2);
    for (let i = 0; i < samples.length; i++) out.writeInt16LE(clamp(samples[i]), i * 2);
    return out;
  }
  const table = (encoding[as] ??= encodingTable(as));
  const out = Buffer.alloc(samples.length);
  for (let i = 0; i < samples.length; i++) out[i] = table[clamp(samples[i]) + 32768];
  return out;
}
