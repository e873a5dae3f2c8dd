// The public page's script: the player, loaded on the booker's tap and not before (until then
// the page asks nothing of the music service: no request, no cookie; without script the tap
// opens the link), and the counts the artist sees: a play, a link followed (a beacon to this
// site, with nothing about the visitor).
(function () {
  "use strict";
  const page = document.querySelector("[data-count-url]");

  function counted(event) {
    if (!page || !navigator.sendBeacon) return;
    navigator.sendBeacon(page.dataset.countUrl, new URLSearchParams({ event: event, version: page.dataset.version }));
  }

  document.addEventListener("click", function (event) {
    if (event.target.closest(".epk__link")) {
      counted("link");
      return;
    }
    const play = event.target.closest(".player__play");
    if (!play) return;
    event.preventDefault();
    const player = play.closest(".player");
    const frame = document.createElement("iframe");
    frame.className = "player__frame";
    frame.src = player.dataset.embedUrl;
    frame.title = player.dataset.title;
    frame.allow = "autoplay; encrypted-media; fullscreen; picture-in-picture";
    frame.referrerPolicy = "strict-origin-when-cross-origin";
    player.replaceChildren(frame);
    player.classList.add("player--loaded");
    frame.focus();
    counted("play");
  });
})();
