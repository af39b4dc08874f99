// The seek bar under the video: it reaches as far as can be played (the encoded start while the rest is
// encoded, the whole video once ready) and previews the frame under the pointer from the thumbnails
// track, which is fetched only once the viewer uses the player (nothing is downloaded for a page only opened).
import { formatDuration, h } from "./dom";
import { type Cue, cueAt, parseThumbnails } from "./thumbnails";

export class SeekBar {
  readonly element: HTMLElement;
  private readonly range: HTMLInputElement;
  private readonly preview = h("div", { class: "preview", hidden: true, "aria-hidden": "true" });
  private cues: Cue[] = [];
  private track: string | null = null; // the thumbnails track's link (none while processing)
  private fetched: string | null = null;
  private engaged = false;
  private pointer: number | null = null; // where the pointer is over the bar (a share of it), to preview once the cues are in

  constructor(
    private readonly video: HTMLVideoElement,
    private readonly onSeek: (seconds: number) => void,
  ) {
    this.range = h("input", { type: "range", min: 0, max: 1, step: 0.1, value: 0, "aria-label": "Seek", class: "seek" });
    this.element = h("div", { class: "scrubber" }, this.preview, this.range);
    const range = this.range;
    video.addEventListener("timeupdate", () => {
      if (document.activeElement !== range) this.show(video.currentTime);
    });
    range.addEventListener("input", () => {
      this.onSeek(Number(range.value));
      this.previewAt(Number(range.value) / this.limit); // dragging or the arrow keys: the frame at the new position
    });
    // the first touch of the bar fetches the previews (hovering shows them)
    for (const name of ["pointerenter", "focus", "pointerdown"]) range.addEventListener(name, () => this.engage());
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
      this.show(this.video.currentTime);
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
    this.range.setAttribute("aria-valuetext", `${formatDuration(seconds)} of ${formatDuration(this.limit)}`);
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
