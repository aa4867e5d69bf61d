// The GitSlice page: slices with Pull, Push and Reindex (each job followed until it ends, then
// the sync run it made shown), the sync runs as a timeline (a lane per slice, a bar per run),
// a run's commits, the linked pull requests and issues, and a commit map lookup.

import {svg} from "./charts.js";
import {
  LoggedOut, SETTLED_JOB, graph, h, poll, problem, status, table, when,
} from "./common.js";

// How far back the timeline reaches, and how many runs it asks for.
const DAY_MS = 24 * 60 * 60 * 1000;
const RUNS = 100;
const RUN = "id sliceName kind state commits startedAt finishedAt error upstreamRef sliceRef"
  + " upstreamSha sliceSha";
const RESULT = `${RUN} pullLink { upstreamPr upstreamUrl state } delivery { id }`;
const JOB = `query ($id: ID!) { job(id: $id) { id task status attempts startedAt finishedAt
  syncRuns { ${RESULT} } } }`;
const ACTIONS = {
  pull: {label: "Pull", mutation: "pullSlice", arguments: ""},
  reindex: {label: "Reindex", mutation: "reindexSlice", arguments: ""},
  push: {label: "Push", mutation: "pushSlice",
    arguments: ", branch: $branch, message: $message, force: $force, raisePr: $raisePr",
    variables: ", $branch: String!, $message: String, $force: Boolean, $raisePr: Boolean"},
};

// A link only for a web address: anything else from the graph stays text.
function link(url, text) {
  return /^https?:\/\//i.test(url || "")
    ? h("a", {href: url, rel: "noopener noreferrer", target: "_blank"}, text) : text;
}

function short(sha) {
  return (sha || "").slice(0, 12);
}

function took(run) {
  return run.finishedAt
    ? `${((new Date(run.finishedAt) - new Date(run.startedAt)) / 1000).toFixed(1)} s` : "";
}

function jobRow(job) {
  return h("tr", {"data-job": job.id},
    h("td", {}, h("a", {href: `#/jobs/${job.id}`}, `#${job.id}`)),
    h("td", {class: "mono"}, job.task), h("td", {}, status(job.status)),
    h("td", {}, job.attempts ?? ""), h("td", {}, when(job.finishedAt)));
}

// What a finished run did, in a sentence or two, with its pull request if it raised one.
function runResult(run) {
  const what = `${run.kind} #${run.id} of ${run.sliceName}`;
  if (run.state === "failed" || run.state === "interrupted") {
    return h("p", {class: "error", "data-run": run.id}, `The ${what} ${run.state}: `,
      h("span", {class: "mono"}, run.error || "no reason recorded"));
  }
  const lines = [`The ${what} ${run.state}`];
  if (run.kind === "push") {
    lines.push(`: ${run.commits} slice commit(s) of ${run.sliceRef} to upstream `
      + `${run.upstreamRef} at ${short(run.upstreamSha)}.`);
  } else if (run.kind === "pull" || run.kind === "pull_branch") {
    lines.push(`: ${run.commits} commit(s) mapped, upstream ${run.upstreamRef} at `
      + `${short(run.upstreamSha)}.`);
  } else {
    lines.push(`: ${run.commits} commit(s).`);
  }
  const pr = run.pullLink;
  return h("p", {class: "notice", "data-run": run.id}, lines.join(""),
    pr ? [" Upstream pull request ", link(pr.upstreamUrl, `#${pr.upstreamPr}`),
      ` (${pr.state}).`] : null);
}

