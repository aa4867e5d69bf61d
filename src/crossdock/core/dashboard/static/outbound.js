// The outbound pages: each application's endpoints with their state and recent success rate
// (enable, disable), the messages sent (filtered by application, event type and status), and
// one message with its payload and its attempts at each endpoint, resent and followed until
// the new attempt settles.

import {LoggedOut, graph, h, older, poll, problem, status, table, when} from "./common.js";

const DESTINATION_STATUSES = ["PENDING", "SENDING", "SUCCEEDED", "FAILED", "EXHAUSTED"];
const ENDPOINT_FIELDS = `id app url eventTypes state disabledReason failingSince
  health { attempts succeeded successRate lastAttemptAt }`;

// The success rate as a meter: below 90% it shows as low, below 50% as bad.
function rateBar(rate) {
  return h("meter", {class: "rate-bar", min: 0, max: 1, low: 0.5, high: 0.9, optimum: 1,
    value: rate, "aria-hidden": "true"});
}

function health(endpoint) {
  const found = endpoint.health;
  if (found.successRate === null) return h("span", {class: "muted"}, "no attempts yet");
  return h("span", {class: "rate"}, rateBar(found.successRate),
    ` ${Math.round(found.successRate * 100)}% of ${found.attempts} ` +
    (found.attempts === 1 ? "attempt" : "attempts"));
}

function endpointRow(endpoint, result) {
  const enabled = endpoint.state !== "DISABLED";
  const label = enabled ? "Disable" : "Enable";
  const button = h("button", {type: "button", class: label.toLowerCase(),
    "data-endpoint": endpoint.id}, label);
  const row = h("tr", {"data-endpoint": endpoint.id}, h("td", {}, `#${endpoint.id}`),
    h("td", {}, endpoint.app), h("td", {class: "mono"}, endpoint.url),
    h("td", {class: "mono"}, endpoint.eventTypes ? endpoint.eventTypes.join(", ") : "all"),
    h("td", {}, status(endpoint.state),
      endpoint.disabledReason ? h("div", {class: "muted"}, endpoint.disabledReason) : null),
    h("td", {}, health(endpoint)), h("td", {}, when(endpoint.health.lastAttemptAt)),
    h("td", {}, button));
  button.addEventListener("click", async () => {
    button.disabled = true;
    const change = enabled
      ? ["($id: ID!, $reason: String)", "disableEndpoint(id: $id, reason: $reason)"]
      : ["($id: ID!)", "enableEndpoint(id: $id)"];
    let changed;
    try {
      ({changed} = await graph(
        `mutation ${change[0]} { changed: ${change[1]} { ${ENDPOINT_FIELDS} } }`,
        {id: endpoint.id, ...(enabled ? {reason: "disabled from the dashboard"} : {})}));
    } catch (error) {
      if (!(error instanceof LoggedOut)) result.replaceChildren(problem(error));
      button.disabled = false;
      return;
    }
    result.replaceChildren(h("p", {class: "notice"},
      `Endpoint #${changed.id} is now ${changed.state.toLowerCase()}.`));
    row.replaceWith(endpointRow(changed, result));
  });
  return row;
}

function summary(destinations) {
  if (!destinations.length) return h("span", {class: "muted"}, "no endpoint took it");
  const counts = new Map();
  for (const item of destinations) counts.set(item.status, (counts.get(item.status) || 0) + 1);
  return [...counts].map(([value, count]) => h("span", {class: "count"}, status(value),
    count > 1 ? ` ×${count}` : ""));
}

function select(id, name, values, current) {
  return h("select", {name, id}, h("option", {value: ""}, "all"),
    values.map((value) => h("option", {value, selected: value === current}, value)));
}

