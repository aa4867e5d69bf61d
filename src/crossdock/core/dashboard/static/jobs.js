// The jobs page: the core's job queue by status and queue, with Retry (a failed, cancelled or
// aborted job) and Cancel (a queued or running one), each followed until the job settles.

import {
  LoggedOut, SETTLED_JOB, graph, h, older, poll, problem, status, table, when,
} from "./common.js";

const STATUSES = ["QUEUED", "RUNNING", "SUCCEEDED", "FAILED", "CANCELLED", "ABORTING", "ABORTED"];
const RETRYABLE = new Set(["FAILED", "CANCELLED", "ABORTED"]);
const CANCELLABLE = new Set(["QUEUED", "RUNNING"]);
const FIELDS = "id task queue status attempts args scheduledAt startedAt finishedAt";
const JOB = `query ($id: ID!) { job(id: $id) { ${FIELDS} } }`;

function action(label, mutation, job, result, replace) {
  const button = h("button", {type: "button", class: label.toLowerCase(), "data-job": job.id},
    label);
  button.addEventListener("click", async () => {
    button.disabled = true;
    let changed;
    try {
      changed = Object.values(await graph(
        `mutation ($id: ID!) { ${mutation}(id: $id) { ${FIELDS} } }`, {id: job.id}))[0];
    } catch (error) {
      if (!(error instanceof LoggedOut)) result.replaceChildren(problem(error));
      button.disabled = false;
      return;
    }
    const asked = `Job #${job.id}: ${label.toLowerCase()} asked`;
    const notice = h("p", {class: "notice"}, `${asked}; now ${changed.status}.`);
    result.replaceChildren(notice);
    replace(changed);
    poll(JOB, {id: job.id}, (answer) => {
      replace(answer.job);
      if (!SETTLED_JOB.has(answer.job.status)) return false;
      notice.textContent = `${asked}; it ended ${answer.job.status}.`;
      return true;
    });
  });
  return button;
}

function row(job, result) {
  let current = null;
  const replace = (fresh) => {
    const next = row(fresh, result);
    current.replaceWith(next);
    current = next;
  };
  const buttons = [];
  if (RETRYABLE.has(job.status)) buttons.push(action("Retry", "retryJob", job, result, replace));
  if (CANCELLABLE.has(job.status)) {
    buttons.push(action("Cancel", "cancelJob", job, result, replace));
  }
  current = h("tr", {"data-job": job.id}, h("td", {}, `#${job.id}`),
    h("td", {class: "mono"}, job.task), h("td", {}, job.queue), h("td", {}, status(job.status)),
    h("td", {}, job.attempts), h("td", {class: "mono"}, JSON.stringify(job.args)),
    h("td", {}, when(job.finishedAt || job.startedAt || job.scheduledAt)), h("td", {}, buttons));
  return current;
}

export async function jobs(params) {
  const state = params.get("status") || null;
  const after = params.get("after") || null;
  const data = await graph(`query ($status: JobStatus, $after: String) {
    jobs(status: $status, first: 25, after: $after) {
      nodes { ${FIELDS} }
      pageInfo { hasNextPage endCursor }
    }
  }`, {status: state, after});
  const select = h("select", {name: "status", id: "filter-job-status"},
    h("option", {value: ""}, "all"),
    STATUSES.map((value) => h("option", {value, selected: value === state}, value)));
  const filters = h("form", {class: "filters", id: "job-filters"},
    h("label", {}, "Status", select), h("button", {type: "submit"}, "Filter"));
  filters.addEventListener("submit", (event) => {
    event.preventDefault();
    location.hash = select.value ? `#/jobs?status=${select.value}` : "#/jobs";
  });
  const result = h("div", {id: "job-result", "aria-live": "polite"});
  const page = data.jobs;
  return [
    h("h1", {}, "Jobs"),
    h("section", {class: "card"}, filters, result,
      table(["job", "task", "queue", "status", "tries", "args", "when", ""],
        page.nodes.map((job) => row(job, result)), {id: "all-jobs"}),
      older("#/jobs", params, page.pageInfo, "Older jobs")),
  ];
}
