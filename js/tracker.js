// Shared by the analytics adapters (`localrec/ga4`, `localrec/shopify`): records mapped events
// in order, counts what was recorded, ignored or refused, and never throws into the page.

/**
 * A feed into `rec.track()`. `feed(events)` records a list of localrec events (an empty list
 * counts as one ignored input); `disconnect` stops recording and carries `counts` and `settled()`.
 */
export function tracker(rec, options, stop = () => {}) {
  if (!rec || typeof rec.track !== "function") throw new TypeError("a localrec Recommender is needed");
  const onTrack = typeof options?.onTrack === "function" ? options.onTrack : null;
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
          () => {
            counts.tracked += 1;
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