export async function gitslice() {
  const data = await graph(`{
    slices { name upstreamUrl upstreamBranch sliceUrl sliceBranch mode forge lastUpstreamSha
             mappedCommits upstream { url }
             pullLinks { upstreamPr slicePr upstreamBranch sliceBranch upstreamUrl state
                         createdAt }
             copies { kind upstreamId sliceId sliceUrl createdAt } }
    recentSyncRuns(first: ${RUNS}) { nodes { ${RUN} } }
  }`);
  const names = data.slices.map((slice) => slice.name);
  const timeline = h("div", {id: "timeline"});
  const runs = h("tbody", {});
  const detail = h("div", {id: "run-detail", "aria-live": "polite"});
  const drawRuns = (nodes) => {
    timeline.replaceChildren(runTimeline(names, nodes, (run) => showRun(run.id, detail)));
    runs.replaceChildren(...runRows(nodes.slice(0, 10)));
  };
  drawRuns(data.recentSyncRuns.nodes);

  const jobs = h("tbody", {});
  const jobTable = h("table", {id: "jobs"}, h("thead", {}, h("tr", {},
    ["job", "task", "status", "tries", "finished"].map((text) => h("th", {}, text)))), jobs);
  const result = h("div", {id: "pull-result", "aria-live": "polite"});
  const outcome = h("div", {id: "run-result", "aria-live": "polite"});
  const cells = new Map();
  const buttons = [];
  // After a job ends, the slice's row and the runs show where things now stand.
  const refresh = async (name) => {
    const {slice, recentSyncRuns} = await graph(`query ($name: String!) {
      slice(name: $name) { lastUpstreamSha mappedCommits }
      recentSyncRuns(first: ${RUNS}) { nodes { ${RUN} } }
    }`, {name});
    drawRuns(recentSyncRuns.nodes);
    const [upstream, mapped] = cells.get(name);
    upstream.textContent = short(slice.lastUpstreamSha);
    mapped.textContent = slice.mappedCommits;
  };
  const start = async (kind, name, options = {}) => {
    const action = ACTIONS[kind];
    for (const button of buttons) button.disabled = true;
    const enable = () => { for (const button of buttons) button.disabled = false; };
    result.replaceChildren();
    outcome.replaceChildren();
    let job;
    try {
      job = Object.values(await graph(
        `mutation ($name: String!${action.variables || ""}) {
          ${action.mutation}(name: $name${action.arguments}) { id task status } }`,
        {name, ...options}))[0];
    } catch (error) {
      if (!(error instanceof LoggedOut)) result.replaceChildren(problem(error));
      enable();
      return;
    }
    let row = jobRow(job);
    jobs.prepend(row);
    result.replaceChildren(h("p", {class: "notice"},
      `${action.label} of ${name} queued as job #${job.id}.`));
    poll(JOB, {id: job.id}, (answer) => {
      const fresh = jobRow(answer.job);
      row.replaceWith(fresh);
      row = fresh;
      if (!SETTLED_JOB.has(answer.job.status)) return false;
      enable();
      const made = answer.job.syncRuns;
      outcome.replaceChildren(...(made.length ? made.map(runResult)
        : [h("p", {class: "muted"}, `Job #${job.id} ended ${answer.job.status} `
          + "without a sync run (see the jobs page).")]));
      refresh(name).catch((error) => {
        if (!(error instanceof LoggedOut)) result.replaceChildren(problem(error));
      });
      return true;
    });
  };
  const push = pushForm(data.slices, (name, options) => start("push", name, options));
  const button = (kind, slice) => {
    const made = h("button", {type: "button", class: kind, "data-slice": slice.name},
      ACTIONS[kind].label);
    made.addEventListener("click", () => (kind === "push" ? push.open(slice.name)
      : start(kind, slice.name)));
    buttons.push(made);
    return made;
  };
  return [
    h("h1", {}, "GitSlice"),
    h("section", {class: "card"}, h("h2", {}, "Slices"),
      table(["slice", "upstream", "slice repository", "mode", "last upstream", "mapped", ""],
        data.slices.map((slice) => {
          const upstream = h("td", {class: "mono last-upstream"}, short(slice.lastUpstreamSha));
          const mapped = h("td", {class: "mapped"}, slice.mappedCommits);
          cells.set(slice.name, [upstream, mapped]);
          return h("tr", {"data-slice": slice.name}, h("td", {}, slice.name),
            h("td", {class: "mono"}, `${slice.upstreamUrl} ${slice.upstreamBranch}`),
            h("td", {class: "mono"}, `${slice.sliceUrl} ${slice.sliceBranch}`),
            h("td", {}, slice.mode), upstream, mapped,
            h("td", {class: "actions"}, ["pull", "push", "reindex"].map((kind) =>
              button(kind, slice))));
        }), {id: "slices"}),
      push.form, result, outcome),
    h("section", {class: "card"}, h("h2", {}, "Jobs started here"), jobTable),
    h("section", {class: "card"}, h("h2", {}, "Sync runs"),
      h("p", {class: "muted"}, `The last ${RUNS} runs of the last 24 hours, a lane per slice; `
        + "point at a run for its summary, click it for its commits."),
      timeline, detail,
      h("table", {id: "runs"}, h("thead", {}, h("tr", {},
        ["run", "slice", "kind", "state", "commits", "started", "took", "error"].map((text) =>
          h("th", {}, text)))), runs)),
    linked(data.slices),
    commitLookup(names),
  ];
}

