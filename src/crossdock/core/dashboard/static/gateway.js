// The gateway page: the supergraph the gateway serves now, its subgraphs with the latency of
// their fetches, the API schema's types (filtered by name, opened for their fields), and the
// plan of a query typed in, drawn as a picture: a box per fetch, labelled with its subgraph,
// stacked for a Sequence and side by side for a Parallel. SVG is built with DOM calls and
// styled by classes in dashboard.css (the CSP allows no inline style).

import {svg} from "./charts.js";
import {LoggedOut, graph, h, problem, table, when} from "./common.js";

const BOX = {w: 210, h: 52};
// A group's frame: padding on each side, and room for its label on top.
const PAD = 12;
const LABEL = 20;
const GAP = 26;
const COLORS = 6;
const LATENCY = "count errors meanMs p50Ms p95Ms";
// The recent window of the latency table, in minutes (the gateway keeps up to 60).
const RECENT_MINUTES = 5;
const TYPE_FIELDS = "name kind description subgraphs values possibleTypes"
  + " fields { name type arguments description subgraphs }";
const PLAN = `query ($query: String!, $operationName: String, $variables: JSON) {
  queryPlan(query: $query, operationName: $operationName, variables: $variables) { text json }
}`;

function ms(value) {
  return value === null || value === undefined ? "" : `${value.toFixed(1)} ms`;
}

// A subgraph's fetches over one period: count, errors, p50, p95 (and the mean if asked).
function latencyCells(latency, period, mean) {
  const cells = [
    h("td", {class: "num", "data-period": period}, latency.count),
    h("td", {class: latency.errors ? "num status-bad" : "num"}, latency.errors),
    h("td", {class: "num"}, ms(latency.p50Ms)), h("td", {class: "num"}, ms(latency.p95Ms))];
  if (mean) cells.push(h("td", {class: "num"}, ms(latency.meanMs)));
  return cells;
}

// The subgraphs with their fetches of the last minutes, then since the process started, under
// a heading row naming each period.
function subgraphTable(subgraphs) {
  const periods = h("tr", {},
    h("th", {colspan: 2}), h("th", {colspan: 4, class: "period"}, `last ${RECENT_MINUTES} minutes`),
    h("th", {colspan: 5, class: "period"}, "since the gateway started"));
  const names = ["subgraph", "URL", "fetches", "errors", "p50", "p95",
    "fetches", "errors", "p50", "p95", "mean"];
  const rows = subgraphs.map((sub) => h("tr", {"data-subgraph": sub.name},
    h("td", {}, sub.name), h("td", {class: "mono"}, sub.url),
    ...latencyCells(sub.recent, "recent", false), ...latencyCells(sub.latency, "total", true)));
  return h("table", {id: "subgraphs"},
    h("thead", {}, periods, h("tr", {}, names.map((text) => h("th", {}, text)))),
    h("tbody", {}, rows.length ? rows : h("tr", {}, h("td", {colspan: names.length,
      class: "muted"}, "nothing here"))));
}

// One type, closed until opened: its fields with their types and the subgraphs resolving them.
function typeEntry(type) {
  const words = [type.name, ...type.fields.map((field) => field.name)].join(" ").toLowerCase();
  const body = [];
  if (type.description) body.push(h("p", {class: "muted"}, type.description));
  if (type.fields.length) {
    body.push(table(["field", "type", "arguments", "subgraphs"], type.fields.map((field) =>
      h("tr", {"data-field": field.name}, h("td", {class: "mono"}, field.name),
        h("td", {class: "mono"}, field.type), h("td", {class: "mono"}, field.arguments.join(", ")),
        h("td", {}, field.subgraphs.join(", "))))));
  }
  if (type.values.length) body.push(h("p", {class: "mono"}, type.values.join(" | ")));
  if (type.possibleTypes.length) {
    body.push(h("p", {}, "Possible types: ", h("span", {class: "mono"},
      type.possibleTypes.join(", "))));
  }
  return h("details", {class: "type", "data-type": type.name, "data-words": words},
    h("summary", {}, h("span", {class: "mono type-name"}, type.name), " ",
      h("span", {class: "muted"}, type.kind.toLowerCase()), " ",
      h("span", {class: "muted"}, type.subgraphs.length ? `in ${type.subgraphs.join(", ")}` : "")),
    body);
}

