// Small charts for any page: counts per minute as stacked bars, and current levels as
// horizontal bars. Drawn as SVG with DOM calls and presentation attributes only (the CSP allows
// no style attribute); each chart says what it shows in its <title> and aria-label, and each
// bar's <title> is its hover tooltip. Text is only ever set as text.

import {h} from "./common.js";

const SVG_NS = "http://www.w3.org/2000/svg";
const HEIGHT = 64;
const LEVEL_HEIGHT = 14;

// The colours a series may take (presentation attributes, so no CSS is needed to draw them).
export const COLOURS = {good: "#067647", bad: "#b42318", wait: "#c4a000", accent: "#1f5fbf",
  muted: "#98a2b3"};

// One SVG element: svg("rect", {x: 0, width: 4}, child, ...).
export function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, String(value));
  for (const child of children) {
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function total(values) {
  return values.reduce((sum, value) => sum + value, 0);
}

function minuteOf(value) {
  return new Date(value).toLocaleTimeString([], {hour: "2-digit", minute: "2-digit"});
}

function legend(items) {
  return h("ul", {class: "chart-legend"}, items.map(({label, value, colour}) =>
    h("li", {"data-series": label},
      h("span", {class: "swatch"}, swatch(colour)), `${label} `, h("strong", {}, value))));
}

function swatch(colour) {
  return svg("svg", {width: 10, height: 10, "aria-hidden": "true"},
    svg("rect", {width: 10, height: 10, rx: 2, fill: COLOURS[colour] || colour}));
}

function figure({id, title, headline, summary, picture, items, foot}) {
  picture.setAttribute("role", "img");
  picture.setAttribute("aria-label", summary);
  picture.prepend(svg("title", {}, summary));
  return h("figure", {class: "chart", id},
    h("figcaption", {}, h("span", {class: "chart-title"}, title),
      h("span", {class: "chart-total"}, headline)),
    picture, foot || null, legend(items));
}

// Counts per minute, oldest first, one stacked bar a minute.
//   buckets: [{minute, ...counts}] as the graph answers them
//   series:  [{key, label, colour}] stacked bottom up; key is a count's name or a function of
//            the bucket
// The headline is the window's total; the tooltip of each bar, its minute and counts.
export function perMinute({id, title, buckets, series, unit = ""}) {
  const value = (bucket, one) => (typeof one.key === "function" ? one.key(bucket)
    : bucket[one.key]);
  const sums = buckets.map((bucket) => total(series.map((one) => value(bucket, one))));
  const top = Math.max(1, ...sums);
  const width = Math.max(1, buckets.length) * 4;
  const picture = svg("svg", {viewBox: `0 0 ${width} ${HEIGHT}`, width: "100%",
    height: HEIGHT, preserveAspectRatio: "none", class: "chart-bars"});
  picture.append(svg("line", {x1: 0, y1: HEIGHT - 0.5, x2: width, y2: HEIGHT - 0.5,
    stroke: COLOURS.muted, "stroke-width": 1, "vector-effect": "non-scaling-stroke"}));
  buckets.forEach((bucket, index) => {
    const counts = series.map((one) => `${one.label} ${value(bucket, one)}`).join(", ");
    const bar = svg("g", {class: "bar", "data-minute": bucket.minute,
      "data-total": sums[index]}, svg("title", {}, `${minuteOf(bucket.minute)}: ${counts}`),
    // The whole column answers the hover, even a minute with nothing in it.
    svg("rect", {x: index * 4, y: 0, width: 4, height: HEIGHT, fill: "transparent"}));
    let y = HEIGHT;
    for (const one of series) {
      const height = (value(bucket, one) / top) * (HEIGHT - 2);
      if (height <= 0) continue;
      y -= height;
      bar.append(svg("rect", {x: index * 4 + 0.5, y, width: 3, height,
        fill: COLOURS[one.colour] || one.colour, "data-series": one.label}));
    }
    picture.append(bar);
  });
  const whole = total(sums);
  const items = series.map((one) => ({label: one.label, colour: one.colour,
    value: total(buckets.map((bucket) => value(bucket, one)))}));
  const parts = items.map((item) => `${item.label} ${item.value}`).join(", ");
  const span = `${buckets.length} min`;
  return figure({id, title, headline: `${whole}${unit} in ${span}`, picture, items,
    summary: `${title}: ${whole}${unit} in the last ${span} (${parts}); at most ${Math.max(
      0, ...sums)} in one minute`,
    foot: h("div", {class: "chart-axis muted"}, h("span", {}, `${span} ago`),
      h("span", {}, `peak ${Math.max(0, ...sums)}/min`), h("span", {}, "now"))});
}

// Current levels as horizontal bars, one under another: items [{label, value, colour, note}];
// the headline is their sum followed by ``headline`` ("waiting").
export function levels({id, title, items, headline = ""}) {
  const top = Math.max(1, ...items.map((item) => item.value));
  const height = items.length * (LEVEL_HEIGHT + 6);
  const picture = svg("svg", {viewBox: `0 0 100 ${height}`, width: "100%", height,
    preserveAspectRatio: "none", class: "chart-levels"});
  items.forEach((item, index) => {
    const y = index * (LEVEL_HEIGHT + 6) + 3;
    const tip = `${item.label}: ${item.value}${item.note ? ` (${item.note})` : ""}`;
    picture.append(svg("g", {class: "level", "data-level": item.label, "data-value": item.value},
      svg("title", {}, tip),
      svg("rect", {x: 0, y, width: 100, height: LEVEL_HEIGHT, fill: "#eef0f3"}),
      svg("rect", {x: 0, y, width: (item.value / top) * 100, height: LEVEL_HEIGHT,
        fill: COLOURS[item.colour] || item.colour})));
  });
  const whole = total(items.map((item) => item.value));
  const parts = items.map((item) => `${item.label} ${item.value}`).join(", ");
  return figure({id, title, headline: `${whole} ${headline}`.trim(), picture, items,
    summary: `${title}: ${parts}`});
}
