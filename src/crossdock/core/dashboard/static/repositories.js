// A repository as both services know it (#/repositories/<url, encoded>): the slices GitSlice
// cut from it or into it, and the webhook deliveries whose body names it, newest first, in
// pages. One query through the gateway, which joins GitSlice's Repository and the webhooks
// service's by the URL. Without a URL, a form to look one up (any spelling of it).

import {graph, h, older, status, table, when} from "./common.js";

const REPOSITORY = `query ($url: String!, $after: String) {
  repository(url: $url) {
    url
    slices { name upstreamBranch sliceBranch mode upstream { url } sliceRepository { url } }
    deliveries(first: 20, after: $after) {
      nodes { id source eventType action status receivedAt }
      pageInfo { hasNextPage endCursor }
    }
  }
}`;

// The route of a repository's page, from its URL (any spelling: the graph normalizes it).
export function repositoryRoute(url) {
  return `#/repositories/${encodeURIComponent(url)}`;
}

function lookUp(value) {
  const input = h("input", {type: "text", name: "url", id: "repository-url", size: 48,
    required: true, value: value || "", placeholder: "github.com/org/repo (any spelling)"});
  const form = h("form", {class: "toolbar", id: "repository-lookup"},
    h("label", {for: "repository-url"}, "Repository "), input,
    h("button", {type: "submit"}, "Look up"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (input.value.trim()) location.hash = repositoryRoute(input.value.trim());
  });
  return h("section", {class: "card"}, form);
}

function sliceRows(slices, url) {
  return slices.map((item) => {
    const upstream = item.upstream.url === url;
    return h("tr", {"data-slice": item.name},
      h("td", {}, h("a", {href: "#/gitslice"}, item.name)),
      h("td", {}, upstream ? "upstream" : "slice"),
      h("td", {class: "mono"}, upstream ? item.upstreamBranch : item.sliceBranch),
      h("td", {class: "mono"}, upstream ? item.sliceRepository.url : item.upstream.url),
      h("td", {}, item.mode));
  });
}

function deliveryRows(deliveries) {
  return deliveries.map((found) => h("tr", {"data-delivery": found.id},
    h("td", {}, h("a", {href: `#/webhooks/${found.id}`}, `#${found.id}`)),
    h("td", {}, found.source),
    h("td", {}, [found.eventType, found.action].filter(Boolean).join(".")),
    h("td", {}, status(found.status)), h("td", {}, when(found.receivedAt))));
}

export async function repository(rest, params) {
  if (!rest[0]) return [h("h1", {}, "Repositories"), lookUp("")];
  let url;
  try {
    // Encoded, the URL is one part of the route; typed by hand, its slashes split it.
    url = decodeURIComponent(rest.join("/"));
  } catch {
    return [h("h1", {}, "Repositories"), lookUp(""),
      h("p", {class: "error", role: "alert"}, "That address does not hold a repository URL.")];
  }
  const {repository: found} = await graph(REPOSITORY, {url,
    after: params.get("after") || null});
  const route = repositoryRoute(found.url);
  return [
    h("h1", {}, "Repository ", h("span", {class: "mono", id: "repository"}, found.url)),
    lookUp(found.url),
    h("section", {class: "card"}, h("h2", {}, "Slices (GitSlice)"),
      h("p", {class: "muted"}, "Slices cut from this repository (upstream) or into it (slice)."),
      table(["slice", "this repository is", "branch", "other side", "mode"],
        sliceRows(found.slices, found.url), {id: "repository-slices"})),
    h("section", {class: "card"}, h("h2", {}, "Deliveries (webhooks)"),
      h("p", {class: "muted"}, "Webhook deliveries whose body names this repository, newest"
        + " first (recorded as a worker reads them)."),
      table(["delivery", "source", "event", "status", "received"],
        deliveryRows(found.deliveries.nodes), {id: "repository-deliveries"}),
      older(route, params, found.deliveries.pageInfo, "Older deliveries")),
  ];
}
