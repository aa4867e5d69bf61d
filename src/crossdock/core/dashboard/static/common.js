// What every page of the dashboard shares: building DOM nodes, asking the graph (with the
// token from sessionStorage), and polling while a person waits. Text from the graph is only
// ever set as textContent, never parsed as HTML.

export const TOKEN_KEY = "crossdock.dashboard.token";
const POLL_MS = 1000;
// A job in one of these has ended: nothing more to wait for.
export const SETTLED_JOB = new Set(["SUCCEEDED", "FAILED", "CANCELLED", "ABORTED"]);

// Each render bumps the count; a poll started by an older render stops.
export const view = {count: 0, loggedOut: (message) => { throw new Error(message); }};

export class LoggedOut extends Error {}

export class GraphError extends Error {
  constructor(message, code) {
    super(message);
    this.code = code;
  }
}

// One element: h("td", {class: "mono"}, "text", child, ...).
export function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === false || value === null || value === undefined) continue;
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function status(value) {
  return h("span", {class: `status status-${value}`, "data-status": value}, value);
}

export function when(value) {
  return value ? new Date(value).toLocaleString() : "";
}

export function table(headings, rows, attrs = {}) {
  return h("table", attrs,
    h("thead", {}, h("tr", {}, headings.map((text) => h("th", {}, text)))),
    h("tbody", {}, rows.length ? rows : h("tr", {}, h("td", {colspan: headings.length,
      class: "muted"}, "nothing here"))));
}

// The link to a list's next page (its route with the page's end cursor as "after"), or null
// on the last page.
export function older(route, params, pageInfo, text) {
  if (!pageInfo.hasNextPage) return null;
  const next = new URLSearchParams(params);
  next.set("after", pageInfo.endCursor);
  return h("a", {href: `${route}?${next}`, class: "older"}, text);
}

export function problem(error) {
  if (error instanceof GraphError && error.code === "FORBIDDEN") {
    return h("p", {class: "error", role: "alert"},
      `Refused: your token has the read role; this needs an admin token (${error.message}).`);
  }
  return h("p", {class: "error", role: "alert"}, error.message);
}

export async function graph(query, variables = {}) {
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (!token) throw new LoggedOut();
  let response;
  try {
    response = await fetch("graphql", {
      method: "POST",
      headers: {"content-type": "application/json", authorization: `Bearer ${token}`},
      body: JSON.stringify({query, variables}),
    });
  } catch (error) {
    throw new GraphError(`the dashboard did not answer (${error.message})`, "NETWORK");
  }
  let body;
  try {
    body = await response.json();
  } catch {
    throw new GraphError(`the graph answered HTTP ${response.status} without JSON`, "HTTP");
  }
  const errors = body.errors || [];
  const codes = errors.map((error) => (error.extensions || {}).code);
  if (response.status === 401 || codes.includes("UNAUTHENTICATED")) {
    sessionStorage.removeItem(TOKEN_KEY);
    view.loggedOut("That token is unknown, revoked or expired: paste a valid one.");
    throw new LoggedOut();
  }
  if (codes.includes("FORBIDDEN")) {
    const refused = errors[codes.indexOf("FORBIDDEN")];
    throw new GraphError(refused.message, "FORBIDDEN");
  }
  if (errors.length) throw new GraphError(errors[0].message, codes[0] || "ERROR");
  return body.data;
}

// Calls check(data) every second until it returns true or the page is left.
export function poll(query, variables, check) {
  const mine = view.count;
  const step = async () => {
    if (mine !== view.count) return;
    try {
      if (check(await graph(query, variables))) return;
    } catch (error) {
      if (error instanceof LoggedOut) return;
      throw error;
    }
    setTimeout(step, POLL_MS);
  };
  setTimeout(step, POLL_MS);
}

