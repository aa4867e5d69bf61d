// The crossdock dashboard: plain DOM, no build step, no library. It talks to the admin graph
// through the dashboard's own /graphql (forwarded to the gateway) with the admin token the
// person pasted, kept in sessionStorage (gone with the tab, never in a URL or a cookie).
// This module logs in, routes and draws the overview, webhooks and GitSlice pages.

import {
  LoggedOut, SETTLED_JOB, TOKEN_KEY, graph, h, poll, problem, status, table, view, when,
} from "./common.js";
import {jobs} from "./jobs.js";

const SETTLED_DELIVERY = new Set(["PROCESSED", "FAILED", "DEAD", "REJECTED"]);
const DELIVERY_STATUSES = ["RECEIVED", "PROCESSED", "FAILED", "DEAD", "REJECTED"];

const main = document.getElementById("main");
const bar = document.getElementById("top");

function showLogin(message) {
  view.count += 1;
  bar.hidden = true;
  const input = h("input", {type: "password", name: "token", id: "token", required: true,
    autocomplete: "off", placeholder: "cdx_..."});
  const form = h("form", {class: "login", id: "login"},
    h("h1", {}, "crossdock dashboard"),
    h("p", {class: "muted"}, "Paste the admin token `crossdock up` printed (or one made with ",
      h("code", {}, "crossdock admin token create"), ")."),
    message ? h("p", {class: "error", role: "alert"}, message) : null,
    h("label", {for: "token"}, "Token", input),
    h("button", {type: "submit", class: "primary"}, "Log in"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, input.value.trim());
    try {
      await graph("{ services { name } }");
    } catch (error) {
      if (!(error instanceof LoggedOut)) form.append(problem(error));
      return;
    }
    if (!location.hash || location.hash === "#/login") location.hash = "#/overview";
    else render();
  });
  main.replaceChildren(form);
  input.focus();
}

async function overview() {
  const data = await graph(`{
    services { name description }
    health { name ok }
    busLag { pendingEvents oldestPendingSeconds }
    deliveries(status: FAILED, first: 10) {
      nodes { id source eventType receivedAt lastError }
    }
  }`);
  return [
    h("h1", {}, "Overview"),
    h("div", {class: "grid"},
      h("section", {class: "card", id: "services"}, h("h2", {}, "Services"),
        table(["service", "description"], data.services.map((service) =>
          h("tr", {}, h("td", {}, service.name),
            h("td", {class: "muted"}, service.description))))),
      h("section", {class: "card", id: "health"}, h("h2", {}, "Readiness checks"),
        table(["check", "state"], data.health.map((check) =>
          h("tr", {}, h("td", {}, check.name), h("td", {}, status(check.ok ? "ok" : "bad"))))),
        h("p", {class: "muted"}, `Event bus: ${data.busLag.pendingEvents} events waiting`,
          data.busLag.oldestPendingSeconds
            ? `, oldest ${Math.round(data.busLag.oldestPendingSeconds)} s` : ""))),
    h("section", {class: "card", id: "failed-deliveries"},
      h("h2", {}, "Recent failed deliveries"),
      table(["delivery", "source", "event", "received", "error"],
        data.deliveries.nodes.map((delivery) => h("tr", {},
          h("td", {}, h("a", {href: `#/webhooks/${delivery.id}`}, `#${delivery.id}`)),
          h("td", {}, delivery.source), h("td", {}, delivery.eventType || ""),
          h("td", {}, when(delivery.receivedAt)),
          h("td", {class: "mono"}, delivery.lastError || ""))))),
  ];
}

