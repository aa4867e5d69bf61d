// The webhooks pages: sources and deliveries (filtered by source and status, dead letters),
// and one delivery with its headers, body and attempts, replayed and followed until it settles.

import {LoggedOut, graph, h, poll, problem, status, table, when} from "./common.js";

const SETTLED_DELIVERY = new Set(["PROCESSED", "FAILED", "DEAD", "REJECTED"]);
const DELIVERY_STATUSES = ["RECEIVED", "PROCESSED", "FAILED", "DEAD", "REJECTED"];

export async function webhooks(params) {
  const source = params.get("source") || null;
  const state = params.get("status") || null;
  const after = params.get("after") || null;
  const data = await graph(`query ($source: String, $status: DeliveryStatus, $after: String) {
    sources { name provider retryMaxTries routes { handler eventType action } }
    deliveries(source: $source, status: $status, first: 25, after: $after) {
      nodes { id source eventType action status receivedAt tries generation }
      pageInfo { hasNextPage endCursor }
    }
  }`, {source, status: state, after});
  const sourceSelect = h("select", {name: "source", id: "filter-source"},
    h("option", {value: ""}, "all"),
    data.sources.map((item) => h("option", {value: item.name, selected: item.name === source},
      item.name)));
  const statusSelect = h("select", {name: "status", id: "filter-status"},
    h("option", {value: ""}, "all"),
    DELIVERY_STATUSES.map((value) => h("option", {value, selected: value === state}, value)));
  const filters = h("form", {class: "filters", id: "filters"},
    h("label", {}, "Source", sourceSelect), h("label", {}, "Status", statusSelect),
    h("button", {type: "submit"}, "Filter"));
  filters.addEventListener("submit", (event) => {
    event.preventDefault();
    const next = new URLSearchParams();
    if (sourceSelect.value) next.set("source", sourceSelect.value);
    if (statusSelect.value) next.set("status", statusSelect.value);
    location.hash = `#/webhooks?${next}`;
  });
  const page = data.deliveries;
  let older = null;
  if (page.pageInfo.hasNextPage) {
    const next = new URLSearchParams(params);
    next.set("after", page.pageInfo.endCursor);
    older = h("a", {href: `#/webhooks?${next}`}, "Older deliveries");
  }
  const routes = (item) => item.routes.map((route) =>
    `${[route.eventType || "*", route.action].filter(Boolean).join(".")} → ${route.handler}`);
  return [
    h("h1", {}, "Webhooks"),
    h("section", {class: "card"}, h("h2", {}, "Sources"),
      table(["source", "provider", "tries before dead", "routes"], data.sources.map((item) =>
        h("tr", {"data-source": item.name}, h("td", {}, item.name), h("td", {}, item.provider),
          h("td", {}, item.retryMaxTries),
          h("td", {class: "mono"}, routes(item).join(", ") || "none"))), {id: "sources"}),
      h("p", {}, h("a", {href: "#/webhooks?status=DEAD", id: "dead-letters"},
        "Dead letters"), h("span", {class: "muted"},
        ": deliveries that used up their tries, to replay once the handler is fixed."))),
    h("section", {class: "card"}, h("h2", {}, "Deliveries"), filters,
      table(["delivery", "source", "event", "status", "tries", "received"],
        page.nodes.map((delivery) => h("tr", {"data-delivery": delivery.id},
          h("td", {}, h("a", {href: `#/webhooks/${delivery.id}`}, `#${delivery.id}`)),
          h("td", {}, delivery.source),
          h("td", {}, [delivery.eventType, delivery.action].filter(Boolean).join(".")),
          h("td", {}, status(delivery.status)), h("td", {}, delivery.tries),
          h("td", {}, when(delivery.receivedAt)))), {id: "deliveries"}),
      older),
  ];
}

const DELIVERY = `query ($id: ID!) {
  delivery(id: $id) {
    id source provider providerDeliveryId eventType action status reason headers bodySize
    receivedAt processedAt tries generation lastError body
    attempts { generation try route handler status durationMs error startedAt }
  }
}`;

