// The uploads of this page: they go on while the person moves around the site.
import type { Api } from "./api";
import { Upload, isVideo } from "./upload";

export class Uploads {
  readonly all: Upload[] = [];
  private listeners = new Set<(upload: Upload | null) => void>();

  constructor(private readonly api: Api) {
    window.addEventListener("beforeunload", (event) => {
      if (this.active()) event.preventDefault(); // "leave the page?": uploads would stop (multipart ones resume later)
    });
  }

  /** Start every video among `files`; the names of the others, refused. */
  add(files: Iterable<File>): string[] {
    const refused: string[] = [];
    for (const file of files) {
      if (!isVideo(file)) {
        refused.push(file.name);
        continue;
      }
      const upload = new Upload(file, this.api, (changed) => this.emit(changed));
      this.all.unshift(upload);
      this.emit(upload);
      void upload.start();
    }
    return refused;
  }

  remove(...uploads: Upload[]): void {
    for (const upload of uploads) {
      const index = this.all.indexOf(upload);
      if (index >= 0) this.all.splice(index, 1);
    }
    this.emit(null);
  }

  active(): boolean {
    return this.all.some((upload) => upload.active);
  }

  subscribe(listener: (upload: Upload | null) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(upload: Upload | null): void {
    for (const listener of this.listeners) listener(upload);
  }
}
