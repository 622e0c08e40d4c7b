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

/* == forms and keyboard (helper W2) == */
// Keyboard use of the panels and dialogs, which are pages of their own:
// Tab stays inside the open one, closing it puts focus back on the button
// or link that opened it, and a group picked with Space among the
// suggestions keeps the focus. Also: a page that answers a POST with a
// one-time secret becomes the GET in the history, so reload and Back do
// not send the form again.
(function () {
  "use strict";
  var KEY = "allot-return-focus";
  var MAX_AGE = 30 * 60 * 1000;

  function load() {
    try { return JSON.parse(sessionStorage.getItem(KEY) || "{}") || {}; } catch (e) { return {}; }
  }
  function save(m) {
    try { sessionStorage.setItem(KEY, JSON.stringify(m)); } catch (e) { /* private mode: no return focus */ }
  }
  function attr(v) { return String(v).replace(/\\/g, "\\\\").replace(/"/g, '\\"'); }

  // A selector that finds the same control when its page is drawn again.
  function selectorOf(el) {
    if (el.id) return "#" + (window.CSS && CSS.escape ? CSS.escape(el.id) : el.id);
    if (el.tagName === "A" && el.getAttribute("href")) return 'a[href="' + attr(el.getAttribute("href")) + '"]';
    if (el.tagName === "BUTTON" && el.name) {
      var sel = 'button[name="' + attr(el.name) + '"][value="' + attr(el.value) + '"]';
      var f = el.form;
      return f && f.getAttribute("action") ? 'form[action="' + attr(f.getAttribute("action")) + '"] ' + sel : sel;
    }
    return null;
  }

  // Remember, per page, the control that leaves it (opens a panel, sends
  // a form), but not the ones that close a panel: coming back to a page
  // then focuses what was used on it last.
  document.addEventListener("click", function (e) {
    var el = e.target.closest && e.target.closest("a[href], button");
    if (!el || el.matches("[data-close], .scrim, .close")) return;
    var sel = selectorOf(el);
    if (!sel) return;
    var m = load();
    m[location.pathname] = { sel: sel, t: Date.now() };
    save(m);
  }, true);

  var overlay = document.querySelector(".overlay");
  var box = overlay && overlay.querySelector(".panel, .dialog");

  (function restore() {
    var m = load();
    var entry = m[location.pathname];
    if (entry) {
      delete m[location.pathname];
      save(m);
    }
    // A refused form: the reason first, right above what was typed.
    var refused = document.querySelector(".flash-error");
    if (refused && (!box || box.contains(refused))) {
      refused.setAttribute("tabindex", "-1");
      refused.focus();
      return;
    }
    if (!entry || Date.now() - entry.t > MAX_AGE) return;
    var el = null;
    try { el = document.querySelector(entry.sel); } catch (e) { return; }
    // Behind an open panel only what is in the panel may take the focus.
    if (!el || (box && !box.contains(el))) return;
    el.focus();
  })();

  if (box) {
    var auto = box.querySelector("[autofocus]");
    if (auto && document.activeElement === document.body) auto.focus();
    var focusable = function () {
      return Array.prototype.filter.call(box.querySelectorAll(
        'a[href], button:not([disabled]), input:not([disabled]):not([type=hidden]), select:not([disabled]), textarea:not([disabled]), summary, [tabindex]:not([tabindex="-1"])'),
        function (el) { return el.offsetParent !== null || el === document.activeElement; });
    };
    document.addEventListener("keydown", function (e) {
      if (e.key !== "Tab") return;
      var els = focusable();
      if (!els.length) { e.preventDefault(); return; }
      var first = els[0], last = els[els.length - 1], at = document.activeElement;
      if (!box.contains(at)) {
        e.preventDefault();
        (e.shiftKey ? last : first).focus();
      } else if (e.shiftKey && (at === first || !els.includes(at) && at.compareDocumentPosition(first) & Node.DOCUMENT_POSITION_FOLLOWING)) {
        e.preventDefault();
        last.focus();
      } else if (!e.shiftKey && at === last) {
        e.preventDefault();
        first.focus();
      }
    });
    // A click on the page behind (outside the scrim) must not leave the
    // focus there either.
    document.addEventListener("focusin", function (e) {
      if (!box.contains(e.target)) {
        var els = focusable();
        if (els.length) els[0].focus();
      }
    });
  }

  // Space on a suggested group moves it to the selected ones (the panel's
  // script above); moving a focused element drops its focus, so put it back.
  var suggested = document.getElementById("suggested-groups");
  if (suggested) {
    suggested.addEventListener("change", function (e) {
      var t = e.target;
      if (t.name === "group" && t.checked) setTimeout(function () { t.focus(); }, 0);
    });
  }

  var historyURL = document.querySelector("[data-history-url]");
  if (historyURL && window.history && history.replaceState) {
    history.replaceState(null, "", historyURL.getAttribute("data-history-url"));
  }

  // Back may bring a page from the browser's memory as it was: its message
  // is about an action done before, and a secret is shown once only.
  window.addEventListener("pageshow", function (e) {
    if (!e.persisted) return;
    document.querySelectorAll("#flash, [data-history-url]").forEach(function (el) { el.remove(); });
  });
})();
/* == end == */
/* == group panel (helper W1) == */
// Live regions (progress of a walk or of a purchase): fetched again every
// second while data-live-active is 1, and swapped in place, keeping the
// boxes that were checked. When the work is over the group panel's rows
// are read once more, since the walk changed who is in which list.
(function () {
  "use strict";
  if (!window.fetch) return;
  function swap(el, html) {
    var tmp = document.createElement("div");
    tmp.innerHTML = html;
    var fresh = tmp.querySelector("#" + el.id);
    if (!fresh) return el;
    var checked = {};
    el.querySelectorAll("input[type=checkbox]").forEach(function (b) { if (b.checked && b.name) checked[b.name + "=" + b.value] = true; });
    fresh.querySelectorAll("input[type=checkbox]").forEach(function (b) { if (checked[b.name + "=" + b.value]) b.checked = true; });
    el.parentNode.replaceChild(fresh, el);
    // Counts outside the region that the answer carries (the product's
    // summary line) move with it.
    tmp.querySelectorAll("[data-live-part][id]").forEach(function (part) {
      var old = document.getElementById(part.id);
      if (old && old !== fresh) old.parentNode.replaceChild(part, old);
    });
    var form = fresh.closest("form");
    if (form) form.dispatchEvent(new Event("change"));
    return fresh;
  }
  function reloadRows(url) {
    var body = document.getElementById("member-rows");
    if (!url || !body) return;
    fetch(url, { credentials: "same-origin" })
      .then(function (r) {
        if (!r.ok) return Promise.reject(r.status);
        var next = r.headers.get("X-Next-Page") || "";
        return r.text().then(function (html) { return { html: html, next: next }; });
      })
      .then(function (x) {
        body.innerHTML = x.html;
        var more = document.getElementById("load-more");
        if (more && x.next) more.setAttribute("href", x.next);
        var form = body.closest("form");
        if (form) form.dispatchEvent(new Event("change"));
      })
      .catch(function () {});
  }
  function watch(el) {
    var rowsURL = el.getAttribute("data-rows-url");
    var tick = function () {
      fetch(el.getAttribute("data-live-url"), { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
        .then(function (html) {
          el = swap(el, html);
          if (el.getAttribute("data-live-active") === "1") {
            setTimeout(tick, 1000);
          } else {
            reloadRows(rowsURL);
            document.documentElement.setAttribute("data-live-done", "1");
          }
        })
        .catch(function () { setTimeout(tick, 3000); });
    };
    setTimeout(tick, 1000);
  }
  document.querySelectorAll("[data-live-url][data-live-active='1']").forEach(watch);
})();
/* == end == */