function headerRows(headers) {
  const pairs = Array.isArray(headers) ? headers : Object.entries(headers || {});
  return pairs.map(([name, value]) => h("tr", {}, h("td", {class: "mono"}, name),
    h("td", {class: "mono"}, typeof value === "string" ? value : JSON.stringify(value))));
}

function attemptRows(attempts) {
  return attempts.map((attempt) => h("tr", {},
    h("td", {}, attempt.generation), h("td", {}, attempt.try), h("td", {}, attempt.route),
    h("td", {class: "mono"}, attempt.handler), h("td", {}, status(attempt.status)),
    h("td", {}, `${attempt.durationMs.toFixed(1)} ms`), h("td", {}, when(attempt.startedAt)),
    h("td", {class: "mono"}, attempt.error || "")));
}

export async function delivery(id) {
  const {delivery: found} = await graph(DELIVERY, {id});
  if (!found) return [h("h1", {}, `Delivery #${id}`), h("p", {class: "error"}, "No such delivery.")];
  const state = h("span", {id: "delivery-status"}, status(found.status));
  const generation = h("span", {id: "delivery-generation"}, found.generation);
  const tries = h("span", {id: "delivery-tries"}, found.tries);
  const lastError = h("p", {class: "error", hidden: !found.lastError}, found.lastError || "");
  const attempts = h("tbody", {}, attemptRows(found.attempts));
  const result = h("div", {id: "replay-result", "aria-live": "polite"});
  const replay = h("button", {type: "button", class: "primary", id: "replay"}, "Replay");
  replay.addEventListener("click", async () => {
    replay.disabled = true;
    result.replaceChildren(h("p", {class: "notice"}, "Replaying..."));
    let replayed;
    try {
      ({replayDeliveries: replayed} = await graph(
        "mutation ($ids: [ID!]!) { replayDeliveries(ids: $ids) { id status generation } }",
        {ids: [found.id]}));
    } catch (error) {
      if (!(error instanceof LoggedOut)) result.replaceChildren(problem(error));
      replay.disabled = false;
      return;
    }
    if (!replayed.length) {
      result.replaceChildren(h("p", {class: "error", role: "alert"},
        "Not replayed: the delivery cannot be replayed in its state."));
      replay.disabled = false;
      return;
    }
    const notice = h("p", {class: "notice", id: "replay-notice"},
      `Replay queued (generation ${replayed[0].generation}); waiting for it to settle...`);
    result.replaceChildren(notice);
    state.replaceChildren(status(replayed[0].status));
    generation.textContent = replayed[0].generation;
    poll(DELIVERY, {id: found.id}, (data) => {
      const now = data.delivery;
      state.replaceChildren(status(now.status));
      generation.textContent = now.generation;
      tries.textContent = now.tries;
      lastError.textContent = now.lastError || "";
      lastError.hidden = !now.lastError;
      attempts.replaceChildren(...attemptRows(now.attempts));
      if (!SETTLED_DELIVERY.has(now.status)) return false;
      notice.textContent = `Replay settled: ${now.status} (generation ${now.generation}).`;
      replay.disabled = false;
      return true;
    });
  });
  return [
    h("h1", {}, `Delivery #${found.id} `, h("span", {class: "muted"},
      `${found.source} · ${[found.eventType, found.action].filter(Boolean).join(".")}`)),
    h("section", {class: "card"},
      h("p", {}, "Status ", state, " · generation ", generation, " · tries ", tries,
        ` · received ${when(found.receivedAt)}`,
        found.processedAt ? ` · processed ${when(found.processedAt)}` : ""),
      lastError,
      found.reason ? h("p", {class: "muted"}, found.reason) : null,
      replay, result),
    h("section", {class: "card"}, h("h2", {}, "Attempts"),
      h("table", {id: "attempts"}, h("thead", {}, h("tr", {},
        ["generation", "try", "route", "handler", "status", "took", "started", "error"].map(
          (text) =>
          h("th", {}, text)))), attempts)),
    h("section", {class: "card"}, h("h2", {}, "Headers"),
      table(["name", "value"], headerRows(found.headers), {id: "headers"})),
    h("section", {class: "card"}, h("h2", {}, `Body (${found.bodySize} bytes)`),
      h("pre", {id: "body"}, found.body === null ? "(not kept)" : found.body)),
  ];
}
