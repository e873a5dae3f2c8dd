// The status page: back to the chat by itself once the service is ready again.
(function () {
  "use strict";

  document.addEventListener("DOMContentLoaded", function () {
    const readyUrl = document.querySelector("[data-ready-url]").dataset.readyUrl;
    setInterval(function () {
      fetch(readyUrl, { cache: "no-store" }).then(function (response) {
        if (response.ok) window.location.reload();
      }).catch(function () {});
    }, 10000);
  });
})();