export async function outbound(params) {
  const app = params.get("app") || null;
  const eventType = params.get("eventType") || null;
  const state = params.get("status") || null;
  const after = params.get("after") || null;
  const data = await graph(`query ($app: String, $eventType: String,
      $status: OutboundDestinationStatus, $after: String) {
    outboundApps { name }
    eventTypes { name }
    endpoints(app: $app, first: 100) { nodes { ${ENDPOINT_FIELDS} } pageInfo { hasNextPage } }
    messages(app: $app, eventType: $eventType, status: $status, first: 25, after: $after) {
      nodes { id app eventType createdAt destinations { endpointId status } }
      pageInfo { hasNextPage endCursor }
    }
  }`, {app, eventType, status: state, after});
  const apps = select("filter-app", "app", data.outboundApps.map((item) => item.name), app);
  const types = select("filter-event-type", "eventType",
    data.eventTypes.map((item) => item.name), eventType);
  const statuses = select("filter-message-status", "status", DESTINATION_STATUSES, state);
  const filters = h("form", {class: "filters", id: "message-filters"},
    h("label", {}, "Application", apps), h("label", {}, "Event type", types),
    h("label", {}, "Status at an endpoint", statuses), h("button", {type: "submit"}, "Filter"));
  filters.addEventListener("submit", (event) => {
    event.preventDefault();
    const next = new URLSearchParams();
    if (apps.value) next.set("app", apps.value);
    if (types.value) next.set("eventType", types.value);
    if (statuses.value) next.set("status", statuses.value);
    location.hash = `#/outbound?${next}`;
  });
  const result = h("div", {id: "endpoint-result", "aria-live": "polite"});
  const page = data.messages;
  return [
    h("h1", {}, "Outbound webhooks"),
    h("section", {class: "card"}, h("h2", {}, app ? `Endpoints of ${app}` : "Endpoints"),
      h("p", {class: "muted"},
        "Success rate: of the attempts at the endpoint for its application's last 200 " +
        "messages."),
      result,
      table(["endpoint", "application", "url", "event types", "state", "success rate",
        "last attempt", ""], data.endpoints.nodes.map((item) => endpointRow(item, result)),
      {id: "endpoints"}),
      data.endpoints.pageInfo.hasNextPage
        ? h("p", {class: "muted"}, "The first 100 endpoints; pick an application for its own.")
        : null),
    h("section", {class: "card"}, h("h2", {}, "Messages"), filters,
      table(["message", "application", "event type", "at its endpoints", "sent"],
        page.nodes.map((message) => h("tr", {"data-message": message.id},
          h("td", {}, h("a", {href: `#/outbound/${message.id}`}, `#${message.id}`)),
          h("td", {}, message.app), h("td", {class: "mono"}, message.eventType),
          h("td", {class: "counts"}, summary(message.destinations)),
          h("td", {}, when(message.createdAt)))), {id: "messages"}),
      older("#/outbound", params, page.pageInfo, "Older messages")),
  ];
}

const MESSAGE = `query ($id: ID!) {
  message(id: $id) {
    id uid app eventType payload channels idempotencyKey orderingKey createdAt
    destinations { endpointId url status tries lastError nextAttemptAt finishedAt }
    attempts { id endpointId status statusCode responseExcerpt durationMs error startedAt }
  }
}`;

// Resent, a destination waits (PENDING, no try yet) or is being sent (SENDING); it has
// settled once its attempt is recorded: delivered, stopped, out of tries, or waiting to retry.
function unsettled(destination) {
  return destination.status === "SENDING" ||
    (destination.status === "PENDING" && destination.tries === 0);
}

// A settled destination in words: a PENDING one has failed and waits for its next try.
function outcome(destination) {
  if (destination.status !== "PENDING") return destination.status;
  return `failed (${destination.lastError}), next try ${when(destination.nextAttemptAt)}`;
}

function attemptRows(attempts, urls) {
  return attempts.map((attempt) => h("tr", {"data-attempt": attempt.id},
    h("td", {class: "mono"}, urls.get(attempt.endpointId) || `#${attempt.endpointId}`),
    h("td", {}, status(attempt.status)),
    h("td", {}, attempt.statusCode === null ? "no response" : attempt.statusCode),
    h("td", {}, `${attempt.durationMs.toFixed(1)} ms`), h("td", {}, when(attempt.startedAt)),
    h("td", {class: "mono"}, attempt.error || ""),
    h("td", {}, h("pre", {class: "excerpt"}, attempt.responseExcerpt || ""))));
}

