// Builds dist/: the TypeScript app and its libraries (hls.js, oidc-client-ts) bundled into one
// content-hashed script, the stylesheet likewise, and index.html naming both; the embed page (embed.html,
// an <iframe>'s player: its own smaller script, with hls.js and no sign-in) likewise. config.json is not
// built: the deploy (or the local stack) writes it for the stage.
import { build } from "esbuild";
import { copyFile, mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const final = join(here, "dist");
// Built beside dist/ and swapped in at the end: a server serving dist/ (the local stack) never finds it half-built.
const dist = join(here, `dist.${process.pid}.tmp`);
await rm(dist, { recursive: true, force: true });
await mkdir(join(dist, "assets"), { recursive: true });

const result = await build({
  entryPoints: { app: join(here, "src/main.ts"), embed: join(here, "src/embed.ts"), style: join(here, "static/app.css") },
  bundle: true,
  format: "esm",
  target: ["es2020", "chrome90", "firefox90", "safari15"],
  minify: true,
  sourcemap: "linked",
  legalComments: "linked",
  entryNames: "[name]-[hash]",
  outdir: join(dist, "assets"),
  metafile: true,
  logLevel: "warning",
});

const outputs = Object.entries(result.metafile.outputs);
const named = (entry) => {
  const found = outputs.find(([, meta]) => meta.entryPoint?.endsWith(entry));
  if (!found) throw new Error(`no output for ${entry}`);
  return `/assets/${basename(found[0])}`;
};
for (const [html, script] of [["index.html", "src/main.ts"], ["embed.html", "src/embed.ts"]]) {
  const page = (await readFile(join(here, "static", html), "utf8"))
    .replace(/%(APP|EMBED)_JS%/, named(script))
    .replace("%APP_CSS%", named("static/app.css"));
  await writeFile(join(dist, html), page);
}
await copyFile(join(here, "static/favicon.svg"), join(dist, "favicon.svg"));
const old = join(here, `dist.${process.pid}.old`);
await rename(final, old).catch((error) => {
  if (error.code !== "ENOENT") throw error;
});
await rename(dist, final);
await rm(old, { recursive: true, force: true });
console.log(`built ${final}: ${outputs.length} assets`);
