// Allot admin center: progressive enhancement only. Every page works
// without this script; it adds selection counts, "select all", group
// suggestions while typing, the next page of users when the list is
// scrolled to the bottom, the rule editor's live sync, and Escape to close
// a panel.
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

  // The rule editor (New dynamic group, Edit membership rule): the builder
  // and the rule text follow each other while either is edited, through the
  // same server handler as the Update buttons, which do it without script.
  var ruleForm = document.getElementById("rule-form");
  if (ruleForm && window.fetch && window.FormData && window.URLSearchParams) {
    var syncURL = ruleForm.getAttribute("data-sync-url");
    var ruleText = document.getElementById("rule");
    var builder = document.getElementById("rule-builder");
    var syncStatus = document.getElementById("sync-status");
    var textWas = document.getElementById("text-was");
    var builderWas = document.getElementById("builder-was");
    var syncTimer = 0, syncSeq = 0;
    // Only the operators the chosen property takes are offered.
    var narrow = function (row) {
      var prop = row.querySelector("select.rule-property");
      var opSel = row.querySelector("select.rule-operator");
      if (!prop || !opSel) return;
      var chosen = prop.options[prop.selectedIndex];
      var ops = chosen && chosen.getAttribute("data-ops") ? chosen.getAttribute("data-ops").split(" ") : null;
      var firstOK = null;
      Array.prototype.forEach.call(opSel.options, function (o) {
        o.hidden = ops !== null && ops.indexOf(o.value) < 0;
        if (!o.hidden && firstOK === null) firstOK = o;
      });
      if (opSel.selectedIndex >= 0 && opSel.options[opSel.selectedIndex].hidden && firstOK) opSel.value = firstOK.value;
    };
    var narrowAll = function () { builder.querySelectorAll("tr[data-row]").forEach(narrow); };
    var sync = function (action) {
      var mine = ++syncSeq;
      var body = new URLSearchParams(new FormData(ruleForm));
      body.set("action", action);
      fetch(syncURL, { method: "POST", body: body, credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
        .then(function (x) {
          if (mine !== syncSeq) return;
          // A rule that does not build or parse yet leaves both sides as
          // typed: Save then uses the side that was edited, or says why not.
          if (x.error) { syncStatus.textContent = x.error; return; }
          syncStatus.textContent = "";
          if (action === "from-builder") {
            ruleText.value = x.text;
          } else {
            builder.innerHTML = x.builder;
            narrowAll();
          }
          textWas.value = x.textWas;
          builderWas.value = x.builderWas;
        })
        .catch(function () {});
    };
    var later = function (action, ms) {
      clearTimeout(syncTimer);
      syncTimer = setTimeout(function () { sync(action); }, ms);
    };
    builder.addEventListener("change", function (e) {
      if (e.target.classList.contains("rule-property")) narrow(e.target.closest("tr"));
      if (e.target.tagName === "SELECT") later("from-builder", 0);
    });
    builder.addEventListener("input", function (e) {
      if (e.target.classList.contains("rule-value")) later("from-builder", 400);
    });
    ruleText.addEventListener("input", function () { later("from-text", 500); });
    narrowAll();
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