async function webhooks(params) {
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

async function delivery(id) {
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

const JOB = "query ($id: ID!) { job(id: $id) { id task status attempts startedAt finishedAt } }";

function jobRow(job) {
  return h("tr", {"data-job": job.id}, h("td", {}, `#${job.id}`),
    h("td", {class: "mono"}, job.task), h("td", {}, status(job.status)),
    h("td", {}, job.attempts ?? ""), h("td", {}, when(job.finishedAt)));
}

async function gitslice() {
  const data = await graph(`{
    slices { name upstreamUrl upstreamBranch sliceUrl sliceBranch mode lastUpstreamSha
             mappedCommits updatedAt runs(first: 5) { nodes { ${RUN} } } }
  }`);
  const runs = h("tbody", {}, runRows(data.slices.map((slice) => slice.runs.nodes).flat()));
  const jobs = h("tbody", {});
  const jobTable = h("table", {id: "jobs"}, h("thead", {}, h("tr", {},
    ["job", "task", "status", "tries", "finished"].map((text) => h("th", {}, text)))), jobs);
  const result = h("div", {id: "pull-result", "aria-live": "polite"});
  const cells = new Map();
  // After a pull ends, the slice's row shows where it now stands.
  const refresh = async (name) => {
    const {slice, syncRuns} = await graph(`query ($name: String!) {
      slice(name: $name) { lastUpstreamSha mappedCommits }
      syncRuns(slice: $name, first: 5) { nodes { ${RUN} } }
    }`, {name});
    runs.replaceChildren(...runRows(syncRuns.nodes));
    const [upstream, mapped] = cells.get(name);
    upstream.textContent = (slice.lastUpstreamSha || "").slice(0, 12);
    mapped.textContent = slice.mappedCommits;
  };
  const pull = async (name, button) => {
    button.disabled = true;
    result.replaceChildren();
    let job;
    try {
      ({pullSlice: job} = await graph(
        "mutation ($name: String!) { pullSlice(name: $name) { id task status } }", {name}));
    } catch (error) {
      if (!(error instanceof LoggedOut)) result.replaceChildren(problem(error));
      button.disabled = false;
      return;
    }
    let row = jobRow(job);
    jobs.prepend(row);
    result.replaceChildren(h("p", {class: "notice"}, `Pull of ${name} queued as job #${job.id}.`));
    poll(JOB, {id: job.id}, (answer) => {
      const fresh = jobRow(answer.job);
      row.replaceWith(fresh);
      row = fresh;
      if (!SETTLED_JOB.has(answer.job.status)) return false;
      button.disabled = false;
      refresh(name).catch((error) => {
        if (!(error instanceof LoggedOut)) result.replaceChildren(problem(error));
      });
      return true;
    });
  };
  return [
    h("h1", {}, "GitSlice"),
    h("section", {class: "card"}, h("h2", {}, "Slices"),
      table(["slice", "upstream", "slice repository", "mode", "last upstream", "mapped", ""],
        data.slices.map((slice) => {
          const button = h("button", {type: "button", class: "pull", "data-slice": slice.name},
            "Pull");
          button.addEventListener("click", () => pull(slice.name, button));
          const upstream = h("td", {class: "mono last-upstream"},
            (slice.lastUpstreamSha || "").slice(0, 12));
          const mapped = h("td", {class: "mapped"}, slice.mappedCommits);
          cells.set(slice.name, [upstream, mapped]);
          return h("tr", {"data-slice": slice.name}, h("td", {}, slice.name),
            h("td", {class: "mono"}, `${slice.upstreamUrl} ${slice.upstreamBranch}`),
            h("td", {class: "mono"}, `${slice.sliceUrl} ${slice.sliceBranch}`),
            h("td", {}, slice.mode), upstream, mapped, h("td", {}, button));
        }), {id: "slices"}),
      result),
    h("section", {class: "card"}, h("h2", {}, "Jobs started here"), jobTable),
    h("section", {class: "card"}, h("h2", {}, "Recent sync runs"),
      h("table", {id: "runs"}, h("thead", {}, h("tr", {},
        ["run", "slice", "kind", "state", "commits", "started", "took", "error"].map((text) =>
          h("th", {}, text)))), runs)),
    commitLookup(data.slices.map((slice) => slice.name)),
  ];
}

const RUN = "id sliceName kind state commits startedAt finishedAt error";

function runRows(runs) {
  return runs.sort((a, b) => b.startedAt.localeCompare(a.startedAt)).map((run) => h("tr",
    {"data-run": run.id}, h("td", {}, `#${run.id}`), h("td", {}, run.sliceName),
    h("td", {}, run.kind), h("td", {}, status(run.state)), h("td", {}, run.commits),
    h("td", {}, when(run.startedAt)),
    h("td", {}, run.finishedAt
      ? `${((new Date(run.finishedAt) - new Date(run.startedAt)) / 1000).toFixed(1)} s` : ""),
    h("td", {class: "mono"}, run.error || "")));
}

// Where a commit went: an upstream sha to the slice's, or a slice sha back to upstream's.
function commitLookup(names) {
  const slice = h("select", {name: "slice", id: "lookup-slice"},
    names.map((name) => h("option", {value: name}, name)));
  const sha = h("input", {name: "sha", id: "lookup-sha", required: true, size: 42,
    placeholder: "a full commit sha, upstream or slice"});
  const answer = h("div", {id: "lookup-result", "aria-live": "polite"});
  const form = h("form", {class: "filters", id: "lookup"},
    h("label", {}, "Slice", slice), h("label", {}, "Commit", sha),
    h("button", {type: "submit"}, "Look up"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const value = sha.value.trim();
    let found;
    try {
      found = await graph(`query ($slice: String!, $sha: [String!]) {
        upstream: commitMap(slice: $slice, upstreamShas: $sha) { upstreamSha sliceSha }
        slice: commitMap(slice: $slice, sliceShas: $sha) { upstreamSha sliceSha }
      }`, {slice: slice.value, sha: [value]});
    } catch (error) {
      if (!(error instanceof LoggedOut)) answer.replaceChildren(problem(error));
      return;
    }
    const rows = [...found.upstream, ...found.slice].map((pair) => h("tr", {},
      h("td", {class: "mono"}, pair.upstreamSha), h("td", {class: "mono"}, pair.sliceSha)));
    answer.replaceChildren(rows.length
      ? table(["upstream commit", "slice commit"], rows, {id: "lookup-table"})
      : h("p", {class: "muted"}, `${value} is in neither side of ${slice.value}'s commit map.`));
  });
  return h("section", {class: "card"}, h("h2", {}, "Commit map"), form, answer);
}

async function render() {
  view.count += 1;
  const mine = view.count;
  if (!sessionStorage.getItem(TOKEN_KEY)) {
    showLogin();
    return;
  }
  const [path, query] = (location.hash.slice(1) || "/overview").split("?");
  const parts = path.split("/").filter(Boolean);
  const params = new URLSearchParams(query || "");
  bar.hidden = false;
  for (const link of bar.querySelectorAll("nav a")) {
    link.classList.toggle("current", link.dataset.page === parts[0]);
  }
  let content;
  try {
    if (parts[0] === "webhooks" && parts[1]) content = await delivery(parts[1]);
    else if (parts[0] === "webhooks") content = await webhooks(params);
    else if (parts[0] === "gitslice") content = await gitslice();
    else if (parts[0] === "jobs") content = await jobs(params);
    else content = await overview();
  } catch (error) {
    if (error instanceof LoggedOut) return;
    content = [problem(error)];
  }
  if (mine !== view.count) return;
  main.replaceChildren(...content);
  main.dataset.page = parts[0] || "overview";
  // What is drawn, for whoever waits for it (the browser tests).
  main.dataset.route = location.hash;
}

document.getElementById("logout").addEventListener("click", () => {
  sessionStorage.removeItem(TOKEN_KEY);
  showLogin("Logged out.");
});
view.loggedOut = showLogin;
window.addEventListener("hashchange", render);
render();
