// Starts GraphiQL on the page that loaded it, sending queries to that page's own path.
// Kept out of the page so that a Content-Security-Policy without 'unsafe-inline' allows it.
"use strict";
(function () {
  var fetcher = GraphiQL.createFetcher({ url: window.location.pathname });
  ReactDOM.createRoot(document.getElementById("graphiql")).render(
    React.createElement(GraphiQL, { fetcher: fetcher }));
})();
