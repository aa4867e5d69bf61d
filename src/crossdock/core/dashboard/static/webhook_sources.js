// The webhooks page's sources card: each source's secrets (shown as the graph shows them,
// never a value), body limit, retry schedule and routes, with Add source, Settings (body limit
// and retry schedule), Remove source (its name typed again: its deliveries go with it), Add
// route, Remove route (asked twice) and Rotate secret. Every refusal (a read token, a bad
// value) is one message under the table, as the graph words it: the page checks nothing the
// graph checks.

import {LoggedOut, graph, h, problem, table} from "./common.js";

export const ROUTE_FIELDS = "id handler eventType action";
export const SOURCE_FIELDS = "name provider secrets maxBodyBytes " +
  `retry { maxTries baseSeconds maxSeconds } routes { ${ROUTE_FIELDS} }`;

// Runs a mutation; its refusal (a read token, a bad value) becomes one message in `result`.
export async function change(result, query, variables) {
  try {
    return await graph(query, variables);
  } catch (error) {
    if (!(error instanceof LoggedOut)) result.replaceChildren(problem(error));
    return null;
  }
}

export function notice(result, text, id) {
  const node = h("p", {class: "notice", id});
  node.textContent = text;
  result.replaceChildren(node);
  return node;
}

function routeLabel(route) {
  return `#${route.id} ${[route.eventType || "*", route.action].filter(Boolean).join(".")}` +
    ` → ${route.handler}`;
}

// A route with its Remove button, which asks once more before it removes.
function routeItem(source, route, result) {
  const item = h("li", {"data-route": route.id}, h("span", {class: "mono"}, routeLabel(route)));
  const remove = h("button", {type: "button", class: "remove-route"}, "Remove");
  const ask = () => {
    const yes = h("button", {type: "button", class: "confirm-remove"}, "Yes, remove it");
    const no = h("button", {type: "button"}, "Keep");
    const question = h("span", {class: "confirm"}, "Remove this route? ", yes, no);
    no.addEventListener("click", () => question.replaceWith(remove));
    yes.addEventListener("click", async () => {
      yes.disabled = true;
      const done = await change(result, "mutation ($id: ID!) { removeRoute(id: $id) }",
        {id: route.id});
      if (!done) {
        question.replaceWith(remove);
        return;
      }
      item.remove();
      notice(result, `Route ${routeLabel(route)} removed from ${source}.`);
    });
    remove.replaceWith(question);
  };
  remove.addEventListener("click", ask);
  item.append(" ", remove);
  return item;
}

function routeForm(source, handlers, routes, result, close) {
  const eventType = h("input", {name: "eventType", id: "route-event", placeholder: "any"});
  const action = h("input", {name: "action", id: "route-action", placeholder: "any"});
  const handler = h("select", {name: "handler", id: "route-handler"},
    handlers.map((name) => h("option", {value: name}, name)));
  const config = h("input", {name: "config", id: "route-config", size: 24,
    placeholder: "{\"app\": \"NAME\"} for forward"});
  const form = h("form", {class: "filters", id: "route-form"},
    h("strong", {}, `New route of ${source}`),
    h("label", {}, "Event type", eventType), h("label", {}, "Action", action),
    h("label", {}, "Handler", handler), h("label", {}, "Config (JSON, optional)", config),
    h("button", {type: "submit", class: "primary"}, "Add route"),
    h("button", {type: "button", onclick: close}, "Cancel"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    let parsed = null;
    if (config.value.trim()) {
      try {
        parsed = JSON.parse(config.value);
      } catch {
        result.replaceChildren(problem(new Error("The config is not JSON: write an object, " +
          "as in {\"app\": \"NAME\"}.")));
        return;
      }
    }
    const done = await change(result, `mutation ($source: String!, $handler: String!,
        $eventType: String, $action: String, $config: JSON) {
      addRoute(source: $source, handler: $handler, eventType: $eventType, action: $action,
               config: $config) { ${ROUTE_FIELDS} }
    }`, {source, handler: handler.value, eventType: eventType.value.trim() || null,
      action: action.value.trim() || null, config: parsed});
    if (!done) return;
    routes.append(routeItem(source, done.addRoute, result));
    notice(result, `Route ${routeLabel(done.addRoute)} added to ${source}.`);
    close();
  });
  return form;
}

