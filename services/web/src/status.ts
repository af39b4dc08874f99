import { h } from "./dom";
import type { Status } from "./types";

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
