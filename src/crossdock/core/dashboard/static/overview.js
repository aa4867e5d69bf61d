// The overview page: services and their readiness checks, the event bus's backlog, and the
// latest failed deliveries.

import {graph, h, status, table, when} from "./common.js";

export async function overview() {
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
