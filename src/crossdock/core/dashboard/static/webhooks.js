// The webhooks pages: sources with their routes (add, remove) and secrets (rotate);
// deliveries filtered by source, status, event type and time, or found by id (kept in the
// route's query string), replayed a page or a selection at a time and followed until they
// settle; dead letters; and one delivery with its headers, body and attempts, the repository
// its body names (linked to the repository's page) and the sync runs its event started in
// GitSlice (Delivery.syncRuns, which the gateway asks GitSlice's subgraph for).

import {LoggedOut, graph, h, poll, problem, status, table, when} from "./common.js";
import {repositoryRoute} from "./repositories.js";
import {SOURCE_FIELDS, change, notice, sourcesCard} from "./webhook_sources.js";

const SETTLED_DELIVERY = new Set(["PROCESSED", "FAILED", "DEAD", "REJECTED"]);
const DELIVERY_STATUSES = ["RECEIVED", "PROCESSED", "FAILED", "DEAD", "REJECTED"];
// The route's query string keys the list reads, in the order they are written.
const FILTERS = ["source", "status", "event", "search", "from", "until"];

// A time of the query string (ISO, UTC) as a datetime-local input shows it (the browser's
// zone), and back: the query string stays the same whichever zone reloads it.
function localInput(iso) {
  const time = new Date(iso || "");
  if (Number.isNaN(time.getTime())) return "";
  const two = (value) => String(value).padStart(2, "0");
  return `${time.getFullYear()}-${two(time.getMonth() + 1)}-${two(time.getDate())}` +
    `T${two(time.getHours())}:${two(time.getMinutes())}`;
}

function isoOf(local) {
  return local ? new Date(local).toISOString() : "";
}

function filterForm(sources, current) {
  const sourceSelect = h("select", {name: "source", id: "filter-source"},
    h("option", {value: ""}, "all"),
    sources.map((item) => h("option", {value: item.name, selected: item.name === current.source},
      item.name)));
  const statusSelect = h("select", {name: "status", id: "filter-status"},
    h("option", {value: ""}, "all"),
    DELIVERY_STATUSES.map((value) => h("option", {value, selected: value === current.status},
      value)));
  const eventType = h("input", {name: "event", id: "filter-event", size: 14,
    value: current.event || "", placeholder: "any"});
  const search = h("input", {type: "search", name: "search", id: "filter-search", size: 28,
    value: current.search || "", placeholder: "#123 or the sender's delivery id"});
  const from = h("input", {type: "datetime-local", name: "from", id: "filter-from",
    value: localInput(current.from)});
  const until = h("input", {type: "datetime-local", name: "until", id: "filter-until",
    value: localInput(current.until)});
  const form = h("form", {class: "filters", id: "filters"},
    h("label", {}, "Find", search), h("label", {}, "Source", sourceSelect),
    h("label", {}, "Status", statusSelect), h("label", {}, "Event type", eventType),
    h("label", {}, "Received from", from), h("label", {}, "until (not included)", until),
    h("button", {type: "submit"}, "Filter"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const next = new URLSearchParams();
    const values = {source: sourceSelect.value, status: statusSelect.value,
      event: eventType.value.trim(), search: search.value.trim(), from: isoOf(from.value),
      until: isoOf(until.value)};
    for (const key of FILTERS) if (values[key]) next.set(key, values[key]);
    location.hash = `#/webhooks?${next}`;
  });
  return form;
}

const FOLLOWED = "id status tries generation";