// A new secret (never shown back: the graph only ever says literal:*** or env:NAME), and
// whether the old ones go now or stay until the senders use the new one.
function secretForm(source, shown, result, close) {
  const secret = h("input", {type: "password", name: "secret", id: "new-secret", required: true,
    autocomplete: "new-password", placeholder: "16 bytes or more, or env:NAME"});
  const drop = h("input", {type: "checkbox", name: "removeOthers", id: "remove-old"});
  const form = h("form", {class: "filters", id: "secret-form"},
    h("strong", {}, `Rotate the secret of ${source}`),
    h("label", {}, "New secret", secret),
    h("label", {class: "check"}, drop, "Remove the old secrets now"),
    h("button", {type: "submit", class: "primary"}, "Rotate"),
    h("button", {type: "button", onclick: close}, "Cancel"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const done = await change(result, `mutation ($source: String!, $add: [String!],
        $removeOthers: Boolean!) {
      updateSourceSecrets(source: $source, add: $add, removeOthers: $removeOthers) { secrets }
    }`, {source, add: [secret.value], removeOthers: drop.checked});
    secret.value = "";
    if (!done) return;
    const secrets = done.updateSourceSecrets.secrets;
    shown.textContent = secrets.join(", ");
    notice(result, drop.checked
      ? `${source} now verifies with the new secret only.`
      : `${source} verifies with ${secrets.length} secrets: the old ones until you remove ` +
        "them (rotate again with the new secret and “Remove the old secrets now”).");
    close();
  });
  return form;
}

function bytes(value) {
  const units = [["GiB", 2 ** 30], ["MiB", 2 ** 20], ["KiB", 2 ** 10]];
  for (const [unit, size] of units) {
    if (value >= size && value % (size / 16) === 0) return `${value / size} ${unit}`;
  }
  return `${value} bytes`;
}

function schedule(retry) {
  return `${retry.maxTries} tries, ${retry.baseSeconds} s doubling up to ${retry.maxSeconds} s`;
}

function field(label, attrs) {
  return h("label", {}, label, h("input", attrs));
}

// A new source: its name, provider, one secret (a value, never shown back, or env:NAME) and
// the options only an hmac source takes.
function addForm(providers, added, result, close) {
  const name = h("input", {name: "name", id: "source-name", required: true,
    placeholder: "letters, digits, . _ -"});
  const provider = h("select", {name: "provider", id: "source-provider"},
    providers.map((value) => h("option", {value}, value)));
  const secret = h("input", {type: "password", name: "secret", id: "source-secret",
    required: true, autocomplete: "new-password", placeholder: "16 bytes or more, or env:NAME"});
  const options = h("input", {name: "options", id: "source-options", size: 28,
    placeholder: "{\"header\": \"X-Signature\"} for hmac"});
  const form = h("form", {class: "filters", id: "source-form"},
    h("strong", {}, "New source"),
    h("label", {}, "Name", name), h("label", {}, "Provider", provider),
    h("label", {}, "Secret", secret), h("label", {}, "Options (JSON, optional)", options),
    h("button", {type: "submit", class: "primary"}, "Add source"),
    h("button", {type: "button", onclick: close}, "Cancel"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    let parsed = null;
    if (options.value.trim()) {
      try {
        parsed = JSON.parse(options.value);
      } catch {
        result.replaceChildren(problem(new Error("The options are not JSON: write an object, " +
          "as in {\"header\": \"X-Signature\"}.")));
        return;
      }
    }
    const done = await change(result, `mutation ($name: String!, $provider: String!,
        $secrets: [String!]!, $options: JSON) {
      addSource(name: $name, provider: $provider, secrets: $secrets, options: $options) {
        ${SOURCE_FIELDS}
      }
    }`, {name: name.value.trim(), provider: provider.value, secrets: [secret.value],
      options: parsed});
    secret.value = "";
    if (!done) return;
    added(done.addSource);
    notice(result, `Source ${done.addSource.name} added: its senders post to ` +
      `/webhooks/${done.addSource.name}.`);
    close();
  });
  return form;
}

// A source's body limit and retry schedule, shown as they are; only what was changed is sent.
function settingsForm(source, shown, result, close) {
  const now = {maxBodyBytes: source.maxBodyBytes, ...source.retry};
  const inputs = {
    maxBodyBytes: field("Body limit (bytes)", {type: "number", id: "settings-body",
      value: now.maxBodyBytes}),
    maxTries: field("Tries in all", {type: "number", id: "settings-tries", value: now.maxTries}),
    baseSeconds: field("First wait (s)", {type: "number", step: "any", id: "settings-base",
      value: now.baseSeconds}),
    maxSeconds: field("Longest wait (s)", {type: "number", step: "any", id: "settings-max",
      value: now.maxSeconds}),
  };
  const form = h("form", {class: "filters", id: "settings-form"},
    h("strong", {}, `Settings of ${source.name}`), Object.values(inputs),
    h("button", {type: "submit", class: "primary"}, "Save"),
    h("button", {type: "button", onclick: close}, "Cancel"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const changed = {};
    for (const [key, label] of Object.entries(inputs)) {
      const value = label.querySelector("input").value.trim();
      if (value !== String(now[key])) changed[key] = value === "" ? null : Number(value);
    }
    if (!Object.keys(changed).length) {
      notice(result, `Nothing changed in ${source.name}.`);
      close();
      return;
    }
    const {maxBodyBytes, ...retry} = changed;
    const blank = Object.entries(changed).find(([, value]) => value === null);
    if (blank) {
      result.replaceChildren(problem(new Error(`Give ${source.name}'s ` +
        `${blank[0] === "maxBodyBytes" ? "body limit" : "retry schedule"} a value.`)));
      return;
    }
    const done = await change(result, `mutation ($name: String!, $maxBodyBytes: Int,
        $retry: RetryInput) {
      updateSource(name: $name, maxBodyBytes: $maxBodyBytes, retry: $retry) {
        maxBodyBytes retry { maxTries baseSeconds maxSeconds }
      }
    }`, {name: source.name, maxBodyBytes: maxBodyBytes ?? null,
      retry: Object.keys(retry).length ? retry : null});
    if (!done) return;
    Object.assign(source, done.updateSource);
    shown.body.textContent = bytes(source.maxBodyBytes);
    shown.retry.textContent = schedule(source.retry);
    notice(result, `${source.name} now takes bodies up to ${bytes(source.maxBodyBytes)} and ` +
      `tries ${schedule(source.retry)}.`);
    close();
  });
  return form;
}

