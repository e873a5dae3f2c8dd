// The chat page's behaviour around the htmx ws extension: connection status, reconnects the
// extension does not do by itself, clearing the input after a send, suggestion chips, Enter to
// send, keeping the newest message in view, the draft panel's open state and the photo's name.
(function () {
  "use strict";

  const RETRYABLE_BY_HTMX = [1006, 1011, 1012, 1013]; // htmx-ext-ws reconnects after these itself
  const REFUSED = [4403, 4404]; // the server refused this chat: reconnecting would not help
  // Any other close (4013 "try again later" among them) is retried here with the backoff.
  // Failed attempts since the server last *answered* (not merely accepted): a server that
  // accepts and then closes must not be retried in a tight loop.
  let retries = 0;
  let socketWrapper = null;

  function backoff() {
    const delay = Math.random() * Math.min(30000, 1000 * 2 ** retries); // full jitter, capped
    retries += 1;
    return delay;
  }
  htmx.config.wsReconnectDelay = backoff;

  function dropDuplicateMessages() {
    // A reply published while the page was (re)loading its state can arrive twice.
    const seen = new Set();
    document.querySelectorAll("#messages > [id]").forEach(function (message) {
      if (seen.has(message.id)) message.remove();
      seen.add(message.id);
    });
  }

  function app() { return document.getElementById("chat-app"); }

  function applyServiceMode() {
    // The server tells the service level (#service-mode); the socket state is ours.
    const mode = document.getElementById("service-mode");
    const input = document.getElementById("message");
    if (!mode) return;
    // A finished presskit's box says what can be done now, while the chat takes writes.
    const help = document.getElementById("composer-help");
    const writable = ["optimal", "degraded", "limited"].includes(mode.dataset.level);
    const placeholder = (writable && help && help.dataset.placeholder) || mode.dataset.placeholder;
    if (input && placeholder) input.placeholder = placeholder;
    if (mode.dataset.level === "emergency") closeForEmergency();
    const status = document.getElementById("connection");
    if (!status) return;
    status.dataset.mode = mode.dataset.level;
    if (status.dataset.state === "open") status.textContent = mode.dataset.connection;
  }

  let closing = false;
  function closeForEmergency() {
    // Nothing can be answered now: the box goes at once, then the page becomes the status page,
    // which comes back to the chat by itself.
    if (closing) return;
    closing = true;
    document.querySelectorAll("#composer textarea, #composer button").forEach(function (control) {
      control.disabled = true;
    });
    setTimeout(function () { window.location.reload(); }, 1500);
  }

  function setConnection(state, text) {
    const status = document.getElementById("connection");
    if (!status) return;
    status.dataset.state = state;
    status.textContent = text;
  }

  function scrollToNewest() {
    const stream = document.getElementById("stream");
    const target = stream && stream.firstElementChild ? stream : document.getElementById("messages");
    if (target && target.lastElementChild) target.lastElementChild.scrollIntoView({ block: "end", behavior: "smooth" });
  }

  document.addEventListener("htmx:wsOpen", function (event) {
    socketWrapper = event.detail.socketWrapper;
    setConnection("open", app().dataset.textConnected);
    applyServiceMode();
  });

  document.addEventListener("htmx:wsClose", function (event) {
    const code = event.detail.event.code;
    socketWrapper = event.detail.socketWrapper;
    if (REFUSED.includes(code)) {
      setConnection("refused", app().dataset.textRefused);
      return;
    }
    setConnection("reconnecting", app().dataset.textReconnecting);
    if (!RETRYABLE_BY_HTMX.includes(code)) {
      // e.g. 1001 when the server restarts: the extension would not retry by itself.
      setTimeout(function () { socketWrapper.reconnect(); }, backoff());
    }
  });

  document.addEventListener("htmx:wsConfigSend", function (event) {
    const form = event.target;
    // Do not queue answers while offline: they stay in the box until the socket is back.
    if (!socketWrapper || document.getElementById("connection").dataset.state !== "open") {
      event.preventDefault();
      document.getElementById("chat-error").textContent = app().dataset.textOfflineSend;
      return;
    }
    if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
      event.preventDefault();
      return;
    }
    delete event.detail.parameters.csrfmiddlewaretoken; // only the no-JavaScript post needs it
  });

  document.addEventListener("htmx:wsAfterSend", function (event) {
    if (event.target.id === "composer") {
      event.target.reset();
      document.getElementById("message").rows = 2;
      document.getElementById("message").focus();
    }
  });

  function fillComposer() {
    // Text the server gives the composer, once, if the artist has not typed there: the answer
    // being edited (to change, not retype), or a message refused for its pace.
    const input = document.getElementById("message");
    document.querySelectorAll("[data-composer-text]").forEach(function (source) {
      const text = source.dataset.composerText;
      delete source.dataset.composerText;
      if (!input || !text || input.value) return;
      input.value = text;
      input.rows = text.length > 120 ? 6 : 2; // a story gets room to be read and changed
      input.focus();
    });
  }

  // The draft panel: always open beside the chat on a wide screen; on a phone folded into its
  // summary until the artist opens it, a choice kept across its live re-renders (which replace it).
  const WIDE = window.matchMedia("(min-width: 880px)");
  let draftOpen = Boolean(document.querySelector("#draft-panel[open]")); // as the page came
  function applyDraftOpen() {
    const panel = document.getElementById("draft-panel");
    if (panel) panel.open = WIDE.matches || draftOpen;
  }
  document.addEventListener("click", function (event) {
    // On the click (a key on the summary clicks it too), not on the later toggle event: a
    // re-render arriving in between would replace the panel before the choice is known.
    if (event.target.closest("#draft-panel > summary")) draftOpen = !document.getElementById("draft-panel").open;
  });
  WIDE.addEventListener("change", applyDraftOpen);
  applyDraftOpen();

  document.addEventListener("htmx:wsAfterMessage", function () {
    retries = 0;
    fillComposer();
    dropDuplicateMessages();
    applyServiceMode();
    applyDraftOpen();
    scrollToNewest();
  });

  document.addEventListener("click", function (event) {
    const chip = event.target.closest("[data-chip]");
    if (!chip) return;
    const input = document.getElementById("message");
    const current = input.value.trim();
    input.value = current ? current.replace(/[,\s]*$/, "") + ", " + chip.dataset.chip : chip.dataset.chip;
    input.focus();
  });

  // Copy buttons (the public link, the private edit link): the link's absolute address.
  document.addEventListener("click", function (event) {
    const button = event.target.closest("[data-copy]");
    if (!button) return;
    const link = document.querySelector(button.dataset.copy);
    if (!link || !navigator.clipboard) return;
    navigator.clipboard.writeText(link.href).then(function () {
      const label = button.textContent;
      button.textContent = button.dataset.copied;
      setTimeout(function () { button.textContent = label; }, 2000);
    });
  });

  document.addEventListener("keydown", function (event) {
    if (event.target.id === "message" && event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      event.target.form.requestSubmit();
    }
  });

  // The photo panel posts over HTTP (htmx): a panel re-rendered over the socket has no CSRF
  // field, so the token the page was served with goes in the header.
  document.addEventListener("htmx:configRequest", function (event) {
    const token = document.querySelector("#composer input[name=csrfmiddlewaretoken]");
    if (token) event.detail.headers["X-CSRFToken"] = token.value;
  });

  // The photo and rider pickers' inputs are hidden under their labels: the chosen file is named beside it.
  document.addEventListener("change", function (event) {
    if (event.target.id !== "photo-file" && event.target.id !== "rider-file") return;
    const file = event.target.files[0];
    document.getElementById(event.target.id + "-name").textContent = file ? file.name : "";
  });

  // A refused photo or rider PDF (400, 403, 503) comes back as its part of the panel with the reason: show it.
  document.addEventListener("htmx:beforeSwap", function (event) {
    if (event.detail.target && ["photo", "rider-pdf"].includes(event.detail.target.id) && [400, 403, 503].includes(event.detail.xhr.status)) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  document.addEventListener("DOMContentLoaded", scrollToNewest);
})();
