// Allot admin center: progressive enhancement only. Every page works
// without this script; it adds selection counts, "select all", group
// suggestions while typing, the next page of users when the list is
// scrolled to the bottom, and Escape to close a panel.
(function () {
  "use strict";

  function selectionBoxes(form) {
    var name = form.getAttribute("data-select-name");
    var sel = name ? 'input[type=checkbox][name="' + name + '"]' : 'input[type=checkbox][name=user], input[type=checkbox][name=group]';
    return form.querySelectorAll(sel);
  }

  function updateCount(form) {
    var counter = form.querySelector("[data-selected-count]");
    if (!counter) return;
    var max = parseInt(form.getAttribute("data-max") || "0", 10);
    var n = 0;
    selectionBoxes(form).forEach(function (b) { if (b.checked) n++; });
    var text = n + " selected";
    if (max > 0) text += n > max ? " — select at most " + max : " (up to " + max + ")";
    counter.textContent = text;
    counter.classList.toggle("over", max > 0 && n > max);
  }

  document.querySelectorAll("form[data-select-form]").forEach(function (form) {
    form.addEventListener("change", function (e) {
      var t = e.target;
      if (t.hasAttribute && t.hasAttribute("data-select-all")) {
        var table = t.closest("table");
        table.querySelectorAll("tbody input[type=checkbox]").forEach(function (b) { b.checked = t.checked; });
      }
      updateCount(form);
    });
    updateCount(form);
  });

  // Suggested groups while typing (the Search button does the same without script).
  var search = document.querySelector("input[data-suggest-url]");
  if (search && window.fetch) {
    var list = document.getElementById("suggested-groups");
    var chosen = document.getElementById("selected-groups");
    var form = search.form;
    var timer = 0, seq = 0;
    var moveToSelected = function (box) {
      var li = box.closest("li");
      var empty = chosen.querySelector("li.empty");
      if (empty) empty.remove();
      chosen.appendChild(li);
      updateCount(form);
    };
    list.addEventListener("change", function (e) {
      if (e.target.name === "group" && e.target.checked) moveToSelected(e.target);
    });
    search.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        var mine = ++seq;
        var params = new URLSearchParams();
        params.set("q", search.value);
        chosen.querySelectorAll("input[name=group]").forEach(function (b) { if (b.checked) params.append("selected", b.value); });
        fetch(search.getAttribute("data-suggest-url") + "?" + params.toString(), { credentials: "same-origin" })
          .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
          .then(function (html) { if (mine === seq) list.innerHTML = html; })
          .catch(function () {});
      }, 250);
    });
  }

  // The next page of users when the list is scrolled to the bottom.
  if ("IntersectionObserver" in window && window.fetch) {
    document.querySelectorAll("a[data-load-more]").forEach(function (a) {
      var target = document.querySelector(a.getAttribute("data-target"));
      if (!target) return;
      var busy = false;
      var io = new IntersectionObserver(function (entries) {
        entries.forEach(function (e) { if (e.isIntersecting) load(); });
      }, { root: a.closest(".panel-body") || null });
      function load() {
        var href = a.getAttribute("href");
        if (busy || !href) return;
        busy = true;
        a.textContent = "Loading more users…";
        fetch(href + (href.indexOf("?") >= 0 ? "&" : "?") + "fragment=rows", { credentials: "same-origin" })
          .then(function (r) {
            if (!r.ok) return Promise.reject(r.status);
            var next = r.headers.get("X-Next-Page") || "";
            return r.text().then(function (html) { return { html: html, next: next }; });
          })
          .then(function (x) {
            target.insertAdjacentHTML("beforeend", x.html);
            var form = target.closest("form");
            if (form) updateCount(form);
            if (x.next) {
              a.setAttribute("href", x.next);
              a.textContent = "Load more users";
              busy = false;
              io.unobserve(a);
              io.observe(a);
            } else {
              io.disconnect();
              a.parentNode.removeChild(a);
            }
          })
          .catch(function () { a.textContent = "Load more users"; busy = false; });
      }
      io.observe(a);
    });
  }

  // Escape closes the open panel or dialog; focus starts in it.
  var overlay = document.querySelector(".overlay");
  if (overlay) {
    var title = overlay.querySelector("h2");
    if (title && !overlay.querySelector("[autofocus]")) {
      title.setAttribute("tabindex", "-1");
      title.focus();
    }
    document.addEventListener("keydown", function (e) {
      if (e.key !== "Escape") return;
      var close = overlay.querySelector("[data-close]");
      if (close) window.location.href = close.getAttribute("href");
    });
  }
})();