function typesCard(types) {
  const entries = types.map(typeEntry);
  const count = h("span", {class: "muted", id: "types-count"}, `${types.length} types`);
  const filter = h("input", {type: "search", id: "type-filter", name: "filter",
    placeholder: "a type or field name", autocomplete: "off"});
  filter.addEventListener("input", () => {
    const wanted = filter.value.trim().toLowerCase();
    let shown = 0;
    for (const entry of entries) {
      entry.hidden = !entry.dataset.words.includes(wanted);
      if (!entry.hidden) shown += 1;
    }
    count.textContent = `${shown} of ${types.length} types`;
  });
  return h("section", {class: "card"}, h("h2", {}, "Types"),
    h("div", {class: "filters"}, h("label", {}, "Filter", filter), count),
    h("div", {id: "types"}, entries));
}

// The plan's nodes measured: a fetch is a box; a Sequence stacks its nodes, a Parallel puts
// them side by side, each inside a labelled frame. Flatten is drawn as its fetch's box, with
// the path it merges into.
function measure(node) {
  if (node.kind === "Fetch" || node.kind === "Flatten") return {node, ...BOX};
  const parts = node.nodes.map(measure);
  const across = node.kind === "Parallel";
  const inner = {
    w: across ? parts.reduce((sum, p) => sum + p.w, 0) + GAP * (parts.length - 1)
      : Math.max(...parts.map((p) => p.w)),
    h: across ? Math.max(...parts.map((p) => p.h))
      : parts.reduce((sum, p) => sum + p.h, 0) + GAP * (parts.length - 1),
  };
  return {node, parts, across, w: inner.w + 2 * PAD, h: inner.h + LABEL + PAD};
}

function shorten(text, length) {
  return text.length > length ? `${text.slice(0, length - 1)}…` : text;
}

// Draws a measured node with its top-left at (x, y) into `into`; calls choose(fetch, box) when
// a fetch is clicked. Returns the fetch boxes drawn, in plan order.
function draw(measured, x, y, into, colors, choose) {
  const {node} = measured;
  if (!measured.parts) {
    const fetch = node.kind === "Flatten" ? node.node : node;
    const where = node.kind === "Flatten" ? `entities at ${node.path.join(".")}`
      : fetch.operationKind;
    if (!colors.has(fetch.serviceName)) colors.set(fetch.serviceName, colors.size % COLORS);
    const box = svg("g", {class: `plan-fetch plan-color-${colors.get(fetch.serviceName)}`,
      "data-subgraph": fetch.serviceName, tabindex: 0, role: "button"},
      svg("title", {}, `${fetch.serviceName}: ${fetch.operation}`),
      svg("rect", {x, y, width: BOX.w, height: BOX.h, rx: 6}),
      svg("text", {x: x + 10, y: y + 21, class: "plan-subgraph"}, fetch.serviceName),
      svg("text", {x: x + 10, y: y + 40, class: "plan-where"}, shorten(where, 30)));
    box.addEventListener("click", () => choose(fetch, box));
    box.addEventListener("keydown", (event) => {
      if (event.key === "Enter" || event.key === " ") choose(fetch, box);
    });
    into.append(box);
    return [[fetch, box]];
  }
  const frame = svg("g", {class: `plan-group plan-${node.kind.toLowerCase()}`});
  frame.append(svg("rect", {x, y, width: measured.w, height: measured.h, rx: 8}),
    svg("text", {x: x + PAD, y: y + 14, class: "plan-label"}, node.kind));
  into.append(frame);
  const fetches = [];
  let at = measured.across ? x + PAD : y + LABEL;
  let previous = null;
  for (const part of measured.parts) {
    const left = measured.across ? at : x + (measured.w - part.w) / 2;
    const top = measured.across ? y + LABEL : at;
    if (previous) {
      // A Sequence's arrow: from the bottom of one node to the top of the next.
      frame.append(svg("line", {x1: previous.x, y1: previous.y, x2: left + part.w / 2,
        y2: top - 2, class: "plan-arrow", "marker-end": "url(#plan-arrowhead)"}));
    }
    fetches.push(...draw(part, left, top, frame, colors, choose));
    if (!measured.across) previous = {x: left + part.w / 2, y: top + part.h};
    at += (measured.across ? part.w : part.h) + GAP;
  }
  return fetches;
}