// Replays `ids`, then polls them (one query, one alias each) until every one has settled,
// counting them by outcome.
async function replayMany(ids, cells, result, busy) {
  busy(true);
  const release = () => busy(false);
  notice(result, `Replaying ${ids.length} deliveries...`);
  const done = await change(result,
    `mutation ($ids: [ID!]!) { replayDeliveries(ids: $ids) { ${FOLLOWED} } }`, {ids});
  if (!done) {
    release();
    return;
  }
  const replayed = done.replayDeliveries;
  if (!replayed.length) {
    result.replaceChildren(h("p", {class: "error", role: "alert"},
      "Nothing replayed: none of these deliveries can be replayed in its state."));
    release();
    return;
  }
  const skipped = ids.length - replayed.length;
  const line = notice(result, "", "bulk-result");
  const show = (deliveries) => {
    const counts = new Map();
    for (const found of deliveries) {
      cells.get(found.id)?.replaceChildren(status(found.status));
      counts.set(found.status, (counts.get(found.status) || 0) + 1);
    }
    const waiting = deliveries.filter((found) => !SETTLED_DELIVERY.has(found.status)).length;
    line.replaceChildren(`Replay of ${replayed.length}`,
      skipped ? ` (${skipped} not replayable)` : "",
      waiting ? `, ${waiting} still running: ` : ", settled: ",
      ...[...counts].flatMap(([outcome, count], index) => [index ? " · " : "",
        h("span", {"data-outcome": outcome}, `${count} ${outcome}`)]));
    return waiting === 0;
  };
  show(replayed);
  const names = replayed.map((_, index) => `$d${index}: ID!`).join(", ");
  const fields = replayed.map((_, index) => `d${index}: delivery(id: $d${index}) { ${FOLLOWED} }`);
  const variables = Object.fromEntries(replayed.map((found, index) => [`d${index}`, found.id]));
  poll(`query (${names}) { ${fields.join(" ")} }`, variables, (data) => {
    if (!show(Object.values(data).filter(Boolean))) return false;
    release();
    return true;
  });
}

function deliveriesCard(form, page, params, failure) {
  const dead = params.get("status") === "DEAD";
  const title = h("h2", {}, dead ? "Dead letters" : "Deliveries");
  if (failure) return h("section", {class: "card"}, title, form, problem(failure));
  const result = h("div", {id: "replay-many", "aria-live": "polite"});
  const picks = new Map();
  const cells = new Map();
  const selected = h("button", {type: "button", class: "primary", id: "replay-selected",
    disabled: true}, "Replay selected");
  const all = h("button", {type: "button", id: "replay-page", hidden: !dead},
    "Replay all on this page");
  const update = () => {
    selected.disabled = ![...picks.values()].some((box) => box.checked);
  };
  // While a replay runs, neither button starts another.
  const busy = (running) => {
    all.disabled = running || !picks.size;
    if (running) selected.disabled = true;
    else update();
  };
  const rows = page.nodes.map((found) => {
    const box = h("input", {type: "checkbox", class: "pick", "data-delivery": found.id,
      "aria-label": `select delivery #${found.id}`, disabled: found.status === "REJECTED"});
    box.addEventListener("change", update);
    if (found.status !== "REJECTED") picks.set(found.id, box);
    const cell = h("td", {class: "state"}, status(found.status));
    cells.set(found.id, cell);
    return h("tr", {"data-delivery": found.id}, h("td", {}, box),
      h("td", {}, h("a", {href: `#/webhooks/${found.id}`}, `#${found.id}`)),
      h("td", {}, found.source),
      h("td", {class: "mono"}, found.providerDeliveryId || ""),
      h("td", {}, [found.eventType, found.action].filter(Boolean).join(".")),
      cell, h("td", {}, found.tries), h("td", {}, when(found.receivedAt)));
  });
  selected.addEventListener("click", () => replayMany(
    [...picks].filter(([, box]) => box.checked).map(([id]) => id), cells, result, busy));
  all.addEventListener("click", () => replayMany([...picks.keys()], cells, result, busy));
  busy(false);
  let older = null;
  if (page.pageInfo.hasNextPage) {
    const next = new URLSearchParams(params);
    next.set("after", page.pageInfo.endCursor);
    older = h("a", {href: `#/webhooks?${next}`}, dead ? "Older dead letters" : "Older deliveries");
  }
  return h("section", {class: "card"}, title, form,
    h("div", {class: "toolbar"}, selected, all), result,
    table(["", "delivery", "source", "sender's id", "event", "status", "tries", "received"],
      rows, {id: "deliveries"}),
    older);
}

