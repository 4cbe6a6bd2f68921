// Product pictures drawn on the client: an inline SVG from the category's colour, a pictogram of
// the sub-category and a few details derived from the title. Showing a product fetches nothing.
import { s } from "./dom.js";

const HUES = {
  running: 12,
  hiking: 140,
  cycling: 205,
  yoga: 275,
  beauty: 330,
  kitchen: 35,
  home: 175,
  electronics: 225,
};

function hash(text) {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return h >>> 0;
}

const path = (d, fill) => s("path", { d, fill });
const rect = (x, y, width, height, rx, fill) => s("rect", { x, y, width, height, rx, fill });
const circle = (cx, cy, r, fill) => s("circle", { cx, cy, r, fill });
const line = (x1, y1, x2, y2, stroke, width) =>
  s("line", { x1, y1, x2, y2, stroke, "stroke-width": width, "stroke-linecap": "round" });
const stroke = (d, color, width) =>
  s("path", { d, fill: "none", stroke: color, "stroke-width": width, "stroke-linecap": "round", "stroke-linejoin": "round" });

const TEE = "M60 30 C64 38 96 38 100 30 L122 42 L114 58 L104 54 V96 H56 V54 L46 58 L38 42 Z";
const SOCK = "M64 26 h28 v42 c0 6 -2 10 -6 14 l-14 14 c-6 6 -16 6 -21 0 c-5 -6 -2 -12 4 -18 l9 -9 Z";

