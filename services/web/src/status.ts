import { formatDuration, h } from "./dom";
import type { Status, VideoSummary } from "./types";

const LABELS: Record<Status, string> = {
  UPLOADED: "Uploaded",
  PROCESSING: "Processing",
  READY: "Ready",
  FAILED: "Failed",
  DELETED: "Deleted",
};

/** A status badge; while processing, with the share encoded so far. */
export function statusBadge(status: Status, progress?: number | null): HTMLElement {
  const label = LABELS[status] ?? status;
  const percent = status === "PROCESSING" && typeof progress === "number" ? ` ${Math.round(progress * 100)}%` : "";
  return h("span", { class: `badge badge-${status.toLowerCase()}`, "data-status": status }, `${label}${percent}`);
}

/** Seconds from the start that can be watched while the rest is encoded; 0 when none (or once READY). */
export function playableSeconds(video: Pick<VideoSummary, "status" | "playable_seconds">): number {
  return video.status === "PROCESSING" ? Math.max(0, video.playable_seconds ?? 0) : 0;
}

/** How much of a video still being encoded can be watched: "2:10 of 10:00 ready" (or "2:10 ready"). */
export function playableText(seconds: number, duration: number | null | undefined): string {
  const whole = typeof duration === "number" && duration > 0 ? ` of ${formatDuration(Math.max(duration, seconds))}` : "";
  // down to the second: never say more is ready than is
  return `${formatDuration(Math.floor(seconds))}${whole} ready`;
}
