// Machine description and tool versions recorded with every benchmark result.
import { execFileSync } from "node:child_process";
import { readFileSync, existsSync } from "node:fs";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const benches = resolve(fileURLToPath(new URL(".", import.meta.url)));
const root = resolve(benches, "..");
export const VENV_PYTHON = join(process.env.BENCH_VENV || join(homedir(), ".cache/localrec/bench-venv"), "bin/python");

function sh(cmd, args) {
  try {
    return execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    return null;
  }
}

export function machine() {
  const lscpu = sh("lscpu", []) || "";
  const field = (name) => (lscpu.match(new RegExp(`^${name}:\\s*(.+)$`, "m")) || [])[1] || null;
  const mem = (sh("free", ["-b"]) || "").match(/^Mem:\s+(\d+)/m);
  const os = existsSync("/etc/os-release") ? (readFileSync("/etc/os-release", "utf8").match(/^PRETTY_NAME="?([^"\n]+)/m) || [])[1] : null;
  return {
    cpu: field("Model name"),
    architecture: field("Architecture"),
    nproc: Number(sh("nproc", [])),
    threadsPerCore: Number(field("Thread\\(s\\) per core")) || null,
    hypervisor: field("Hypervisor vendor"),
    memoryBytes: mem ? Number(mem[1]) : null,
    os,
    kernel: sh("uname", ["-r"]),
  };
}

function pkgVersion(dir) {
  try {
    return JSON.parse(readFileSync(join(dir, "package.json"), "utf8")).version;
  } catch {
    return null;
  }
}

export function versions({ torch = false } = {}) {
  const cargo = readFileSync(join(root, "Cargo.toml"), "utf8");
  const v = {
    node: process.version,
    chromium: sh(process.env.CHROMIUM || "/usr/bin/chromium", ["--version"]),
    "rustc (native)": sh("rustc", ["--version"]),
    localrec: (cargo.match(/^version\s*=\s*"([^"]+)"/m) || [])[1] || null,
    "onnxruntime-web": pkgVersion(join(benches, "node_modules", "onnxruntime-web")),
    "playwright-core": pkgVersion(join(benches, "node_modules", "playwright-core")),
  };
  // scripts/wasm-env.sh: rustup's wasm32 target when installed, else Debian's /usr/bin/rustc.
  const rustupWasm = (sh("rustup", ["target", "list", "--installed"]) || "").split("\n").includes("wasm32-unknown-unknown");
  v["rustc (wasm32)"] = rustupWasm ? v["rustc (native)"] : sh("/usr/bin/rustc", ["--version"]);
  if (torch) v.torch = sh(VENV_PYTHON, ["-c", "import torch; print(torch.__version__)"]);
  return v;
}

export function today() {
  return new Date().toISOString();
}
