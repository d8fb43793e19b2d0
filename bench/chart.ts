// A plain SVG of the headline figures, for the README.
type Bar = { label: string; value: number };

function panel(title: string, unit: string, bars: Bar[], y: number): string {
  const width = 360;
  const max = Math.max(...bars.map((b) => b.value), 1e-9);
  const rows = bars.map((b, i) => {
    const w = Math.max(1, (b.value / max) * width);
    const top = y + 24 + i * 22;
    return (
      `<text x="10" y="${top + 14}" font-size="12">${b.label}</text>` +
      `<rect x="230" y="${top}" width="${w.toFixed(1)}" height="16" fill="#3b6ea5"/>` +
      `<text x="${(236 + w).toFixed(1)}" y="${top + 13}" font-size="11">${b.value} ${unit}</text>`
    );
  });
  return `<text x="10" y="${y + 14}" font-size="14" font-weight="bold">${title}</text>${rows.join('')}`;
}

export function chart(all: any): string {
  const panels: [string, string, Bar[]][] = [
    [
      'Single-stream throughput (audio seconds per second)',
      'x',
      all.throughput.rows.map((r: any) => ({ label: r.name, value: r.audioSecondsPerSecond })),
    ],
    [
      'Client CPU per audio hour',
      's',
      all.throughput.rows.map((r: any) => ({ label: r.name, value: r.cpuSecondsPerAudioHour })),
    ],
    [
      'Read latency p99 (server send → object read)',
      'ms',
      [
        { label: 'raw ws', value: all.latency.rawWs.p99 },
        { label: 'listen Duplex', value: all.latency.listenDuplex.p99 },
      ],
    ],
    ['Peak RSS', 'MB', all.memory.rows.map((r: any) => ({ label: r.name, value: r.peakRssMb }))],
    [
      'Concurrent streams: total audio seconds per second',
      'x',
      all.scale.rows.map((r: any) => ({
        label: `${r.streams} stream${r.streams === 1 ? '' : 's'}`,
        value: r.audioSecondsPerSecond,
      })),
    ],
  ];
  let y = 10;
  const body = panels.map(([title, unit, bars]) => {
    const svg = panel(title, unit, bars, y);
    y += 34 + bars.length * 22;
    return svg;
  });
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="720" height="${y}" font-family="sans-serif">` +
    `<rect width="100%" height="100%" fill="white"/>${body.join('')}</svg>\n`
  );
}