function picture(plan, operation) {
  if (!plan.node) {
    return h("p", {class: "muted", id: "plan-svg"},
      "No fetch: the gateway answers this query itself (introspection).");
  }
  const measured = measure(plan.node);
  const image = svg("svg", {id: "plan-svg", class: "plan", role: "img",
    width: measured.w + 2, height: measured.h + 2,
    viewBox: `-1 -1 ${measured.w + 2} ${measured.h + 2}`,
    "aria-label": "the query plan: a box per fetch, labelled with its subgraph"},
  svg("defs", {}, svg("marker", {id: "plan-arrowhead", viewBox: "0 0 10 10", refX: 9, refY: 5,
    markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse"},
  svg("path", {d: "M 0 0 L 10 5 L 0 10 z", class: "plan-arrowhead"}))));
  const choose = (fetch, box) => {
    for (const other of image.querySelectorAll(".plan-fetch")) other.classList.remove("chosen");
    box.classList.add("chosen");
    operation.replaceChildren(h("h3", {}, `Fetch from ${fetch.serviceName}`),
      h("pre", {id: "plan-operation"}, fetch.operation),
      h("p", {class: "mono muted"}, fetch.requires
        ? `with the representations of ${fetch.requires.join(" ")}` : ""));
  };
  const fetches = draw(measured, 0, 0, image, new Map(), choose);
  if (fetches.length) choose(...fetches[0]);
  return image;
}

function planCard() {
  const query = h("textarea", {id: "plan-query", name: "query", rows: 6, required: true,
    spellcheck: "false", placeholder: 'mutation { pullSlice(name: "demo") { id status } }'});
  const name = h("input", {id: "plan-operation-name", name: "operationName",
    placeholder: "when the query has several"});
  const variables = h("input", {id: "plan-variables", name: "variables",
    placeholder: '{"skipIt": true}'});
  const result = h("div", {id: "plan-result", "aria-live": "polite"});
  const form = h("form", {id: "plan-form", class: "plan-form"},
    h("label", {class: "wide"}, "Query", query),
    h("div", {class: "filters"}, h("label", {}, "Operation name", name),
      h("label", {}, "Variables (JSON, for @skip and @include)", variables),
      h("button", {type: "submit", class: "primary"}, "Plan")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    let given = null;
    try {
      given = variables.value.trim() ? JSON.parse(variables.value) : null;
    } catch (error) {
      result.replaceChildren(problem(new Error(`the variables are not JSON: ${error.message}`)));
      return;
    }
    let found;
    try {
      ({queryPlan: found} = await graph(PLAN, {query: query.value,
        operationName: name.value.trim() || null, variables: given}));
    } catch (error) {
      if (!(error instanceof LoggedOut)) result.replaceChildren(problem(error));
      return;
    }
    const operation = h("div", {id: "plan-fetch"});
    result.replaceChildren(h("div", {class: "plan-picture"}, picture(found.json, operation)),
      operation, h("details", {}, h("summary", {}, "The plan as text"),
        h("pre", {id: "plan-text"}, found.text)));
  });
  return h("section", {class: "card"}, h("h2", {}, "Query plan"),
    h("p", {class: "muted"}, "Type a query to see the fetches the gateway would make (nothing"
      + " is run); click a fetch for what it sends its subgraph."), form, result);
}

export async function gateway() {
  const {gateway: found} = await graph(`{ gateway {
    supergraphSource loadedAt planCacheHits planCacheMisses
    subgraphs { name url latency { ${LATENCY} }
      recent: latency(lastMinutes: ${RECENT_MINUTES}) { ${LATENCY} } }
    types { ${TYPE_FIELDS} }
  } }`);
  return [
    h("h1", {}, "Gateway"),
    h("section", {class: "card"}, h("h2", {}, "Supergraph"),
      h("p", {id: "supergraph"}, "Serving ", h("strong", {}, found.supergraphSource),
        ` since ${when(found.loadedAt)}; plans from the cache: ${found.planCacheHits},`
        + ` made: ${found.planCacheMisses}.`),
      subgraphTable(found.subgraphs),
      h("p", {class: "muted"}, "Fetches of each subgraph by the gateway's process that answered,"
        + ` in the last ${RECENT_MINUTES} minutes and since it started; p50 and p95 are estimated`
        + " from the latency histogram's buckets.")),
    planCard(),
    typesCard(found.types),
  ];
}