// Removing a source takes its deliveries with it: its name must be typed again (the graph
// checks it, and says so when it is wrong).
function removeForm(source, row, result, close) {
  const typed = h("input", {name: "confirm", id: "remove-confirm", required: true,
    autocomplete: "off", placeholder: source.name});
  const form = h("form", {class: "filters", id: "remove-source-form"},
    h("p", {class: "confirm"}, `Removing ${source.name} removes its routes and every delivery ` +
      "it received, with their bodies and attempts: none can be replayed after. Senders that " +
      `still post to /webhooks/${source.name} get 404.`),
    h("label", {}, `Type ${source.name} to confirm`, typed),
    h("button", {type: "submit", class: "confirm-remove-source"}, "Remove this source"),
    h("button", {type: "button", onclick: close}, "Cancel"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const done = await change(result, `mutation ($name: String!, $confirm: String!) {
      removeSource(name: $name, confirm: $confirm)
    }`, {name: source.name, confirm: typed.value});
    if (!done) return;
    row.remove();
    const count = done.removeSource;
    notice(result, `Source ${source.name} removed, with ${count} ` +
      `${count === 1 ? "delivery" : "deliveries"}.`);
    close();
  });
  return form;
}

function sourceRow(source, handlers, panel, result) {
  const close = () => panel.replaceChildren();
  const routes = h("ul", {class: "routes"},
    source.routes.map((route) => routeItem(source.name, route, result)));
  const shown = {
    secrets: h("td", {class: "mono secrets"}, source.secrets.join(", ")),
    body: h("td", {class: "body-limit"}, bytes(source.maxBodyBytes)),
    retry: h("td", {class: "retry"}, schedule(source.retry)),
  };
  const button = (name, text, form) => {
    const node = h("button", {type: "button", class: name}, text);
    node.addEventListener("click", () => panel.replaceChildren(form()));
    return node;
  };
  const row = h("tr", {"data-source": source.name}, h("td", {}, source.name),
    h("td", {}, source.provider), shown.secrets, shown.body, shown.retry, h("td", {}, routes));
  row.append(h("td", {class: "actions"},
    button("add-route", "Add route", () => routeForm(source.name, handlers, routes, result,
      close)),
    button("rotate-secret", "Rotate secret", () => secretForm(source.name, shown.secrets,
      result, close)),
    button("source-settings", "Settings", () => settingsForm(source, shown, result, close)),
    button("remove-source", "Remove source", () => removeForm(source, row, result, close))));
  return row;
}

export function sourcesCard(sources, handlers, providers) {
  const panel = h("div", {id: "source-panel"});
  const result = h("div", {id: "source-result", "aria-live": "polite"});
  const close = () => panel.replaceChildren();
  const list = table(["source", "provider", "secrets", "body limit", "retry", "routes", ""],
    sources.map((source) => sourceRow(source, handlers, panel, result)), {id: "sources"});
  const body = list.querySelector("tbody");
  const added = (source) => {
    body.querySelector("tr:not([data-source])")?.remove();  // "nothing here"
    body.append(sourceRow(source, handlers, panel, result));
  };
  const add = h("button", {type: "button", id: "add-source"}, "Add source");
  add.addEventListener("click", () => panel.replaceChildren(
    addForm(providers, added, result, close)));
  return h("section", {class: "card"}, h("h2", {}, "Sources"),
    h("div", {class: "toolbar"}, add), list, panel, result,
    h("p", {}, h("a", {href: "#/webhooks?status=DEAD", id: "dead-letters"},
      "Dead letters"), h("span", {class: "muted"},
      ": deliveries that used up their tries, to replay once the handler is fixed.")));
}
