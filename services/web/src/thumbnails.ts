// The seek-bar previews' WebVTT track: cues whose text is `sprite-url#xywh=x,y,w,h`.

export interface Cue {
  start: number;
  end: number;
  image: string;
  x: number;
  y: number;
  w: number;
  h: number;
}

function seconds(stamp: string): number {
  const parts = stamp.trim().split(":").map(Number);
  return parts.reduce((total, part) => total * 60 + part, 0);
}

export function parseThumbnails(vtt: string): Cue[] {
  const cues: Cue[] = [];
  const blocks = vtt.replace(/\r\n?/g, "\n").split(/\n\n+/);
  for (const block of blocks) {
    const lines = block.split("\n").filter(Boolean);
    const timing = lines.findIndex((line) => line.includes("-->"));
    const text = timing >= 0 ? lines[timing + 1] : undefined;
    if (timing < 0 || !text) continue;
    const [from, to] = (lines[timing] ?? "").split("-->");
    const match = /^(.*)#xywh=(\d+),(\d+),(\d+),(\d+)$/.exec(text.trim());
    if (!from || !to || !match) continue;
    const [, image, x, y, w, h] = match;
    if (!image) continue;
    cues.push({ start: seconds(from), end: seconds(to), image, x: Number(x), y: Number(y), w: Number(w), h: Number(h) });
  }
  return cues;
}

export function cueAt(cues: Cue[], time: number): Cue | undefined {
  return cues.find((cue) => time >= cue.start && time < cue.end) ?? cues[cues.length - 1];
}
