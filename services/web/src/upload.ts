// Uploading one file straight to S3: a presigned POST for a small file, or a multipart upload for a
// large one (parts in parallel, a failed part retried, an interrupted upload resumed from the parts
// S3 already has). Progress, speed and time left are reported as the bytes go.
import { type Api, ApiError } from "./api";
import type { MultipartUpload, UploadForm } from "./types";

export type UploadState = "starting" | "uploading" | "finishing" | "done" | "paused" | "failed" | "cancelled";

export interface UploadProgress {
  state: UploadState;
  sent: number;
  total: number;
  bytesPerSecond: number | null;
  secondsLeft: number | null;
  message: string | null;
  videoId: string | null;
}

const PARALLEL_PARTS = 4;
const PART_TRIES = 5;
const RESUME_PREFIX = "video24.upload.";

/** What survives a reload: enough to ask S3 which parts it has and carry on. */
interface ResumeRecord {
  video_id: string;
  upload_id: string;
  part_size: number;
  saved_at: number;
}

class Cancelled extends Error {}

/** Bytes per second over the last few seconds, and the time left at that pace. */
export class Rate {
  private samples: Array<[number, number]> = [];
  constructor(private readonly window_ms = 5000) {}

  add(now: number, sent: number): void {
    this.samples.push([now, sent]);
    while (this.samples.length > 2 && now - (this.samples[0]?.[0] ?? now) > this.window_ms) this.samples.shift();
  }

  perSecond(): number | null {
    const first = this.samples[0];
    const last = this.samples[this.samples.length - 1];
    if (!first || !last || last[0] - first[0] < 250) return null;
    return ((last[1] - first[1]) * 1000) / (last[0] - first[0]);
  }

  secondsLeft(sent: number, total: number): number | null {
    const rate = this.perSecond();
    return rate && rate > 0 ? (total - sent) / rate : null;
  }
}

export function fingerprint(file: File): string {
  return `${RESUME_PREFIX}${file.name}:${file.size}:${file.lastModified}`;
}

export class Upload {
  readonly id = crypto.randomUUID();
  private progress: UploadProgress;
  private readonly rate = new Rate();
  private readonly requests = new Set<XMLHttpRequest>();
  private readonly partSent = new Map<number, number>();
  private multipart: { videoId: string; uploadId: string } | null = null;
  private cancelled = false;

  constructor(
    readonly file: File,
    private readonly api: Api,
    private readonly onChange: (upload: Upload) => void,
  ) {
    this.progress = { state: "starting", sent: 0, total: file.size, bytesPerSecond: null, secondsLeft: null, message: null, videoId: null };
  }

  get status(): UploadProgress {
    return this.progress;
  }

  get active(): boolean {
    return ["starting", "uploading", "finishing", "paused"].includes(this.progress.state);
  }

  private update(change: Partial<UploadProgress>): void {
    this.progress = { ...this.progress, ...change };
    this.onChange(this);
  }

  private sent(bytes: number): void {
    const now = performance.now();
    this.rate.add(now, bytes);
    this.update({
      state: "uploading",
      sent: bytes,
      bytesPerSecond: this.rate.perSecond(),
      secondsLeft: this.rate.secondsLeft(bytes, this.file.size),
    });
  }

  /** Runs to the end: done, failed (with a message), paused (offline) or cancelled. */
  async start(): Promise<void> {
    try {
      const videoId = await this.run();
      this.update({ state: "done", sent: this.file.size, secondsLeft: 0, videoId, message: null });
    } catch (error) {
      if (this.cancelled || error instanceof Cancelled) {
        this.update({ state: "cancelled", message: "Cancelled." });
      } else if (!navigator.onLine) {
        this.update({ state: "paused", message: "Connection lost: the upload carries on when you are back online." });
        window.addEventListener("online", () => void this.start(), { once: true });
      } else {
        this.update({ state: "failed", message: error instanceof Error ? error.message : String(error) });
      }
    }
  }

  async cancel(): Promise<void> {
    this.cancelled = true;
    for (const request of this.requests) request.abort();
    this.requests.clear();
    localStorage.removeItem(fingerprint(this.file));
    if (this.multipart) {
      const { videoId, uploadId } = this.multipart;
      await this.api.abortUpload(videoId, uploadId).catch(() => undefined); // S3's lifecycle rule cleans up otherwise
    }
    this.update({ state: "cancelled", message: "Cancelled." });
  }

  private async run(): Promise<string> {
    const saved = this.savedRecord();
    if (saved) return this.runMultipart(saved, null);
    const type = uploadType(this.file);
    const answer = await this.api.createUpload({ name: this.file.name, type, size: this.file.size });
    this.check();
    if ("upload_id" in answer) {
      const record: ResumeRecord = { video_id: answer.video_id, upload_id: answer.upload_id, part_size: answer.part_size, saved_at: Date.now() };
      localStorage.setItem(fingerprint(this.file), JSON.stringify(record));
      return this.runMultipart(record, answer);
    }
    await this.runForm(answer);
    return answer.video_id;
  }

  private savedRecord(): ResumeRecord | null {
    const raw = localStorage.getItem(fingerprint(this.file));
    if (!raw) return null;
    try {
      const record = JSON.parse(raw) as ResumeRecord;
      // S3's lifecycle rule aborts incomplete uploads after a day
      if (Date.now() - record.saved_at < 20 * 3600 * 1000 && record.upload_id && record.video_id) return record;
    } catch {
      // unreadable: start again
    }
    localStorage.removeItem(fingerprint(this.file));
    return null;
  }

  private check(): void {
    if (this.cancelled) throw new Cancelled();
  }

