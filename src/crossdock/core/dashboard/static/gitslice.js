// The GitSlice page: slices with Pull (its job followed until it ends), recent sync runs, and
// a commit map lookup.

import {
  LoggedOut, SETTLED_JOB, graph, h, poll, problem, status, table, when,
} from "./common.js";

const JOB = "query ($id: ID!) { job(id: $id) { id task status attempts startedAt finishedAt } }";

function jobRow(job) {
  return h("tr", {"data-job": job.id}, h("td", {}, `#${job.id}`),
    h("td", {class: "mono"}, job.task), h("td", {}, status(job.status)),
    h("td", {}, job.attempts ?? ""), h("td", {}, when(job.finishedAt)));
}

export async function gitslice() {
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