// Pictograms in a 160 x 120 box, `f` the light colour, `a` the dark accent.
const GLYPHS = {
  shoes: (f, a) => [
    path("M38 84 C38 70 44 60 52 57 L62 54 L70 63 C80 67 94 69 106 71 C118 73 124 78 124 84 V88 H38 Z", f),
    rect(36, 86, 90, 8, 4, a),
    line(66, 62, 74, 58, a, 2.5),
    line(72, 66, 80, 62, a, 2.5),
  ],
  boots: (f, a) => [
    path("M50 30 h30 v36 c14 2 30 6 38 12 c4 3 6 6 6 10 v4 H50 Z", f),
    rect(48, 90, 78, 8, 3, a),
    line(62, 40, 72, 40, a, 2.5),
    line(62, 50, 72, 50, a, 2.5),
  ],
  socks: (f, a) => [path(SOCK, f), rect(64, 26, 28, 9, 2, a), rect(64, 44, 28, 4, 2, a)],
  apparel: (f, a) => [path(TEE, f), rect(56, 80, 48, 5, 2, a)],
  clothing: (f, a) => [path(TEE, f), path("M56 56 L104 70 V78 L56 64 Z", a)],
  jackets: (f, a) => [
    path("M60 28 C64 36 96 36 100 28 L118 36 L128 84 L116 86 L106 56 V98 H54 V56 L44 86 L32 84 L42 36 Z", f),
    line(80, 36, 80, 96, a, 2.5),
    rect(60, 66, 12, 4, 2, a),
    rect(88, 66, 12, 4, 2, a),
  ],
  accessories: (f, a) => [
    rect(72, 22, 16, 12, 3, a),
    path("M68 36 h24 c4 0 6 3 6 7 v49 c0 4 -2 6 -6 6 h-24 c-4 0 -6 -2 -6 -6 v-49 c0 -4 2 -7 6 -7 z", f),
    rect(62, 58, 36, 12, 0, a),
  ],
  backpacks: (f, a) => [
    stroke("M68 34 V28 C68 20 92 20 92 28 V34", f, 5),
    rect(52, 32, 56, 66, 16, f),
    rect(62, 66, 36, 24, 6, a),
    line(62, 46, 98, 46, a, 3),
  ],
  poles: (f, a) => [
    line(62, 24, 72, 100, f, 5),
    line(98, 24, 88, 100, f, 5),
    rect(57, 18, 11, 20, 4, a),
    rect(92, 18, 11, 20, 4, a),
    circle(71, 90, 6, a),
    circle(89, 90, 6, a),
  ],
  helmets: (f, a) => [
    path("M38 82 C38 52 58 34 82 34 C108 34 124 54 124 78 L124 82 Z", f),
    path("M62 44 l8 16 h-6 l-8 -14 Z", a),
    path("M84 40 l4 20 h-6 l-4 -20 Z", a),
    path("M104 46 l-2 16 h-6 l2 -18 Z", a),
    rect(34, 80, 94, 7, 3, a),
  ],
  lights: (f, a) => [
    rect(46, 46, 44, 28, 9, f),
    circle(92, 60, 14, f),
    circle(92, 60, 8, a),
    line(112, 48, 124, 42, f, 4),
    line(114, 60, 128, 60, f, 4),
    line(112, 72, 124, 78, f, 4),
    rect(58, 74, 10, 14, 2, a),
  ],
  tools: (f, a) =>
    s("g", { transform: "rotate(-40 80 60)" }, rect(73, 44, 14, 56, 7, f), circle(80, 38, 18, f), rect(73, 16, 14, 22, 2, a)),
  mats: (f, a) => [rect(40, 50, 70, 30, 4, f), circle(110, 65, 17, f), circle(110, 65, 8, a), line(48, 58, 98, 58, a, 2)],
  blocks: (f, a) => [
    path("M80 28 L116 42 L80 56 L44 42 Z", f),
    path("M44 42 L80 56 V96 L44 82 Z", f),
    path("M116 42 L80 56 V96 L116 82 Z", a),
  ],
  straps: (f, a) => [s("ellipse", { cx: 80, cy: 60, rx: 38, ry: 26, fill: "none", stroke: f, "stroke-width": 9 }), rect(106, 48, 16, 24, 3, a)],
  fragrance: (f, a) => [rect(68, 22, 24, 14, 3, a), rect(73, 36, 14, 12, 0, f), rect(52, 48, 56, 48, 12, f), rect(62, 60, 36, 22, 4, a)],
  skincare: (f, a) => [rect(50, 40, 60, 15, 4, a), rect(46, 55, 68, 40, 12, f), rect(58, 66, 44, 14, 3, a)],
  haircare: (f, a) => [rect(76, 28, 8, 16, 2, a), rect(76, 24, 22, 6, 3, a), rect(60, 44, 40, 54, 10, f), rect(68, 58, 24, 24, 4, a)],
  makeup: (f, a) => [path("M70 50 V34 L90 24 V50 Z", f), rect(68, 50, 24, 16, 2, f), rect(64, 66, 32, 32, 4, a)],
  knives: (f, a) => [
    path("M26 68 C48 52 80 46 100 48 V70 H26 Z", f),
    rect(100, 50, 36, 18, 6, a),
    circle(110, 59, 2.5, f),
    circle(124, 59, 2.5, f),
  ],
  pans: (f, a) => [circle(70, 62, 32, f), circle(70, 62, 22, a), rect(100, 58, 40, 9, 4, f)],
  utensils: (f, a) => [
    s("ellipse", { cx: 64, cy: 38, rx: 11, ry: 17, fill: f }),
    rect(60, 52, 8, 48, 4, f),
    rect(86, 22, 4, 24, 2, f),
    rect(93, 22, 4, 24, 2, f),
    rect(100, 22, 4, 24, 2, f),
    rect(86, 42, 18, 10, 4, f),
    rect(91, 50, 8, 50, 4, f),
    rect(60, 70, 8, 6, 0, a),
    rect(91, 70, 8, 6, 0, a),
  ],
  coffee: (f, a) => [
    stroke("M72 20 c-6 6 6 10 0 16 M86 20 c-6 6 6 10 0 16", f, 3),
    rect(48, 44, 48, 50, 7, f),
    stroke("M96 54 h8 c8 0 8 22 0 22 h-8", f, 7),
    rect(48, 56, 48, 8, 0, a),
  ],
  candles: (f, a) => [
    path("M80 18 C89 29 89 38 80 44 C71 38 71 29 80 18 Z", "hsl(45 95% 72%)"),
    line(80, 44, 80, 52, a, 3),
    rect(60, 52, 40, 46, 5, f),
    rect(60, 64, 40, 6, 0, a),
  ],
  storage: (f, a) => [rect(44, 48, 72, 48, 3, f), rect(40, 36, 80, 14, 3, a), rect(68, 62, 24, 7, 3, a)],
  bedding: (f, a) => [
    path("M38 44 Q80 34 122 44 Q128 66 122 88 Q80 98 38 88 Q32 66 38 44 Z", f),
    stroke("M46 66 Q80 60 114 66", a, 2.5),
  ],
  lighting: (f, a) => [path("M62 26 H98 L114 60 H46 Z", f), rect(77, 60, 6, 28, 2, a), rect(58, 88, 44, 8, 4, f)],
  speakers: (f, a) => [rect(54, 22, 52, 76, 9, f), circle(80, 74, 15, a), circle(80, 74, 5, f), circle(80, 42, 8, a)],
  chargers: (f, a) => [
    rect(65, 26, 8, 18, 2, f),
    rect(87, 26, 8, 18, 2, f),
    rect(56, 42, 48, 48, 9, f),
    path("M84 50 L70 70 H80 L76 84 L92 62 H82 Z", a),
  ],
  headphones: (f, a) => [
    stroke("M48 74 V62 C48 34 112 34 112 62 V74", f, 7),
    rect(38, 64, 20, 32, 8, f),
    rect(102, 64, 20, 32, 8, f),
    rect(44, 70, 8, 20, 3, a),
    rect(108, 70, 8, 20, 3, a),
  ],
  smartwatches: (f, a) => [rect(68, 18, 24, 84, 6, a), rect(56, 38, 48, 44, 12, f), rect(63, 45, 34, 30, 6, a), line(80, 60, 80, 50, f, 2.5), line(80, 60, 88, 64, f, 2.5)],
};