// The push form under the slices, opened by a slice's Push button.
function pushForm(slices, submit) {
  const forges = new Map(slices.map((slice) => [slice.name, slice.forge]));
  const title = h("strong", {});
  const branch = h("input", {name: "branch", id: "push-branch", required: true,
    placeholder: "a slice branch"});
  const message = h("input", {name: "message", id: "push-message", size: 30,
    placeholder: "the branch tip's"});
  const force = h("input", {type: "checkbox", name: "force", id: "push-force"});
  const raisePr = h("input", {type: "checkbox", name: "raisePr", id: "push-raise-pr"});
  const prLabel = h("label", {class: "check"}, raisePr, "Open the upstream pull request");
  const form = h("form", {class: "filters", id: "push-form", hidden: true}, title,
    h("label", {}, "Branch", branch), h("label", {}, "Commit message", message),
    h("label", {class: "check"}, force, "Replace the upstream branch"), prLabel,
    h("button", {type: "submit", class: "primary"}, "Push"),
    h("button", {type: "button", onclick: () => { form.hidden = true; }}, "Close"));
  let current = null;
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    submit(current, {branch: branch.value.trim(), message: message.value.trim() || null,
      force: force.checked, raisePr: raisePr.checked});
  });
  return {
    form,
    open(name) {
      current = name;
      title.textContent = `Push a branch of ${name} upstream`;
      // Only a slice on a forge can have its upstream pull request opened.
      prLabel.hidden = !forges.get(name);
      raisePr.checked = false;
      form.hidden = false;
      branch.focus();
    },
  };
}

// The runs as bars in time, a lane per slice, coloured by state (dashboard.css).
function runTimeline(names, nodes, choose) {
  const now = Date.now();
  const shown = nodes.filter((run) => now - new Date(run.startedAt) <= DAY_MS);
  if (!shown.length) return h("p", {class: "muted"}, "No sync run in the last 24 hours.");
  const width = 1000;
  const left = 150;
  const lane = 26;
  const top = 6;
  const first = Math.min(...shown.map((run) => new Date(run.startedAt).getTime()));
  // The window: from the first run shown (a little before) to now.
  const from = first - Math.max((now - first) * 0.02, 1000);
  const x = (time) => left + ((time - from) / (now - from)) * (width - left - 10);
  const lanes = names.filter((name) => shown.some((run) => run.sliceName === name));
  const height = top + lanes.length * lane + 22;
  const ticks = [0, 1, 2, 3, 4].map((step) => from + ((now - from) * step) / 4);
  const chart = svg("svg", {viewBox: `0 0 ${width} ${height}`, class: "timeline",
    role: "img", "aria-label": "sync runs over time"},
  ...lanes.map((name, index) => svg("g", {class: "lane", "data-slice": name},
    svg("rect", {x: 0, y: top + index * lane, width, height: lane, class: "lane-band"}),
    svg("text", {x: 6, y: top + index * lane + 17, class: "lane-name"}, name))),
  ...ticks.map((time, step) => svg("g", {class: "tick"},
    svg("line", {x1: x(time), x2: x(time), y1: top, y2: height - 18}),
    // The last label ends at its line, so it stays inside the picture.
    svg("text", {x: x(time), y: height - 4, "text-anchor": step === 4 ? "end" : "middle"},
      new Date(time).toLocaleTimeString()))),
  ...shown.map((run) => {
    const index = lanes.indexOf(run.sliceName);
    const begin = x(new Date(run.startedAt).getTime());
    const end = x(run.finishedAt ? new Date(run.finishedAt).getTime() : now);
    const bar = svg("rect", {x: begin, y: top + index * lane + 5, height: lane - 10,
      width: Math.max(end - begin, 4), rx: 2, class: `run run-${run.state}`,
      "data-run": run.id, "data-slice": run.sliceName, "data-state": run.state, tabindex: 0},
    svg("title", {}, [`${run.kind} #${run.id}: ${run.state}`,
      `${run.commits} commit(s)`, `started ${when(run.startedAt)}`,
      run.finishedAt ? `took ${took(run)}` : "still running",
      run.error ? `error: ${run.error}` : ""].filter(Boolean).join("\n")));
    bar.addEventListener("click", () => choose(run));
    return bar;
  }));
  return chart;
}

