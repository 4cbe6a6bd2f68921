// Tiny DOM helpers. Text is always inserted as text nodes (never parsed as HTML), so catalogue
// strings and search queries cannot inject markup.

const SVG_NS = "http://www.w3.org/2000/svg";

function build(el, attrs, children) {
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value == null || value === false) continue;
    if (key === "class") el.setAttribute("class", value);
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child == null || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

/** `h("a", { href: "#/", class: "x" }, "text", otherNode)` */
export function h(tag, attrs, ...children) {
  return build(document.createElement(tag), attrs, children);
}

/** The same for SVG elements. */
export function s(tag, attrs, ...children) {
  return build(document.createElementNS(SVG_NS, tag), attrs, children);
}

export const $ = (selector, root = document) => root.querySelector(selector);

const money = new Intl.NumberFormat("en-IE", { style: "currency", currency: "EUR" });
export const price = (value) => money.format(value);

const clock = new Intl.DateTimeFormat("en-GB", { dateStyle: "medium", timeStyle: "medium" });
export const when = (ms) => clock.format(new Date(ms));

/** "running/shoes" -> "Shoes"; "running" -> "Running". */
export const label = (name) => {
  const last = name.split("/").pop();
  return last.charAt(0).toUpperCase() + last.slice(1);
};
