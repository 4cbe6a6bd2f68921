// Writes DIR/README.md for a shipped model from its report.json: provenance, the exact command,
// the sha256 and the measured metrics. Usage: node scripts/model-readme.mjs DIR "TITLE" "COMMAND" "DATA NOTE" ["NOTE"]
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const [dir, title, command, dataNote, note] = process.argv.slice(2);
const report = JSON.parse(readFileSync(join(dir, "report.json"), "utf8"));
const file = readFileSync(join(dir, "model.lrec"));
const sha = createHash("sha256").update(file).digest("hex");
const version = file.readUInt32LE(8);
const t = report.test;
const f = (x) => x.toFixed(4);
const c = report.config;
const tr = report.training;
writeFileSync(
  join(dir, "README.md"),
  `# ${title}

${dataNote}

Regenerate (from the repository root):

\`\`\`sh
${command}
\`\`\`

- \`model.lrec\`: ${report.model.bytes} bytes, sha256 \`${sha}\` (format version ${version}, ${report.test.item_table ?? "int8"} item table)
- Architecture: d_model ${c.d_model}, ${c.layers} block(s), ${c.heads} head(s), max length ${c.max_len},
  dropout ${c.dropout}, layout ${c.layout ?? "pre_norm"}, positions ${c.positions ?? "from_newest"}, query buckets ${c.query_buckets}, attributes ${c.n_attributes}, event types ${c.event_types}
- Training: seed ${tr.options.seed}, ${tr.options.negatives ? `sampled softmax with ${tr.options.negatives} negatives` : "full cross-entropy"},
  batch ${tr.options.batch_size}, lr ${tr.options.learning_rate}${
  (tr.options.purchase_weight ?? 1) !== 1 ? `, purchase weight ${tr.options.purchase_weight}` : ""
}, ${tr.threads} thread(s); best epoch ${tr.best_epoch}
  (${tr.stopped}); ${tr.train_seconds.toFixed(0)} s in the training loop, ${report.wall_seconds.toFixed(0)} s in all,
  ${tr.sequences_per_second.toFixed(0)} training sequences/s${
  tr.stopped.startsWith("time limit")
    ? `\n- The run stopped at its wall-clock limit, so a faster machine trains more epochs; adding
  \`--epochs ${tr.curve.length}\` (and a \`--time-limit-min\` long enough for a slower machine) to the command
  reproduces these weights exactly: same seed, same curve.`
    : ""
}

Test metrics (${t.users} users; ${report.protocol}):

| model | HR@10 | NDCG@10 |
|---|---|---|
| int8 (shipped) | ${f(t.int8["hr@10"])} | ${f(t.int8["ndcg@10"])} |
| f32 | ${f(t.f32["hr@10"])} | ${f(t.f32["ndcg@10"])} |
| popularity | ${f(t.popularity["hr@10"])} | ${f(t.popularity["ndcg@10"])} |

int8 vs f32 NDCG@10: ${(100 * t.int8_vs_f32_ndcg_relative).toFixed(2)}% relative; top-10 overlap ${(100 * t.int8_f32_top10_overlap).toFixed(1)}%.
\`report.json\` has the per-epoch curve, \`report.html\` plots it. \`golden.json\` holds fixed histories and their
top-10, checked natively (tests/shipped_models.rs) and in the browser on CPU and WebGPU (tests/browser/parity.test.mjs);
refresh it only together with the weights: \`localrec golden --model ${dir}/model.lrec --histories ${dir}/golden.json\`.
${note ? `\n${note}\n` : ""}`,
);
console.log(`wrote ${join(dir, "README.md")} (sha256 ${sha})`);
