"use client";
// The package is imported at the top of a client component, so it is also evaluated while the
// server renders the page: that import does nothing. Only the effect (browser only) loads it.
import { useEffect, useState } from "react";
import { Recommender } from "localrec";
import { Recommender as WorkerRecommender } from "localrec/worker";

const events = [
  { type: "search", query: "trail running shoes" },
  { type: "view", itemId: "sku-0001" },
  { type: "cart", itemId: "sku-0001" },
];

export default function Recommendations() {
  const [state, setState] = useState({ status: "loading", text: "loading" });
  useEffect(() => {
    let live = true;
    (async () => {
      const options = { model: "/model.lrec" };
      const rec = await Recommender.load(options);
      const inWorker = await WorkerRecommender.load({ ...options, namespace: "worker" });
      for (const e of events) await Promise.all([rec.track(e), inWorker.track(e)]);
      const recs = await rec.recommend({ k: 8 });
      const workerRecs = await inWorker.recommend({ k: 8 });
      const history = (await rec.history()).map((e) => e.type).join(" ");
      if (live) setState({ status: "ready", text: `ready: ${rec.bundle} bundle`, recs, workerRecs, history });
    })().catch((e) => live && setState({ status: "error", text: `${e.code}: ${e.message}` }));
    return () => {
      live = false;
    };
  }, []);
  const list = (recs = []) =>
    recs.map((r) => (
      <li key={r.itemId} data-item-id={r.itemId}>
        {r.itemId} ({r.reason.kind})
      </li>
    ));
  return (
    <>
      <p id="status" data-state={state.status}>
        {state.text}
      </p>
      <h2>Recommended for you</h2>
      <ul id="recs">{list(state.recs)}</ul>
      <h2>The same, from a Web Worker</h2>
      <ul id="worker-recs">{list(state.workerRecs)}</ul>
      <p>
        Stored on this device: <span id="history">{state.history}</span>
      </p>
    </>
  );
}
