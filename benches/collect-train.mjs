// Gathers the runs of train-throughput.sh into one JSON object (stdout).
//   node collect-train.mjs WORK_DIR DATA_FILE EPOCHS THREADS...
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { loadavg } from "node:os";
import { machine, versions, today } from "./machine.mjs";

const [work, dataFile, epochs, ...threads] = process.argv.slice(2);
const steady = (curve) => {
  const tail = curve.length > 1 ? curve.slice(1) : curve;
  const seqs = tail.reduce((a, e) => a + e.sequences_per_second * e.seconds, 0);
  return seqs / tail.reduce((a, e) => a + e.seconds, 0);
};
const losses = (process.env.LOSSES || "sampled full").split(/\s+/).filter(Boolean);
const backends = (process.env.BACKENDS || "flex ndarray").split(/\s+/).filter(Boolean);
const runs = [];
for (const loss of losses) {
  for (const t of threads.map(Number)) {
    for (const backend of backends) {
      const r = JSON.parse(readFileSync(join(work, `localrec-${backend}-${loss}-t${t}`, "report.json"), "utf8"));
      const curve = r.training.curve.map((e) => ({
        epoch: e.epoch, loss: e.loss, seconds: e.seconds, sequences_per_second: e.sequences_per_second,
        steps: e.steps, valid: e.valid,
      }));
      runs.push({
        tool: "localrec", backend, loss, threads: t, sequences_per_second: r.training.sequences_per_second,
        steady_sequences_per_second: steady(curve), curve, config: r.config,
        valid_after_last_epoch: curve[curve.length - 1].valid,
      });
    }
    const p = JSON.parse(readFileSync(join(work, `torch-${loss}-t${t}.json`), "utf8"));
    runs.push({
      tool: "pytorch", loss, threads: t, sequences_per_second: p.sequences_per_second,
      steady_sequences_per_second: p.steady_sequences_per_second, curve: p.curve, config: p.config,
      torch_num_threads: p.torch_num_threads, examples: p.data.examples, valid_after_last_epoch: p.valid ?? null,
    });
  }
}
const ratios = losses.flatMap((loss) => threads.map(Number).map((t) => {
  const of = (backend) => runs.find((r) => r.tool === "localrec" && r.backend === backend && r.loss === loss && r.threads === t);
  const l = of(backends[0]);
  const p = runs.find((r) => r.tool === "pytorch" && r.loss === loss && r.threads === t);
  const out = {
    loss,
    threads: t,
    backend: backends[0],
    steady_localrec_over_pytorch: l.steady_sequences_per_second / p.steady_sequences_per_second,
    all_epochs_localrec_over_pytorch: l.sequences_per_second / p.sequences_per_second,
  };
  for (const b of backends.slice(1)) {
    out[`steady_${backends[0]}_over_${b}`] = l.steady_sequences_per_second / of(b).steady_sequences_per_second;
  }
  return out;
}));
console.log(JSON.stringify({
  kind: "train-throughput",
  date: today(),
  machine: machine(),
  loadAverageAtEnd: loadavg(),
  versions: versions({ torch: true }),
  data: dataFile,
  epochs: Number(epochs),
  setup: "Amazon Beauty (seq format), 1 block, d 64, 1 head, max length 50, dropout 0.5 (none on the output table), batch 128 (random, each encoded in groups of similar length), Adam 1e-3; localrec on the CPU backend named in each run (\`--backend\`; the first is its default), ndarray with one thread per matrix product (MATMUL_NUM_THREADS=1); loss `sampled`: 256 negatives per sequence, `full`: cross-entropy over all 12,101 items at the positions with a target; steady = epochs 2.. (the first epoch is reported in the curve)",
  runs,
  ratios,
}, null, 1));