  private async runForm(form: UploadForm): Promise<void> {
    const body = new FormData();
    for (const [name, value] of Object.entries(form.fields)) body.append(name, value);
    body.append("file", this.file);
    this.update({ state: "uploading" });
    await this.send("POST", form.url, body, (loaded) => this.sent(loaded));
  }

  private async runMultipart(record: ResumeRecord, started: MultipartUpload | null): Promise<string> {
    this.multipart = { videoId: record.video_id, uploadId: record.upload_id };
    const count = Math.ceil(this.file.size / record.part_size);
    const all = Array.from({ length: count }, (_, i) => i + 1);
    const etags = new Map<number, string>();
    const urls = new Map<number, string>((started?.parts ?? []).map((p) => [p.part_number, p.url]));
    if (!started) {
      // resumed: S3 says which parts it has; fresh URLs for the others
      const answer = await this.resume(record, all);
      for (const part of answer.uploaded) {
        etags.set(part.part_number, part.etag);
        this.partSent.set(part.part_number, part.size);
      }
      for (const part of answer.parts) urls.set(part.part_number, part.url);
    }
    const queue = all.filter((n) => !etags.has(n));
    this.sent(this.totalSent());
    const worker = async (): Promise<void> => {
      for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
        etags.set(next, await this.putPart(record, next, urls));
      }
    };
    await Promise.all(Array.from({ length: Math.min(PARALLEL_PARTS, queue.length) }, worker));
    this.check();
    this.update({ state: "finishing", secondsLeft: 0 });
    const parts = all.map((n) => ({ part_number: n, etag: etags.get(n) ?? "" }));
    await this.api.completeUpload(record.video_id, record.upload_id, parts);
    localStorage.removeItem(fingerprint(this.file));
    return record.video_id;
  }

  private async resume(record: ResumeRecord, partNumbers: number[]) {
    try {
      return await this.api.resumeUpload(record.video_id, record.upload_id, partNumbers);
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) {
        localStorage.removeItem(fingerprint(this.file)); // gone (completed, cancelled or expired): start again
        throw new Error("The interrupted upload had expired; add the file again to upload it from the start.");
      }
      throw error;
    }
  }

  private totalSent(): number {
    let total = 0;
    for (const bytes of this.partSent.values()) total += bytes;
    return total;
  }

  private async putPart(record: ResumeRecord, part: number, urls: Map<number, string>): Promise<string> {
    const start = (part - 1) * record.part_size;
    const blob = this.file.slice(start, Math.min(start + record.part_size, this.file.size));
    for (let attempt = 1; ; attempt += 1) {
      this.check();
      let url = urls.get(part);
      if (!url) {
        const answer = await this.resume(record, [part]);
        url = answer.parts.find((p) => p.part_number === part)?.url;
        if (!url) throw new Error(`The server gave no address for part ${part}.`);
        urls.set(part, url);
      }
      try {
        const request = await this.send("PUT", url, blob, (loaded) => {
          this.partSent.set(part, loaded);
          this.sent(this.totalSent());
        });
        const etag = request.getResponseHeader("ETag");
        if (!etag) throw new Error("S3 did not expose the part's ETag (the bucket's CORS must expose ETag).");
        this.partSent.set(part, blob.size);
        return etag;
      } catch (error) {
        this.partSent.set(part, 0);
        if (error instanceof Cancelled || attempt >= PART_TRIES || !navigator.onLine) throw error;
        if (error instanceof HttpError && error.status === 403) urls.delete(part); // expired URL: ask for a new one
        await sleep(500 * 2 ** attempt);
      }
    }
  }

  private send(method: string, url: string, body: Blob | FormData, onProgress: (loaded: number) => void): Promise<XMLHttpRequest> {
    return new Promise((resolve, reject) => {
      const request = new XMLHttpRequest();
      this.requests.add(request);
      request.open(method, url);
      request.upload.onprogress = (event) => onProgress(event.loaded);
      request.onload = () => {
        this.requests.delete(request);
        if (request.status >= 200 && request.status < 300) resolve(request);
        else reject(new HttpError(request.status, s3Message(request.responseText)));
      };
      request.onerror = () => {
        this.requests.delete(request);
        reject(new Error("The upload was interrupted (network error)."));
      };
      request.onabort = () => {
        this.requests.delete(request);
        reject(new Cancelled());
      };
      request.send(body);
    });
  }
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** S3's XML error in words. */
function s3Message(xml: string): string {
  const message = /<Message>([^<]*)<\/Message>/.exec(xml)?.[1];
  return message ? `Storage refused the upload: ${message}` : "Storage refused the upload.";
}

const TYPES: Record<string, string> = {
  mp4: "video/mp4",
  m4v: "video/mp4",
  mov: "video/quicktime",
  mkv: "video/x-matroska",
  webm: "video/webm",
  avi: "video/x-msvideo",
  mpg: "video/mpeg",
  mpeg: "video/mpeg",
  ts: "video/mp2t",
  mts: "video/mp2t", // AVCHD cameras
  m2ts: "video/mp2t",
  vob: "video/mpeg", // DVDs
  "3gp": "video/3gpp",
  "3g2": "video/3gpp2",
};

/** The video/ type the upload is made with; "" for a file that is not a video. Browsers leave `type` empty
 * for some containers (.mkv) or give one that is not video/ (.mts as "model/vnd.mts"): named from the extension. */
export function uploadType(file: File): string {
  if (file.type.startsWith("video/")) return file.type;
  const extension = file.name.split(".").pop()?.toLowerCase() ?? "";
  return TYPES[extension] ?? "";
}

export function isVideo(file: File): boolean {
  return uploadType(file) !== "";
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
