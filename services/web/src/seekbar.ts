// The player's one seek bar: it reaches as far as can be played (the encoded start while the rest is encoded,
// the whole video once ready), says where the video is ("0:05 / 0:45", and in words to screen readers), moves
// 5 s per arrow key, and previews the frame under the pointer from the thumbnails track, which is fetched only
// once the viewer uses the player (nothing is downloaded for a page only opened).
import { formatDuration, h, spokenDuration } from "./dom";
import { type Cue, cueAt, parseThumbnails } from "./thumbnails";

const STEP_SECONDS = 5; // the arrow keys
const PAGE_SECONDS = 30; // Page Up / Page Down
const KEY_PREVIEW_MS = 1500; // how long a keyboard seek shows its frame

export class SeekBar {
  readonly element: HTMLElement;
  /** "current / total", for the controls row. */
  readonly time = h("span", { class: "time" }, "0:00 / 0:00");
  private readonly range: HTMLInputElement;
  private readonly preview = h("div", { class: "preview", hidden: true, "aria-hidden": "true" });
  private cues: Cue[] = [];
  private track: string | null = null; // the thumbnails track's link (none while processing)
  private fetched: string | null = null;
  private engaged = false;
  private dragging = false; // the pointer holds the thumb: playback does not move it meanwhile
  private pointer: number | null = null; // where the pointer is over the bar (a share of it), to preview once the cues are in
  private hideTimer: number | undefined;

  constructor(
    private readonly video: HTMLVideoElement,
    private readonly onSeek: (seconds: number) => void,
  ) {
    this.range = h("input", { type: "range", min: 0, max: 1, step: "any", value: 0, "aria-label": "Seek", class: "seek" });
    this.element = h("div", { class: "scrubber" }, this.preview, this.range);
    const range = this.range;
    video.addEventListener("timeupdate", () => {
      if (!this.dragging) this.show(video.currentTime);
    });
    range.addEventListener("input", () => {
      this.onSeek(Number(range.value));
      this.show(Number(range.value));
      this.previewAt(Number(range.value) / this.limit); // dragging: the frame at the new position
    });
    range.addEventListener("keydown", (event) => this.key(event));
    // the first touch of the bar fetches the previews (hovering shows them)
    for (const name of ["pointerenter", "focus", "pointerdown"]) range.addEventListener(name, () => this.engage());
    range.addEventListener("pointerdown", () => {
      this.dragging = true;
      const released = new AbortController(); // (the pointer may be let go anywhere on the page)
      const release = () => {
        this.dragging = false;
        released.abort();
      };
      for (const name of ["pointerup", "pointercancel"]) window.addEventListener(name, release, { signal: released.signal });
    });
    for (const name of ["change", "blur"]) range.addEventListener(name, () => (this.dragging = false));
    range.addEventListener("pointermove", (event) => {
      const box = range.getBoundingClientRect();
      this.pointer = Math.min(Math.max((event.clientX - box.left) / box.width, 0), 1);
      this.previewAt(this.pointer);
    });
    range.addEventListener("pointerleave", () => {
      this.pointer = null;
      this.hide();
    });
    for (const name of ["change", "blur"]) range.addEventListener(name, () => this.hide());
  }

  /** How far the bar reaches, in seconds. */
  get limit(): number {
    return Number(this.range.max) || 1;
  }

  set limit(seconds: number) {
    if (seconds > 0 && seconds !== this.limit) {
      this.range.max = String(seconds);
      this.show(this.dragging ? Number(this.range.value) : this.video.currentTime);
    }
  }

  /** The thumbnails track (a WebVTT of sprite regions), once there is one: fetched when the viewer engages. */
  setTrack(url: string | null): void {
    this.track = url;
    if (this.engaged) this.load();
  }

  /** The viewer is using the player (the bar, or play): the previews are worth fetching now. */
  engage(): void {
    this.engaged = true;
    this.load();
  }

  /** Arrows 5 s, Page Up/Down 30 s, Home and End to the ends (in place of the browser's own steps). */
  private key(event: KeyboardEvent): void {
    const at = Number(this.range.value);
    const target: Record<string, number> = {
      ArrowRight: at + STEP_SECONDS,
      ArrowUp: at + STEP_SECONDS,
      ArrowLeft: at - STEP_SECONDS,
      ArrowDown: at - STEP_SECONDS,
      PageUp: at + PAGE_SECONDS,
      PageDown: at - PAGE_SECONDS,
      Home: 0,
      End: this.limit,
    };
    const seconds = target[event.key];
    if (seconds === undefined || event.altKey || event.ctrlKey || event.metaKey) return;
    event.preventDefault();
    const clamped = Math.min(Math.max(seconds, 0), this.limit);
    this.range.value = String(clamped);
    this.onSeek(clamped);
    this.show(clamped);
    this.previewAt(clamped / this.limit);
    window.clearTimeout(this.hideTimer);
    this.hideTimer = window.setTimeout(() => this.hide(), KEY_PREVIEW_MS);
  }

  private load(): void {
    const url = this.track;
    if (!url || this.fetched === url) return;
    this.fetched = url;
    fetch(url)
      .then((response) => (response.ok ? response.text() : ""))
      .then((text) => {
        this.cues = parseThumbnails(text);
        if (this.pointer !== null) this.previewAt(this.pointer);
      })
      .catch(() => undefined); // no previews: the seek bar still works
  }

  private show(seconds: number): void {
    this.range.value = String(seconds);
    const at = Math.floor(Number(this.range.value)); // (the range keeps its value within its max)
    this.range.setAttribute("aria-valuetext", `${spokenDuration(at)} of ${spokenDuration(this.limit)}`);
    const text = `${formatDuration(at)} / ${formatDuration(this.limit)}`;
    if (this.time.textContent !== text) this.time.textContent = text;
  }

  private previewAt(share: number): void {
    const seconds = share * this.limit;
    const cue = cueAt(this.cues, seconds);
    if (!cue) return;
    const width = this.range.getBoundingClientRect().width;
    const preview = this.preview;
    preview.hidden = false;
    preview.style.width = `${cue.w}px`;
    preview.style.height = `${cue.h}px`;
    preview.style.backgroundImage = `url("${cue.image.replace(/"/g, "%22")}")`;
    preview.style.backgroundPosition = `-${cue.x}px -${cue.y}px`;
    preview.style.left = `${Math.min(Math.max(share * width - cue.w / 2, 0), Math.max(width - cue.w, 0))}px`;
    preview.dataset.time = formatDuration(seconds);
  }

  private hide(): void {
    this.preview.hidden = true;
  }
}
