// Starts ReDoc on /redoc; a file, not inline script, so the page's policy can forbid those.
"use strict";
(function () {
  const root = document.getElementById("redoc");
  Redoc.init(root.dataset.openapi, {}, root);
})();