/** The top-level category's hue (also used for badges and tiles). */
export function hue(category) {
  return HUES[category.split("/")[0]] ?? hash(category) % 360;
}

/** An inline SVG picture of an item (or of a category, for tiles). */
export function picture(item, { decorative = true } = {}) {
  const [top, sub = top] = item.category.split("/");
  const h = hue(item.category);
  const seed = hash(item.title || item.category);
  const light = 50 + (seed % 14);
  const fg = `hsl(${h} 60% 97%)`;
  const accent = `hsl(${h} 45% 28%)`;
  const glyph = GLYPHS[sub] || GLYPHS[top] || ((f) => [circle(80, 60, 28, f)]);
  const tilt = ((seed >> 4) % 13) - 6;
  const dots = [];
  for (let i = 0; i < 3 + ((seed >> 8) % 4); i++) {
    dots.push(circle(128 + (i % 2) * 12, 14 + i * 11, 2.2, `hsl(${h} 60% 90% / 0.7)`));
  }
  const svg = s(
    "svg",
    {
      viewBox: "0 0 160 120",
      class: "art",
      ...(decorative ? { "aria-hidden": "true", focusable: "false" } : { role: "img", "aria-label": `Picture of ${item.title}` }),
    },
    rect(0, 0, 160, 120, 0, `hsl(${h} 52% ${light}%)`),
    circle(30 + (seed % 100), 118, 70, `hsl(${h} 55% ${light + 7}%)`),
    dots,
    s("g", { transform: `rotate(${tilt} 80 60)` }, glyph(fg, accent)),
    item.brand ? s("text", { x: 10, y: 18, class: "art-brand", fill: fg }, item.brand.toUpperCase()) : null,
  );
  return svg;
}
