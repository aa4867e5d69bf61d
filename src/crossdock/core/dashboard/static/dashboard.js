// The crossdock dashboard: plain DOM, no build step, no library. It talks to the admin graph
// through the dashboard's own /graphql (forwarded to the gateway) with the admin token the
// person pasted, kept in sessionStorage (gone with the tab, never in a URL or a cookie).
// This module logs in and routes; each page is a module of its own.

import {LoggedOut, TOKEN_KEY, graph, h, problem, view} from "./common.js";
import {gateway} from "./gateway.js";
import {gitslice} from "./gitslice.js";
import {job, jobs} from "./jobs.js";
import {message, outbound} from "./outbound.js";
import {overview} from "./overview.js";
import {repository} from "./repositories.js";
import {delivery, webhooks} from "./webhooks.js";

// The pages, by the first part of the route (#/<page>/<rest>?<params>). A new page is a module
// of its own that exports one function returning the page's nodes, a line here and a link in
// index.html's nav.
const PAGES = {
  overview: () => overview(),
  webhooks: (rest, params) => (rest[0] ? delivery(rest[0]) : webhooks(params)),
  gitslice: () => gitslice(),
  jobs: (rest, params) => (rest[0] ? job(rest[0]) : jobs(params)),
  outbound: (rest, params) => (rest[0] ? message(rest[0]) : outbound(params)),
  gateway: () => gateway(),
  // Reached from a delivery's page (no link in the nav): a repository by its URL, encoded.
  repositories: (rest, params) => repository(rest, params),
};

const main = document.getElementById("main");
const bar = document.getElementById("top");

function showLogin(message) {
  view.count += 1;
  bar.hidden = true;
  const input = h("input", {type: "password", name: "token", id: "token", required: true,
    autocomplete: "off", placeholder: "cdx_..."});
  const form = h("form", {class: "login", id: "login"},
    h("h1", {}, "crossdock dashboard"),
    h("p", {class: "muted"}, "Paste the admin token `crossdock up` printed (or one made with ",
      h("code", {}, "crossdock admin token create"), ")."),
    message ? h("p", {class: "error", role: "alert"}, message) : null,
    h("label", {for: "token"}, "Token", input),
    h("button", {type: "submit", class: "primary"}, "Log in"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, input.value.trim());
    try {
      await graph("{ services { name } }");
    } catch (error) {
      if (!(error instanceof LoggedOut)) form.append(problem(error));
      return;
    }
    if (!location.hash || location.hash === "#/login") location.hash = "#/overview";
    else render();
  });
  main.replaceChildren(form);
  input.focus();
}

async function render() {
  view.count += 1;
  const mine = view.count;
  if (!sessionStorage.getItem(TOKEN_KEY)) {
    showLogin();
    return;
  }
  const [path, query] = (location.hash.slice(1) || "/overview").split("?");
  const parts = path.split("/").filter(Boolean);
  const params = new URLSearchParams(query || "");
  bar.hidden = false;
  for (const link of bar.querySelectorAll("nav a")) {
    link.classList.toggle("current", link.dataset.page === parts[0]);
  }
  let content;
  try {
    const page = PAGES[parts[0]] || PAGES.overview;
    content = await page(parts.slice(1), params);
  } catch (error) {
    if (error instanceof LoggedOut) return;
    content = [problem(error)];
  }
  if (mine !== view.count) return;
  main.replaceChildren(...content);
  main.dataset.page = parts[0] in PAGES ? parts[0] : "overview";
  // What is drawn, for whoever waits for it (the browser tests).
  main.dataset.route = location.hash;
}

document.getElementById("logout").addEventListener("click", () => {
  sessionStorage.removeItem(TOKEN_KEY);
  showLogin("Logged out.");
});
view.loggedOut = showLogin;
window.addEventListener("hashchange", render);
render();
