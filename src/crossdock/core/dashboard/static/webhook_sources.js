// The webhooks page's sources card: each source's secrets (shown as the graph shows them,
// never a value) and routes, with Add route, Remove (asked twice) and Rotate secret. Every
// refusal (a read token, a bad value) is one message under the table.

import {LoggedOut, graph, h, problem, table} from "./common.js";

export const ROUTE_FIELDS = "id handler eventType action";

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

export function sourcesCard(sources, handlers) {
  const panel = h("div", {id: "source-panel"});
  const result = h("div", {id: "source-result", "aria-live": "polite"});
  const close = () => panel.replaceChildren();
  const rows = sources.map((source) => {
    const routes = h("ul", {class: "routes"},
      source.routes.map((route) => routeItem(source.name, route, result)));
    const shown = h("td", {class: "mono secrets"}, source.secrets.join(", "));
    const addRoute = h("button", {type: "button", class: "add-route"}, "Add route");
    addRoute.addEventListener("click", () => panel.replaceChildren(
      routeForm(source.name, handlers, routes, result, close)));
    const rotate = h("button", {type: "button", class: "rotate-secret"}, "Rotate secret");
    rotate.addEventListener("click", () => panel.replaceChildren(
      secretForm(source.name, shown, result, close)));
    return h("tr", {"data-source": source.name}, h("td", {}, source.name),
      h("td", {}, source.provider), shown, h("td", {}, source.retryMaxTries),
      h("td", {}, routes), h("td", {class: "actions"}, addRoute, rotate));
  });
  return h("section", {class: "card"}, h("h2", {}, "Sources"),
    table(["source", "provider", "secrets", "tries before dead", "routes", ""], rows,
      {id: "sources"}),
    panel, result,
    h("p", {}, h("a", {href: "#/webhooks?status=DEAD", id: "dead-letters"},
      "Dead letters"), h("span", {class: "muted"},
      ": deliveries that used up their tries, to replay once the handler is fixed.")));
}