export async function webhooks(params) {
  const current = Object.fromEntries(FILTERS.map((key) => [key, params.get(key) || null]));
  const data = await graph(`{
    sources { ${SOURCE_FIELDS} }
    handlers
    providers
  }`);
  let page = null;
  let failure = null;
  try {
    // A search or filter the graph refuses is said in the deliveries card, under the form
    // that can mend it.
    ({deliveries: page} = await graph(`query ($source: String, $status: DeliveryStatus,
        $eventType: String, $search: String, $from: DateTime, $until: DateTime,
        $after: String) {
      deliveries(source: $source, status: $status, eventType: $eventType, search: $search,
                 receivedAfter: $from, receivedBefore: $until, first: 25, after: $after) {
        nodes { id source providerDeliveryId eventType action status receivedAt tries }
        pageInfo { hasNextPage endCursor }
      }
    }`, {source: current.source, status: current.status, eventType: current.event,
      search: current.search, from: current.from, until: current.until,
      after: params.get("after") || null}));
  } catch (error) {
    if (error instanceof LoggedOut) throw error;
    failure = error;
  }
  return [
    h("h1", {}, "Webhooks"),
    sourcesCard(data.sources, data.handlers, data.providers),
    deliveriesCard(filterForm(data.sources, current), page, params, failure),
  ];
}

const DELIVERY = `query ($id: ID!) {
  delivery(id: $id) {
    id source provider providerDeliveryId eventType action status reason headers bodySize
    receivedAt processedAt tries generation lastError body
    attempts { generation try route handler status durationMs error startedAt }
    repository { url slices { name } }
    syncRuns { id sliceName kind state commits error startedAt job { id } }
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

function runsTable(runs) {
  const rows = runs.map((run) => h("tr", {"data-run": run.id},
    h("td", {}, h("a", {href: "#/gitslice"}, `#${run.id}`)), h("td", {}, run.sliceName),
    h("td", {}, run.kind), h("td", {}, status(run.state)), h("td", {}, run.commits),
    h("td", {}, run.job ? h("a", {href: `#/jobs/${run.job.id}`}, `#${run.job.id}`) : ""),
    h("td", {}, when(run.startedAt)), h("td", {class: "mono"}, run.error || "")));
  return table(["run", "slice", "kind", "state", "commits", "job", "started", "error"], rows,
    {id: "delivery-runs"});
}

// The repository the body names, with the slices cut from it or into it; or why there is none.
function repositoryLine(found) {
  const repository = found.repository;
  if (!repository) {
    const why = {RECEIVED: "not read yet (a worker records it as it processes the delivery)",
      REJECTED: "none (a refused request's body is not kept)"}[found.status]
      || "none named (GitHub, GitLab and Bitbucket bodies name theirs)";
    return h("p", {class: "muted", id: "delivery-repository"}, `Repository: ${why}.`);
  }
  const slices = repository.slices.map((item) => item.name);
  return h("p", {id: "delivery-repository"}, "Repository ",
    h("a", {href: repositoryRoute(repository.url), class: "mono"}, repository.url),
    h("span", {class: "muted"}, slices.length ? ` · slices ${slices.join(", ")}`
      : " · no slice of it"));
}

export async function delivery(id) {
  const {delivery: found} = await graph(DELIVERY, {id});
  if (!found) return [h("h1", {}, `Delivery #${id}`), h("p", {class: "error"}, "No such delivery.")];
  const state = h("span", {id: "delivery-status"}, status(found.status));
  const generation = h("span", {id: "delivery-generation"}, found.generation);
  const tries = h("span", {id: "delivery-tries"}, found.tries);
  const lastError = h("p", {class: "error", hidden: !found.lastError}, found.lastError || "");
  const attempts = h("tbody", {}, attemptRows(found.attempts));
  const repository = h("div", {}, repositoryLine(found));
  const runs = h("div", {}, runsTable(found.syncRuns));
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
      repository.replaceChildren(repositoryLine(now));
      runs.replaceChildren(runsTable(now.syncRuns));
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
      repository, replay, result),
    h("section", {class: "card"}, h("h2", {}, "Sync runs it started (GitSlice)"), runs),
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
