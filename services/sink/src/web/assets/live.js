// The reading room's only script: new statements appear on the latest page as the sink
// stores them (GET /v1/events). Without it, the page is the same, minus the live updates.
(function () {
  "use strict";
  var live = document.getElementById("live");
  var list = document.getElementById("statements");
  if (!live || !list || !window.EventSource || !window.fetch) return;
  var source = new EventSource(live.getAttribute("data-events"));
  live.hidden = false;
  live.textContent = live.getAttribute("data-on");
  source.onopen = function () {
    live.classList.remove("off");
    live.textContent = live.getAttribute("data-on");
  };
  source.onerror = function () {
    live.classList.add("off");
    live.textContent = live.getAttribute("data-off");
  };
  function place(card) {
    var key = Number(card.getAttribute("data-key"));
    var items = list.children;
    for (var i = 0; i < items.length; i++) {
      if (Number(items[i].getAttribute("data-key")) < key) {
        list.insertBefore(card, items[i]);
        return;
      }
    }
    list.appendChild(card);
  }
  source.addEventListener("stored", function (event) {
    var data;
    try { data = JSON.parse(event.data); } catch (e) { return; }
    fetch("/statements/" + encodeURIComponent(data.id) + "/card", { credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (!html) return;
        var template = document.createElement("template");
        template.innerHTML = html.trim();
        var card = template.content.firstElementChild;
        if (!card) return;
        Array.prototype.forEach.call(list.children, function (old) {
          if (old.getAttribute("data-id") === data.id) old.remove();
        });
        card.classList.add("fresh");
        place(card);
        var empty = document.getElementById("empty");
        if (empty) empty.hidden = true;
        live.textContent = live.getAttribute("data-new") + " " + data.title;
        setTimeout(function () { card.classList.remove("fresh"); }, 8000);
      })
      .catch(function () {});
  });
  source.addEventListener("gap", function () { window.location.reload(); });
})();
