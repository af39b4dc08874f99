// The HTTP API, with the signed-in user's access token. Every failure becomes an ApiError whose
// message can be shown to a person as it is; a refused token ends the session (sign in again).
import type { Auth } from "./auth";
import type { SiteConfig } from "./config";
import type {
  MultipartUpload,
  PartsAnswer,
  Profile,
  UploadForm,
  VideoChange,
  VideoDetails,
  VideoPage,
} from "./types";

export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

/** The session ended (the token expired or was refused): the app sends the person to sign in. */
export class SessionExpired extends ApiError {
  constructor() {
    super("Your session has expired. Sign in again to continue.", 401);
  }
}

type Base = keyof SiteConfig["apis"];

export class Api {
  constructor(
    private readonly config: SiteConfig,
    private readonly auth: Auth,
  ) {}

  private async request<T>(base: Base, path: string, init: RequestInit = {}): Promise<T> {
    const token = await this.auth.accessToken();
    if (!token) {
      this.auth.expired();
      throw new SessionExpired();
    }
    const headers = new Headers(init.headers);
    headers.set("Authorization", `Bearer ${token}`);
    if (init.body) headers.set("Content-Type", "application/json");
    let response: Response;
    try {
      response = await fetch(`${this.config.apis[base]}${path}`, { ...init, headers });
    } catch {
      throw new ApiError("Could not reach the server. Check your connection and try again.", 0);
    }
    if (response.status === 401) {
      this.auth.expired();
      throw new SessionExpired();
    }
    if (!response.ok) throw new ApiError(await errorMessage(response), response.status);
    if (response.status === 204) return undefined as T;
    return (await response.json()) as T;
  }

  listVideos(cursor: string | null = null, limit = 24): Promise<VideoPage> {
    const query = new URLSearchParams({ limit: String(limit) });
    if (cursor) query.set("cursor", cursor);
    return this.request("videos", `/videos?${query}`);
  }

  getVideo(id: string): Promise<VideoDetails> {
    return this.request("videos", `/videos/${encodeURIComponent(id)}`);
  }

  /** Rename, describe, share or unshare a video, or give it a new share link: the video as it is now. */
  updateVideo(id: string, change: VideoChange): Promise<VideoDetails> {
    return this.request("videos", `/videos/${encodeURIComponent(id)}`, { method: "PATCH", body: JSON.stringify(change) });
  }

  deleteVideo(id: string): Promise<unknown> {
    return this.request("videos", `/videos/${encodeURIComponent(id)}`, { method: "DELETE" });
  }

  createUpload(file: { name: string; type: string; size: number }): Promise<UploadForm | MultipartUpload> {
    const body = { filename: file.name, content_type: file.type, size: file.size };
    return this.request("upload", "/uploads", { method: "POST", body: JSON.stringify(body) });
  }

  completeUpload(videoId: string, uploadId: string, parts: Array<{ part_number: number; etag: string }>): Promise<unknown> {
    const body = JSON.stringify({ upload_id: uploadId, parts });
    return this.request("upload", `/uploads/${encodeURIComponent(videoId)}/complete`, { method: "POST", body });
  }

  resumeUpload(videoId: string, uploadId: string, partNumbers: number[]): Promise<PartsAnswer> {
    const body = JSON.stringify({ upload_id: uploadId, part_numbers: partNumbers });
    return this.request("upload", `/uploads/${encodeURIComponent(videoId)}/parts`, { method: "POST", body });
  }

  abortUpload(videoId: string, uploadId: string): Promise<unknown> {
    const query = new URLSearchParams({ upload_id: uploadId });
    return this.request("upload", `/uploads/${encodeURIComponent(videoId)}?${query}`, { method: "DELETE" });
  }

  getMe(): Promise<Profile> {
    return this.request("me", "/me");
  }

  putMe(change: { display_name?: string; email_notifications?: boolean }): Promise<Profile> {
    return this.request("me", "/me", { method: "PUT", body: JSON.stringify(change) });
  }
}

export async function errorMessage(response: Response): Promise<string> {
  try {
    const body = (await response.json()) as { message?: unknown };
    if (typeof body.message === "string" && body.message) return sentence(body.message);
  } catch {
    // not JSON: say what happened in general terms
  }
  if (response.status === 404) return "Not found: it may have been deleted.";
  if (response.status === 403) return "You are not allowed to do that.";
  if (response.status === 429) return "Too many requests. Wait a moment and try again.";
  if (response.status >= 500) return "The server had a problem. Try again in a moment.";
  return `The request failed (HTTP ${response.status}).`;
}

function sentence(message: string): string {
  const text = message.charAt(0).toUpperCase() + message.slice(1);
  return /[.!?]$/.test(text) ? text : `${text}.`;
}