// A run, clicked in the timeline: what it did, its commits, its job and the delivery behind it.
async function showRun(id, detail) {
  let found;
  try {
    found = await graph(`query ($id: ID!) { syncRun(id: $id) { ${RESULT}
      job { id } commitList(first: 20) { upstreamSha sliceSha } } }`, {id});
  } catch (error) {
    if (!(error instanceof LoggedOut)) detail.replaceChildren(problem(error));
    return;
  }
  const run = found.syncRun;
  if (!run) {
    detail.replaceChildren(h("p", {class: "muted"}, `Run #${id} is gone.`));
    return;
  }
  const causes = [run.job ? `job #${run.job.id}` : "by hand",
    run.delivery ? `webhook delivery #${run.delivery.id}` : null].filter(Boolean).join(", ");
  detail.replaceChildren(h("div", {class: "run-detail", "data-run": run.id},
    runResult(run), h("p", {class: "muted"}, `Started ${when(run.startedAt)} (${causes}).`),
    run.job ? h("p", {}, h("a", {href: `#/jobs/${run.job.id}`}, `Open job #${run.job.id}`))
      : null,
    run.delivery ? h("p", {}, h("a", {href: `#/webhooks/${run.delivery.id}`},
      `Open delivery #${run.delivery.id}`)) : null,
    run.commitList.length
      ? table(["upstream commit", "slice commit"], run.commitList.map((pair) => h("tr", {},
        h("td", {class: "mono"}, pair.upstreamSha), h("td", {class: "mono"}, pair.sliceSha))),
      {id: "run-commits"})
      : h("p", {class: "muted"}, "It wrote no commit map entries.")));
}

function runRows(runs) {
  return runs.map((run) => h("tr",
    {"data-run": run.id}, h("td", {}, `#${run.id}`), h("td", {}, run.sliceName),
    h("td", {}, run.kind), h("td", {}, status(run.state)), h("td", {}, run.commits),
    h("td", {}, when(run.startedAt)), h("td", {}, took(run)),
    h("td", {class: "mono"}, run.error || "")));
}

// Each slice's upstream pull requests and what was copied from upstream (issues, reviews).
function linked(slices) {
  const rows = slices.flatMap((slice) => [
    ...slice.pullLinks.map((pr) => h("tr", {"data-slice": slice.name},
      h("td", {}, slice.name), h("td", {}, "pull request"),
      h("td", {}, link(pr.upstreamUrl, `upstream #${pr.upstreamPr}`),
        h("span", {class: "muted"}, ` ${pr.upstreamBranch}`)),
      h("td", {}, pr.slicePr ? `#${pr.slicePr} ` : "", h("span", {class: "muted"},
        pr.sliceBranch)),
      h("td", {}, status(pr.state)), h("td", {}, when(pr.createdAt)))),
    ...slice.copies.map((copy) => h("tr", {"data-slice": slice.name},
      h("td", {}, slice.name), h("td", {}, copy.kind.replace("_", " ")),
      h("td", {}, `upstream ${copy.upstreamId}`),
      h("td", {}, link(copy.sliceUrl, `slice ${copy.sliceId}`)), h("td", {}, "copied"),
      h("td", {}, when(copy.createdAt)))),
  ]);
  return h("section", {class: "card"}, h("h2", {}, "Linked pull requests and issues"),
    table(["slice", "what", "upstream", "slice", "state", "since"], rows, {id: "linked"}));
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
