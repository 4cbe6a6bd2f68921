// Shared by the analytics adapters (`localrec/ga4`, `localrec/shopify`): records mapped events
// in order, counts what was recorded, ignored or refused, and never throws into the page.

/**
 * A feed into `rec.track()`. `feed(events)` records a list of localrec events (an empty list
 * counts as one ignored input); `disconnect` stops recording and carries `counts` and `settled()`
 * (which also waits for the shards a category visit fetches).
 */
export function tracker(rec, options, stop = () => {}) {
  if (!rec || typeof rec.track !== "function") throw new TypeError("a localrec Recommender is needed");
  const onTrack = typeof options?.onTrack === "function" ? options.onTrack : null;
  // A category visit also fetches that category's shards when the model is a core with shards
  // (`localrec shard`; a whole model answers at once, without a request). `loadShards: false`
  // leaves that to the page.
  const loadShards = options?.loadShards !== false && typeof rec.loadCategory === "function";
  const counts = { tracked: 0, ignored: 0, rejected: 0 };
  let connected = true;
  let pending = Promise.resolve();
  const feed = (map) => {
    if (!connected) return;
    let events;
    try {
      events = map();
    } catch {
      events = [];
    }
    if (events.length === 0) {
      counts.ignored += 1;
      return;
    }
    for (const event of events) {
      // Queued in arrival order: the recommender records calls in the order they are made.
      const done = Promise.resolve()
        .then(() => rec.track(event))
        .then(
          async () => {
            counts.tracked += 1;
            if (loadShards && event.type === "category") {
              // A shard that fails to download is retried at the next visit; the event stays.
              await rec.loadCategory(event.category).catch(() => {});
            }
            onTrack?.(event, null);
          },
          (error) => {
            counts.rejected += 1;
            onTrack?.(event, error);
          },
        )
        .catch(() => {}); // an onTrack that throws must not reach the page either
      pending = pending.then(() => done);
    }
  };
  const disconnect = () => {
    connected = false;
    stop();
  };
  disconnect.counts = counts;
  disconnect.settled = () => pending;
  return { feed, disconnect };
}
