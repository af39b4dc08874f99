// The HTTP API's bodies (shared/src/contracts/api.py is the source; shared/openapi.json documents them).

export type Status = "UPLOADED" | "PROCESSING" | "READY" | "FAILED" | "DELETED";
export const FINAL_STATUSES: ReadonlySet<string> = new Set(["READY", "FAILED", "DELETED"]);
/** Who may watch a video: its owner only; anyone with its share link; or that, and listed on "Latest videos". */
export type Visibility = "private" | "unlisted" | "public";

export interface SignedFile {
  url: string | null;
  width?: number | null;
  height?: number | null;
  size_bytes?: number | null;
}

export interface VideoSummary {
  video_id: string;
  title: string | null;
  status: Status;
  created_at: string | null;
  duration_seconds?: number | null;
  progress?: number | null;
  // while PROCESSING: seconds from the start that can be watched already (null until the start is encoded, and once READY)
  playable_seconds?: number | null;
  poster?: SignedFile | null;
  visibility?: Visibility;
  share_id?: string | null; // while unlisted or public: the share page is /v/{share_id}
  views?: number; // playback sessions that started (the owner's included)
}

export interface VideoPage {
  videos: VideoSummary[];
  next_cursor: string | null;
}

export interface MediaSummary {
  container?: string | null;
  duration_seconds?: number | null;
  size_bytes?: number | null;
  bitrate?: number | null;
  video?: { codec: string | null; width: number | null; height: number | null; fps: number | null; bitrate: number | null } | null;
  audio?: { codec: string | null; channels: number | null; sample_rate: number | null; bitrate: number | null } | null;
}

export interface RenditionView extends SignedFile {
  name: string;
  metadata?: MediaSummary | null;
}

export interface StreamRung {
  name: string;
  width: number;
  height: number;
  bandwidth: number;
}

export interface VideoDetails extends VideoSummary {
  description?: string;
  uploaded_at?: string | null;
  ready_at?: string | null;
  failure?: { code: string; reason: string; chunk?: { index: number; start_seconds: number; end_seconds: number } | null } | null;
  metadata?: MediaSummary | null;
  stream?: { renditions: StreamRung[]; audio: boolean; segment_seconds: number; duration_seconds: number } | null;
  renditions: RenditionView[];
  thumbnails?: { interval_seconds: number; width: number; height: number } | null;
  // once READY, and while PROCESSING once the start plays: the same link, its playlists growing until READY
  playback?: Playback | null;
  urls_expire_at?: string | null;
}

/** What the owner may change (PATCH /videos/{id}): any of these. */
export interface VideoChange {
  title?: string;
  description?: string;
  visibility?: Visibility;
  new_share_link?: boolean;
}

export interface Playback {
  hls: string;
  thumbnails?: string | null;
  expires_at: string;
}

/** GET /shared/{share_id}: an unlisted or public video as anyone sees it (its links last minutes: ask again). */
export interface SharedVideo {
  share_id: string;
  title: string | null;
  description: string;
  owner_name: string | null;
  created_at: string | null;
  status: Status;
  duration_seconds?: number | null;
  playable_seconds?: number | null;
  poster?: SignedFile | null;
  thumbnails?: { interval_seconds: number; width: number; height: number } | null;
  playback?: Playback | null;
}

/** GET /public/videos: everyone's public videos that play, newest first. */
export interface PublicVideo {
  share_id: string;
  title: string | null;
  owner_name: string | null;
  created_at: string | null;
  duration_seconds?: number | null;
  poster?: SignedFile | null;
}

export interface PublicPage {
  videos: PublicVideo[];
  next_cursor: string | null;
}

export interface Profile {
  sub: string;
  email: string | null;
  username: string | null;
  display_name: string | null;
  email_notifications: boolean;
}

export interface UploadForm {
  video_id: string;
  url: string;
  fields: Record<string, string>;
  expires_in: number;
  max_size: number;
}

export interface PartUrl {
  part_number: number;
  url: string;
}

export interface MultipartUpload {
  video_id: string;
  upload_id: string;
  part_size: number;
  parts: PartUrl[];
  expires_in: number;
}

export interface UploadedPart {
  part_number: number;
  etag: string;
  size: number;
}

export interface PartsAnswer {
  uploaded: UploadedPart[];
  parts: PartUrl[];
}
