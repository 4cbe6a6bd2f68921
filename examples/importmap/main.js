// The shop page of every bundler example: load the model, track a few events on the main thread
// and in a Web Worker, show both top-8 lists. `#status` says when it is done (tests/browser/examples.test.mjs).
import { Recommender } from "localrec";
import { Recommender as WorkerRecommender } from "localrec/worker";

const status = document.querySelector("#status");
const show = (id, recs) => {
  document.querySelector(id).replaceChildren(
    ...recs.map((r) => Object.assign(document.createElement("li"), { textContent: `${r.itemId} (${r.reason.kind})` })),
  );
  for (const [i, r] of recs.entries()) document.querySelector(id).children[i].dataset.itemId = r.itemId;
};

async function main() {
  const options = { model: "/model.lrec" };
  const rec = await Recommender.load(options);
  const inWorker = await WorkerRecommender.load({ ...options, namespace: "worker" });
  const events = [
    { type: "search", query: "trail running shoes" },
    { type: "view", itemId: "sku-0001" },
    { type: "cart", itemId: "sku-0001" },
  ];
  for (const e of events) await Promise.all([rec.track(e), inWorker.track(e)]);
  show("#recs", await rec.recommend({ k: 8 }));
  show("#worker-recs", await inWorker.recommend({ k: 8 }));
  document.querySelector("#history").textContent = (await rec.history()).map((e) => e.type).join(" ");
  status.textContent = `ready: ${rec.bundle} bundle`;
  status.dataset.state = "ready";
}

main().catch((e) => {
  status.textContent = `${e.code}: ${e.message}`;
  status.dataset.state = "error";
});
