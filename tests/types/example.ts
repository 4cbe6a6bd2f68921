// Type-checked by tests/browser/types.test.mjs (`tsc --noEmit --strict`, libs ES2022, ES2024,
// ESNext): every method and option of the package's declarations, as a shop would use them.
import init, { Recommender, bundleFor, version } from "../../js/localrec.js";
import type { CatalogEntry, LoadOptions, Offer, Recommendation, Timings, WasmUrls } from "../../js/localrec.js";
import { Recommender as WorkerRecommender } from "../../js/worker-client.js";
import { connectDataLayer, eventsFromDataLayer } from "../../js/ga4.js";
import { connectShopify, eventsFromPixel, PIXEL_EVENTS } from "../../js/shopify.js";

export async function shop(): Promise<void> {
  const catalog: CatalogEntry[] = [{ item_id: "sku-1", title: "Boot", category: "hiking/boots", brand: "North", price: 99, in_stock: true }];
  const options: LoadOptions = {
    model: "/models/demo/model.lrec",
    backend: "auto",
    storage: "indexeddb",
    namespace: "shop",
    maxEvents: 200,
    retentionDays: 90,
    catalog,
    assetsBase: "https://cdn.example/localrec/",
    wasmUrl: { cpu: "/assets/localrec_cpu_bg-1a2b.wasm" } satisfies WasmUrls,
  };
  const which: "webgpu" | "cpu" = await bundleFor("auto");
  await init(which, { assetsBase: new URL("https://cdn.example/localrec/") });
  await init("cpu", { wasmUrl: { cpu: "/assets/localrec_cpu_bg-1a2b.wasm", webgpu: new URL("https://cdn.example/g.wasm") } });
  const rec = await Recommender.load(options);
  const v: string = version();
  const facts = [rec.backend, rec.storage, rec.bundle, rec.model.items, v];
  await rec.track({ type: "view", itemId: "sku-1" });
  await rec.track({ type: "cart", itemId: "sku-1", ts: Date.now() });
  await rec.track({ type: "purchase", itemId: "sku-1" });
  await rec.track({ type: "search", query: "boots", itemId: "sku-1" });
  await rec.track({ type: "category", category: "hiking/boots" });
  const recs: Recommendation[] = await rec.recommend({
    k: 8,
    excludeSeen: true,
    diversity: 0.3,
    filter: { categories: ["hiking"], brands: ["North"], minPrice: 10, maxPrice: 200, inStock: true },
  });
  const t: Timings = rec.lastTimings;
  const parts = t.scoringMs + t.topKMs + t.reasonsMs + t.forwardMs + t.rankMs + t.totalMs + t.events;
  const offers: Offer[] = [{ id: "boots-10", title: "10% off boots", categories: ["hiking/boots"], brands: [], itemIds: ["sku-1"], discount: 0.1 }];
  const picks = await rec.pickOffers({ offers, k: 1, filter: { inStock: true } });
  const history = await rec.history();
  await rec.forget();
  rec[Symbol.dispose]();
  rec.free();

  const worker = await WorkerRecommender.load({ model: new Uint8Array(8), backend: "cpu", storage: "memory" });
  await worker.track({ type: "view", itemId: "sku-1" });
  const again: Recommendation[] = await worker.recommend({ k: 3 });
  const wt: Timings = worker.lastTimings;
  const wb: "webgpu" | "cpu" = worker.bundle;
  await worker.pickOffers({ offers });
  await worker.history();
  await worker.forget();
  await worker.free();

  const dataLayer: unknown[] = [];
  const disconnect = connectDataLayer(rec, dataLayer, { onTrack: (event, error) => void [event.type, error] });
  await disconnect.settled();
  const counts = disconnect.counts.tracked + disconnect.counts.ignored + disconnect.counts.rejected;
  disconnect();
  eventsFromDataLayer({ event: "view_item", ecommerce: { items: [{ item_id: "sku-1" }] } });
  const pixels = connectShopify(worker, { subscribe: (_name: string, _cb: (e: { data?: unknown }) => void) => {} }, {
    itemId: (variant) => variant.sku,
    category: (collection) => collection.title,
  });
  pixels();
  eventsFromPixel(PIXEL_EVENTS[0], { data: {} });
  void [facts, recs, parts, picks, history, again, wt, wb, counts];
}
