// esbuild neither emits `new URL("./file", import.meta.url)` assets nor bundles workers, so two
// settings take their place: the `file` loader for .wasm (src/main.js imports the two files and
// passes their URLs as `wasmUrl`), and the package's worker as a second entry point, written
// next to main.js where localrec/worker looks for it.
import * as esbuild from "esbuild";

await esbuild.build({
  entryPoints: { main: "src/main.js", worker: "localrec/worker.js" },
  bundle: true,
  format: "esm",
  minify: true,
  outdir: "dist",
  loader: { ".wasm": "file" },
  publicPath: "/",
});
