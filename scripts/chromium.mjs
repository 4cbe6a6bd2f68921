// The headless Chromium every browser test and benchmark uses: Debian's, never a downloaded one.
export const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";

// No GPU process work, no background traffic: the only requests are the page's own.
export const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
