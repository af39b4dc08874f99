// The player's buttons: Play/Pause (a click on the picture too), Mute and the volume, Full screen. Each button
// says what it does next. (The seek bar and its time are ./seekbar's; the menus are the player's.)
import { h } from "./dom";

export class Controls {
  readonly play = h("button", { type: "button", class: "secondary play" }, "Play");
  readonly mute = h("button", { type: "button", class: "secondary" }, "Mute");
  readonly volume = h("input", { type: "range", min: 0, max: 1, step: 0.05, "aria-label": "Volume", class: "volume" });
  readonly fullscreen = h("button", { type: "button", class: "secondary" }, "Full screen");
  private readonly onFullscreen = () => {
    this.fullscreen.textContent = document.fullscreenElement === this.frame ? "Exit full screen" : "Full screen";
  };

  /** `frame`: what goes full screen (the video with the site's controls). */
  constructor(
    private readonly video: HTMLVideoElement,
    private readonly frame: HTMLElement,
  ) {
    const toggle = () => (video.paused || video.ended ? void video.play().catch(() => undefined) : video.pause());
    this.play.addEventListener("click", toggle);
    video.addEventListener("click", toggle);
    const playing = () => (this.play.textContent = video.paused || video.ended ? "Play" : "Pause");
    for (const name of ["play", "pause", "ended"]) video.addEventListener(name, playing);

    this.mute.addEventListener("click", () => {
      video.muted = !video.muted;
      if (!video.muted && video.volume === 0) video.volume = 1;
    });
    this.volume.addEventListener("input", () => {
      video.volume = Number(this.volume.value);
      video.muted = video.volume === 0;
    });
    video.addEventListener("volumechange", () => this.sound());
    this.sound();

    // (an iPhone has no full screen for an element, only the video's own, with the system's controls)
    const videoOnly = (video as HTMLVideoElement & { webkitEnterFullscreen?: () => void }).webkitEnterFullscreen;
    this.fullscreen.hidden = !document.fullscreenEnabled && !videoOnly;
    this.fullscreen.addEventListener("click", () => {
      if (!document.fullscreenEnabled) return videoOnly?.call(video);
      const done = document.fullscreenElement === frame ? document.exitFullscreen() : frame.requestFullscreen();
      done.catch(() => undefined); // refused (not from a click, or not allowed here): the page stays as it is
    });
    document.addEventListener("fullscreenchange", this.onFullscreen);
  }

  private sound(): void {
    const level = this.video.muted ? 0 : this.video.volume;
    this.mute.textContent = this.video.muted ? "Unmute" : "Mute";
    this.volume.value = String(level);
    this.volume.setAttribute("aria-valuetext", this.video.muted ? "muted" : `${Math.round(level * 100)}%`);
  }

  destroy(): void {
    document.removeEventListener("fullscreenchange", this.onFullscreen);
    if (document.fullscreenElement === this.frame) void document.exitFullscreen().catch(() => undefined);
  }
}
