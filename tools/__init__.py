"""Build tools of the repository (the ffmpeg layer; the npm plugin lives in tools/serverless/)."""
