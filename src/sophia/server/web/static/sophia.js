// Sophia's own small script: chat niceties and copy buttons. No inline scripts anywhere (the CSP forbids them).
(function () {
  "use strict";
  function scrollChat() {
    var box = document.getElementById("messages");
    if (box) { box.scrollTop = box.scrollHeight; }
  }
  document.addEventListener("DOMContentLoaded", scrollChat);
  document.addEventListener("htmx:afterSwap", scrollChat);
  document.addEventListener("htmx:sseMessage", scrollChat);
  document.addEventListener("htmx:afterRequest", function (event) {
    var form = event.detail.elt;
    if (form && form.classList && form.classList.contains("composer") && event.detail.successful) {
      form.reset();
      var select = form.querySelector("select");
      if (select && select.dataset.keep) { select.value = select.dataset.keep; }
    }
  });
  document.addEventListener("change", function (event) {
    if (event.target.matches(".composer select")) { event.target.dataset.keep = event.target.value; }
  });
  document.addEventListener("keydown", function (event) {
    var area = event.target;
    if (area.matches && area.matches(".composer textarea") && event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      area.form.requestSubmit();
    }
  });
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) { return; }
    var field = document.querySelector(button.dataset.copy);
    if (field && navigator.clipboard) {
      navigator.clipboard.writeText(field.value).then(function () { button.textContent = "Copied"; });
    }
  });
})();
