// The overview page: what went through the platform in the last hour, minute by minute
// (deliveries, jobs, outbound messages, bus events), what waits now, the services and their
// readiness checks, and the latest failed deliveries and jobs. It asks the graph again every
// 10 s while it is shown, and stops once the person leaves it (a new render bumps view.count).

import {LoggedOut, graph, h, problem, status, table, view, when} from "./common.js";
import {levels, perMinute} from "./charts.js";

const REFRESH_MS = 10_000;
const MINUTES = 60;

const QUERY = `query ($minutes: Int!) {
  services { name description }
  health { name ok }
  busLag { pendingEvents oldestPendingSeconds }
  jobBacklog { queued running oldestQueuedSeconds }
  deliveryBacklog { pending retrying oldestPendingSeconds }
  deliveriesPerMinute(minutes: $minutes) {
    minute received pending processed failed dead rejected }
  jobsPerMinute(minutes: $minutes) { minute succeeded failed }
  outboundPerMinute(minutes: $minutes) { minute sent failed pending }
  eventsPerMinute(minutes: $minutes) { minute published }
  deliveries(status: FAILED, first: 10) {
    nodes { id source eventType receivedAt lastError }
  }
  jobs(status: FAILED, first: 10) { nodes { id task queue attempts finishedAt } }
}`;

function seconds(value) {
  return value ? `oldest ${Math.round(value)} s` : "";
}

function charts(data) {
  const deliveries = data.deliveryBacklog;
  const jobs = data.jobBacklog;
  return h("div", {class: "grid charts"},
    h("section", {class: "card"}, perMinute({id: "chart-deliveries",
      title: "Deliveries per minute", buckets: data.deliveriesPerMinute, series: [
        {key: "processed", label: "processed", colour: "good"},
        {key: (minute) => minute.failed + minute.dead + minute.rejected,
          label: "failed", colour: "bad"},
        {key: "pending", label: "pending", colour: "wait"}]})),
    h("section", {class: "card"}, perMinute({id: "chart-jobs", title: "Jobs per minute",
      buckets: data.jobsPerMinute, series: [
        {key: "succeeded", label: "succeeded", colour: "good"},
        {key: "failed", label: "failed", colour: "bad"}]})),
    h("section", {class: "card"}, levels({id: "chart-backlog", title: "Backlog",
      headline: "waiting", items: [
        {label: "deliveries waiting", value: deliveries.pending + deliveries.retrying,
          colour: "wait", note: [`${deliveries.retrying} to retry`,
            seconds(deliveries.oldestPendingSeconds)].filter(Boolean).join(", ")},
        {label: "jobs queued", value: jobs.queued, colour: "accent",
          note: [`${jobs.running} running`, seconds(jobs.oldestQueuedSeconds)]
            .filter(Boolean).join(", ")},
        {label: "bus events pending", value: data.busLag.pendingEvents, colour: "muted",
          note: seconds(data.busLag.oldestPendingSeconds)}]})),
    h("section", {class: "card"}, perMinute({id: "chart-outbound",
      title: "Outbound per minute", buckets: data.outboundPerMinute, series: [
        {key: "sent", label: "sent", colour: "good"},
        {key: "failed", label: "failed", colour: "bad"},
        {key: "pending", label: "pending", colour: "wait"}]})),
    h("section", {class: "card"}, perMinute({id: "chart-events",
      title: "Bus events per minute", buckets: data.eventsPerMinute,
      series: [{key: "published", label: "published", colour: "accent"}]})));
}

function failures(data) {
  return h("div", {class: "grid"},
    h("section", {class: "card", id: "failed-deliveries"},
      h("h2", {}, "Recent failed deliveries"),
      table(["delivery", "source", "event", "received", "error"],
        data.deliveries.nodes.map((delivery) => h("tr", {"data-delivery": delivery.id},
          h("td", {}, h("a", {href: `#/webhooks/${delivery.id}`}, `#${delivery.id}`)),
          h("td", {}, delivery.source), h("td", {}, delivery.eventType || ""),
          h("td", {}, when(delivery.receivedAt)),
          h("td", {class: "mono"}, delivery.lastError || ""))))),
    h("section", {class: "card", id: "failed-jobs"},
      h("h2", {}, "Recent failed jobs"),
      table(["job", "task", "queue", "tries", "ended"],
        data.jobs.nodes.map((job) => h("tr", {"data-job": job.id},
          h("td", {}, h("a", {href: `#/jobs/${job.id}`}, `#${job.id}`)),
          h("td", {class: "mono"}, job.task), h("td", {}, job.queue),
          h("td", {}, job.attempts), h("td", {}, when(job.finishedAt)))))));
}

function services(data) {
  return h("div", {class: "grid"},
    h("section", {class: "card", id: "services"}, h("h2", {}, "Services"),
      table(["service", "description"], data.services.map((service) =>
        h("tr", {}, h("td", {}, service.name),
          h("td", {class: "muted"}, service.description))))),
    h("section", {class: "card", id: "health"}, h("h2", {}, "Readiness checks"),
      table(["check", "state"], data.health.map((check) =>
        h("tr", {}, h("td", {}, check.name), h("td", {}, status(check.ok ? "ok" : "bad")))))));
}

function draw(data, page, note, round) {
  page.replaceChildren(charts(data), failures(data), services(data));
  page.dataset.refreshed = round;
  note.textContent = `Last ${MINUTES} minutes; refreshed every ${REFRESH_MS / 1000} s, ` +
    `last at ${new Date().toLocaleTimeString()}.`;
}

export async function overview() {
  const mine = view.count;
  const page = h("div", {id: "overview"});
  const note = h("p", {class: "muted", id: "overview-refreshed", "aria-live": "polite"});
  const problems = h("div", {id: "overview-problem"});
  let round = 0;
  draw(await graph(QUERY, {minutes: MINUTES}), page, note, round);
  const refresh = async () => {
    if (mine !== view.count) return;
    // A hidden tab asks nothing; it catches up on the next turn after it is shown.
    if (!document.hidden) {
      try {
        const data = await graph(QUERY, {minutes: MINUTES});
        if (mine !== view.count) return;
        round += 1;
        draw(data, page, note, round);
        problems.replaceChildren();
      } catch (error) {
        if (error instanceof LoggedOut || mine !== view.count) return;
        problems.replaceChildren(problem(error));
      }
    }
    setTimeout(refresh, REFRESH_MS);
  };
  setTimeout(refresh, REFRESH_MS);
  return [h("h1", {}, "Overview"), note, problems, page];
}
