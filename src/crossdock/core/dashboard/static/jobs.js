// The jobs page: the core's job queue by status and queue, with Retry (a failed, cancelled or
// aborted job) and Cancel (a queued or running one), each followed until the job settles; and
// one job's page (#/jobs/<id>): its arguments, its history and the sync runs it ran.

import {
  LoggedOut, SETTLED_JOB, graph, h, older, poll, problem, status, table, when,
} from "./common.js";

const STATUSES = ["QUEUED", "RUNNING", "SUCCEEDED", "FAILED", "CANCELLED", "ABORTING", "ABORTED"];
const RETRYABLE = new Set(["FAILED", "CANCELLED", "ABORTED"]);
const CANCELLABLE = new Set(["QUEUED", "RUNNING"]);
const FIELDS = "id task queue status attempts args scheduledAt startedAt finishedAt";
// The job page's: the list's, its lock, history, and what it ran in GitSlice (through the
// gateway, which asks GitSlice's subgraph for Job.syncRuns).
const DETAIL = `${FIELDS} lock events { type at }
  syncRuns { id sliceName kind state commits error startedAt finishedAt }`;

const link = (job) => h("a", {href: `#/jobs/${job.id}`}, `#${job.id}`);

// Each button asks its mutation for `fields` and polls the job with them until it settles,
// calling replace(job) with each answer.
function buttons(job, result, replace, fields = FIELDS) {
  const found = [];
  if (RETRYABLE.has(job.status)) {
    found.push(action("Retry", "retryJob", job, result, replace, fields));
  }
  if (CANCELLABLE.has(job.status)) {
    found.push(action("Cancel", "cancelJob", job, result, replace, fields));
  }
  return found;
}

function action(label, mutation, job, result, replace, fields) {
  const button = h("button", {type: "button", class: label.toLowerCase(), "data-job": job.id},
    label);
  button.addEventListener("click", async () => {
    button.disabled = true;
    let changed;
    try {
      changed = Object.values(await graph(
        `mutation ($id: ID!) { ${mutation}(id: $id) { ${fields} } }`, {id: job.id}))[0];
    } catch (error) {
      if (!(error instanceof LoggedOut)) result.replaceChildren(problem(error));
      button.disabled = false;
      return;
    }
    const asked = `Job #${job.id}: ${label.toLowerCase()} asked`;
    const notice = h("p", {class: "notice"}, `${asked}; now ${changed.status}.`);
    result.replaceChildren(notice);
    replace(changed);
    poll(`query ($id: ID!) { job(id: $id) { ${fields} } }`, {id: job.id}, (answer) => {
      if (!answer.job) {
        notice.textContent = `${asked}; the job is gone.`;
        return true;
      }
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
  current = h("tr", {"data-job": job.id}, h("td", {}, link(job)),
    h("td", {class: "mono"}, job.task), h("td", {}, job.queue), h("td", {}, status(job.status)),
    h("td", {}, job.attempts), h("td", {class: "mono"}, JSON.stringify(job.args)),
    h("td", {}, when(job.finishedAt || job.startedAt || job.scheduledAt)),
    h("td", {}, buttons(job, result, replace)));
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

function fact(name, value, attrs = {}) {
  return h("tr", {}, h("th", {}, name), h("td", attrs, value ?? ""));
}

function runRows(runs) {
  return runs.map((run) => h("tr", {"data-run": run.id},
    h("td", {}, h("a", {href: "#/gitslice"}, `#${run.id}`)), h("td", {}, run.sliceName),
    h("td", {}, run.kind), h("td", {}, status(run.state)), h("td", {}, run.commits),
    h("td", {}, when(run.startedAt)), h("td", {}, when(run.finishedAt)),
    h("td", {class: "mono"}, run.error || "")));
}

// What the page shows of `job`; drawn again with each answer while a retry or cancel is followed.
function detail(job, result, replace) {
  const failed = job.status === "FAILED";
  return [
    h("section", {class: "card"},
      h("table", {id: "job-facts", class: "facts"}, h("tbody", {},
        fact("task", job.task, {class: "mono"}), fact("queue", job.queue),
        fact("status", status(job.status), {id: "job-status"}), fact("tries", job.attempts),
        fact("lock", job.lock || "none", {class: "mono"}),
        fact("scheduled", job.scheduledAt ? when(job.scheduledAt) : "when queued"),
        fact("started", when(job.startedAt)), fact("finished", when(job.finishedAt)))),
      failed ? h("p", {class: "muted", id: "job-error"}, "The queue keeps no error: the worker"
        + ` logged this job's (a job_failed line with job_id=${job.id}).`
        + (job.syncRuns.some((run) => run.error) ? " Its sync runs' errors are below." : ""))
        : null,
      buttons(job, result, replace, DETAIL), result),
    h("section", {class: "card"}, h("h2", {}, "Arguments"),
      h("pre", {id: "job-args"}, JSON.stringify(job.args, null, 2))),
    h("section", {class: "card"}, h("h2", {}, "History"),
      table(["event", "at"], job.events.map((event) => h("tr", {"data-event": event.type},
        h("td", {}, event.type), h("td", {}, when(event.at)))), {id: "job-events"})),
    h("section", {class: "card"}, h("h2", {}, "Sync runs (GitSlice)"),
      table(["run", "slice", "kind", "state", "commits", "started", "finished", "error"],
        runRows(job.syncRuns), {id: "job-runs"})),
  ];
}

export async function job(id) {
  const {job: found} = await graph(`query ($id: ID!) { job(id: $id) { ${DETAIL} } }`, {id});
  if (!found) return [h("h1", {}, `Job #${id}`), h("p", {class: "error"}, "No such job.")];
  const result = h("div", {id: "job-result", "aria-live": "polite"});
  const shown = h("div", {id: "job", "data-job": found.id});
  const replace = (fresh) => shown.replaceChildren(...detail(fresh, result, replace));
  replace(found);
  return [
    h("h1", {}, `Job #${found.id} `, h("span", {class: "muted"}, found.task)),
    h("p", {}, h("a", {href: "#/jobs"}, "All jobs")), shown,
  ];
}