export async function message(id) {
  const {message: found} = await graph(MESSAGE, {id});
  if (!found) return [h("h1", {}, `Message #${id}`), h("p", {class: "error"}, "No such message.")];
  const result = h("div", {id: "resend-result", "aria-live": "polite"});
  const destinations = h("tbody", {});
  const attempts = h("tbody", {});
  const buttons = [];
  const draw = (now) => {
    const urls = new Map(now.destinations.map((item) => [item.endpointId, item.url]));
    buttons.length = 0;
    destinations.replaceChildren(...now.destinations.map((item) => {
      const button = h("button", {type: "button", class: "resend",
        "data-endpoint": item.endpointId}, "Resend");
      button.addEventListener("click", () => resend(item.endpointId));
      buttons.push(button);
      return h("tr", {"data-endpoint": item.endpointId},
        h("td", {class: "mono"}, item.url), h("td", {}, status(item.status)),
        h("td", {}, item.tries), h("td", {}, when(item.nextAttemptAt)),
        h("td", {}, when(item.finishedAt)), h("td", {class: "mono"}, item.lastError || ""),
        h("td", {}, button));
    }));
    attempts.replaceChildren(...attemptRows(now.attempts, urls));
  };
  const all = h("button", {type: "button", class: "primary", id: "resend-failed"},
    "Resend where it failed");
  const busy = (value) => {
    all.disabled = value;
    for (const button of buttons) button.disabled = value;
  };
  async function resend(endpointId) {
    busy(true);
    const what = endpointId ? `to ${found.destinations.find(
      (item) => item.endpointId === endpointId).url}` : "where it failed";
    let done;
    try {
      ({resendMessage: done} = await graph(`mutation ($id: ID!, $endpointId: ID) {
        resendMessage(id: $id, endpointId: $endpointId) { resent } }`,
      {id: found.id, endpointId}));
    } catch (error) {
      if (!(error instanceof LoggedOut)) result.replaceChildren(problem(error));
      busy(false);
      return;
    }
    if (!done.resent) {
      result.replaceChildren(h("p", {class: "notice", id: "resend-notice"},
        "Nothing to resend: it failed nowhere."));
      busy(false);
      return;
    }
    const notice = h("p", {class: "notice", id: "resend-notice"},
      `Resend ${what} queued; waiting for the attempt...`);
    result.replaceChildren(notice);
    poll(MESSAGE, {id: found.id}, (data) => {
      const now = data.message;
      draw(now);
      busy(true);
      const mine = now.destinations.filter((item) => !endpointId || item.endpointId === endpointId);
      if (mine.some(unsettled)) return false;
      notice.textContent = `Resend ${what} settled: ${mine.map(outcome).join("; ")}.`;
      busy(false);
      return true;
    });
  }
  draw(found);
  all.addEventListener("click", () => resend(null));
  const keys = [found.channels.length ? `channels ${found.channels.join(", ")}` : null,
    found.idempotencyKey ? `idempotency key ${found.idempotencyKey}` : null,
    found.orderingKey ? `ordering key ${found.orderingKey}` : null].filter(Boolean);
  return [
    h("h1", {}, `Message #${found.id} `, h("span", {class: "muted"},
      `${found.app} · ${found.eventType}`)),
    h("section", {class: "card"},
      h("p", {}, h("span", {class: "mono"}, found.uid), ` · sent ${when(found.createdAt)}`,
        keys.length ? ` · ${keys.join(" · ")}` : ""),
      all, result),
    h("section", {class: "card"}, h("h2", {}, "At each endpoint"),
      h("table", {id: "destinations"}, h("thead", {}, h("tr", {},
        ["endpoint", "status", "tries", "next try", "finished", "last error", ""].map(
          (text) => h("th", {}, text)))), destinations)),
    h("section", {class: "card"}, h("h2", {}, "Attempts"),
      h("table", {id: "outbound-attempts"}, h("thead", {}, h("tr", {},
        ["endpoint", "status", "HTTP", "took", "started", "error", "response"].map(
          (text) => h("th", {}, text)))), attempts)),
    h("section", {class: "card"}, h("h2", {}, "Payload"),
      h("pre", {id: "payload"}, JSON.stringify(found.payload, null, 2))),
  ];
}
