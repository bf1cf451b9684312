/* apprentice: small progressive enhancements; every page works without them. */
(function () {
  "use strict";
  // A search box that narrows a list of checkboxes: <input data-ap-filter="#list-id">.
  document.querySelectorAll("input[data-ap-filter]").forEach(function (input) {
    var list = document.querySelector(input.getAttribute("data-ap-filter"));
    if (!list) { return; }
    input.addEventListener("input", function () {
      var words = input.value.toLowerCase().split(/\s+/).filter(Boolean);
      list.querySelectorAll("li").forEach(function (item) {
        var text = item.textContent.toLowerCase();
        var checked = item.querySelector("input:checked");
        var match = words.every(function (w) { return text.indexOf(w) !== -1; });
        item.hidden = !(checked || match);
      });
    });
  });

  // The log form's procedures: suggested again from the server whenever the ticked
  // competencies change; ticked procedures always stay. Without script, the form's
  // "Suggest procedures" button does the same with a round trip.
  document.querySelectorAll("fieldset[data-ap-suggest-url]").forEach(function (box) {
    var competencies = document.querySelector(box.getAttribute("data-ap-competencies"));
    var list = box.querySelector("ul");
    var empty = box.querySelector("#ap-procedure-empty");
    if (!competencies || !list || !window.fetch || !window.URLSearchParams) { return; }
    var timer = null;
    var asked = 0;

    function item(procedure) {
      var li = document.createElement("li");
      var label = document.createElement("label");
      var input = document.createElement("input");
      input.type = "checkbox";
      input.name = "procedure_ids";
      input.value = String(procedure.id);
      label.appendChild(input);
      label.appendChild(document.createTextNode(" " + procedure.title));
      li.appendChild(label);
      return li;
    }

    function show(procedures) {
      var kept = {};
      list.querySelectorAll("li").forEach(function (li) {
        var input = li.querySelector("input");
        if (input && input.checked) { kept[input.value] = true; } else { li.remove(); }
      });
      procedures.forEach(function (procedure) {
        if (!kept[String(procedure.id)]) { list.appendChild(item(procedure)); }
      });
      if (empty) { empty.hidden = list.querySelector("li") !== null; }
    }

    function suggest() {
      var params = new URLSearchParams();
      competencies.querySelectorAll("input[type=checkbox]:checked").forEach(function (input) {
        params.append("competency", input.value);
      });
      var mine = ++asked;
      fetch(box.getAttribute("data-ap-suggest-url") + "?" + params.toString(), {
        credentials: "same-origin", headers: {"Accept": "application/json"}
      }).then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.json();
      }).then(function (data) {
        if (mine === asked && data && Array.isArray(data.procedures)) { show(data.procedures); }
      }).catch(function () { /* keep the list as it is; the button still works */ });
    }

    competencies.addEventListener("change", function (event) {
      if (!event.target || event.target.type !== "checkbox") { return; }
      window.clearTimeout(timer);
      timer = window.setTimeout(suggest, 250);
    });
  });
})();

/* -- Layout: the error summary and the menu (helper: layout) -- */
(function () {
  "use strict";

  // Where a summary link should land: the field itself, or the first input of a group.
  function control(target) {
    if (target.matches("input, select, textarea, button")) { return target; }
    return target.querySelector("input:not([type=hidden]), select, textarea");
  }

  // What to bring into view with the field: its legend when the field is a box of a
  // group or the legend is near, else its label (the GOV.UK error summary's rule).
  function caption(input) {
    var fieldset = input.closest("fieldset");
    var legend = fieldset && fieldset.querySelector("legend");
    if (legend) {
      var box = input.type === "checkbox" || input.type === "radio";
      var near = input.getBoundingClientRect().top - legend.getBoundingClientRect().top <
        window.innerHeight / 2;
      if (box || near) { return legend; }
    }
    var label = input.id && document.querySelector("label[for='" + CSS.escape(input.id) + "']");
    return label && !label.classList.contains("ap-visually-hidden") ? label : input;
  }

  // A refused form's error summary takes focus when the page loads, so a screen reader
  // reads it and a phone shows it; each link focuses its field with the label in view.
  var summary = document.querySelector("[data-ap-error-summary]");
  if (summary) {
    summary.focus();
    summary.addEventListener("click", function (event) {
      var link = event.target.closest("a[href^='#']");
      var target = link && document.getElementById(decodeURIComponent(link.hash.slice(1)));
      var input = target && control(target);
      if (!input) { return; }
      event.preventDefault();
      // A field inside a closed <details> ("Limit to some areas") opens first.
      for (var d = input.closest("details"); d; d = d.parentElement && d.parentElement.closest("details")) {
        d.open = true;
      }
      caption(input).scrollIntoView();
      input.focus({preventScroll: true});
    });
  }

  // The phone menu (a <details>): Escape or a tap outside closes it.
  document.querySelectorAll("details.ap-menu").forEach(function (menu) {
    menu.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && menu.open) {
        menu.open = false;
        menu.querySelector("summary").focus();
      }
    });
    document.addEventListener("click", function (event) {
      if (menu.open && !menu.contains(event.target)) { menu.open = false; }
    });
  });
})();

/* -- Text limits: live counters of characters (log form) and words (learning statement) -- */
(function () {
  "use strict";

  // A long text box says its limit (data-ap-count-max) instead of a maxlength, which would
  // cut pasted text without a word: "1,234 of 2,000 characters", "312 characters too many".
  // A form with data-ap-words-max counts the words of all its text boxes into its
  // [data-ap-words-count] lines: "1,234 of 1,500 words", "12 words too many".
  // The server refuses text over a limit and keeps it in the box; this only warns early.
  function grouped(n) { return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ","); }

  // Counted as the server counts. Characters (forms.TextLimit): not UTF-16 units, a line
  // break once. Words (statements/services.py count_words): runs between spaces that hold
  // a letter or a digit, so Markdown's # and - are not words.
  var wordlike = /[\p{L}\p{N}]/u;
  var measure = {
    character: function (text) { return Array.from(text.replace(/\r\n?/g, "\n")).length; },
    word: function (text) {
      return text.split(/\s+/).filter(function (token) { return wordlike.test(token); }).length;
    }
  };

  function said(count, most, unit) {
    if (count > most) {
      var over = count - most;
      return grouped(over) + " " + unit + (over === 1 ? "" : "s") + " too many";
    }
    return grouped(count) + " of " + grouped(most) + " " + unit + "s";
  }

  // The ``unit``s of all ``boxes`` against ``most``, in each of the ``lines``. Seen:
  // updated at once. Heard: one polite live region, updated when typing pauses, so a
  // screen reader is not interrupted on every key.
  function count(boxes, most, unit, lines) {
    var heard = document.createElement("p");
    heard.className = "ap-visually-hidden";
    heard.setAttribute("aria-live", "polite");
    lines[0].insertAdjacentElement("afterend", heard);
    var timer = null;

    function show() {
      var total = 0;
      boxes.forEach(function (box) { total += measure[unit](box.value); });
      lines.forEach(function (line) {
        line.textContent = said(total, most, unit);
        line.classList.toggle("ap-count-over", total > most);
      });
    }

    lines.forEach(function (line) { line.setAttribute("aria-hidden", "true"); });
    boxes.forEach(function (box) {
      box.addEventListener("input", function () {
        show();
        window.clearTimeout(timer);
        timer = window.setTimeout(function () { heard.textContent = lines[0].textContent; }, 1000);
      });
    });
    show();
  }

  document.querySelectorAll("[data-ap-count-max]").forEach(function (box) {
    var most = parseInt(box.getAttribute("data-ap-count-max"), 10);
    if (!(most > 0)) { return; }
    var line = document.createElement("p");
    line.className = "ap-hint ap-count";
    box.insertAdjacentElement("afterend", line);
    count([box], most, "character", [line]);
  });

  document.querySelectorAll("form[data-ap-words-max]").forEach(function (form) {
    var most = parseInt(form.getAttribute("data-ap-words-max"), 10);
    var lines = Array.from(form.querySelectorAll("[data-ap-words-count]"));
    if (!(most > 0) || !lines.length) { return; }
    count(Array.from(form.querySelectorAll("textarea")), most, "word", lines);
  });
})();

/* One form, one record (apprentice.core.receipts): a create form's one-time token is put
   into the page's address (?form=...) without a reload. When Back fetches the page again
   (the browser kept no copy), the server sees the token and answers "already saved"
   instead of handing out a new form that would save a second record. */
(function () {
  "use strict";
  var tokens = document.querySelectorAll("form input[type=hidden][name=form_token]");
  if (tokens.length !== 1 || !tokens[0].value || !window.URL || !window.history ||
      !window.history.replaceState) { return; }
  var address = new URL(window.location.href);
  if (address.searchParams.get("form") === tokens[0].value) { return; }
  address.searchParams.set("form", tokens[0].value);
  window.history.replaceState(window.history.state, "", address.toString());
})();

/* -- Search as you type (issue 14): a search box with data-ap-typeahead="<suggest URL>"
   offers the first procedure titles matching what is typed, as a WAI-ARIA 1.2 combobox
   with a listbox popup (https://www.w3.org/WAI/ARIA/apg/patterns/combobox/). Down and Up
   move through them (round), Enter opens the one chosen, Enter with none chosen searches
   as before, Escape closes (a second one clears the box). Every element is added here:
   without script the box is the plain search form it always was. -- */
(function () {
  "use strict";
  if (!window.fetch || !window.URL || !window.URLSearchParams) { return; }
  var MIN_LETTERS = 3; // as the server's apprentice/kb/typeahead.py MIN_LETTERS
  var WAIT = 150; // milliseconds of no typing before asking
  var letter = /[\p{L}\p{N}_]/gu;

  function letters(text) { return (text.match(letter) || []).length; }

  // Only the app's own pages: a URL from the answer is followed only on this origin.
  function sameOrigin(url) {
    try {
      var target = new URL(url, window.location.href);
      return target.origin === window.location.origin ? target.href : null;
    } catch (error) { return null; }
  }

  function combobox(input, number) {
    var endpoint = input.getAttribute("data-ap-typeahead");
    var host = input.parentElement;
    if (!endpoint || !host) { return; }
    if (!input.id) { input.id = "ap-typeahead-" + number; }
    var list = document.createElement("ul");
    list.id = input.id + "-suggestions";
    list.className = "ap-typeahead-list";
    list.setAttribute("role", "listbox");
    list.setAttribute("aria-label", "Suggested procedures");
    list.hidden = true;
    var heard = document.createElement("span");
    heard.className = "ap-visually-hidden";
    heard.setAttribute("role", "status"); // polite: read when typing pauses
    host.classList.add("ap-typeahead-host");
    input.insertAdjacentElement("afterend", list);
    list.insertAdjacentElement("afterend", heard);
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", list.id);
    input.setAttribute("autocomplete", "off"); // the browser's own list would cover ours

    var urls = [];
    var active = -1;
    var timer = null;
    var asked = 0; // the newest question: an older answer arriving late is dropped

    function options() { return list.querySelectorAll("[role=option]"); }

    function open() {
      if (!urls.length) { return; }
      list.hidden = false;
      input.setAttribute("aria-expanded", "true");
    }

    function close() {
      highlight(-1);
      list.hidden = true;
      input.setAttribute("aria-expanded", "false");
    }

    function highlight(index) {
      var all = options();
      if (all[active]) { all[active].removeAttribute("aria-selected"); }
      active = index;
      if (all[active]) {
        all[active].setAttribute("aria-selected", "true");
        input.setAttribute("aria-activedescendant", all[active].id);
        all[active].scrollIntoView({block: "nearest"});
      } else {
        active = -1;
        input.removeAttribute("aria-activedescendant");
      }
    }

    function show(suggestions) {
      close();
      list.textContent = "";
      urls = [];
      suggestions.forEach(function (suggestion) {
        var url = suggestion && typeof suggestion.title === "string" && sameOrigin(suggestion.url);
        if (!url) { return; }
        var option = document.createElement("li");
        option.id = list.id + "-" + urls.length;
        option.className = "ap-typeahead-option";
        option.setAttribute("role", "option");
        option.appendChild(document.createTextNode(suggestion.title)); // text, never HTML
        if (suggestion.heading) {
          var heading = document.createElement("span");
          heading.className = "ap-typeahead-heading";
          heading.textContent = " \u203a " + suggestion.heading;
          option.appendChild(heading);
        }
        list.appendChild(option);
        urls.push(url);
      });
      heard.textContent = !urls.length ? "No suggestions" :
        urls.length === 1 ? "1 suggestion" : urls.length + " suggestions";
      open();
    }

    function forget() {
      asked += 1;
      window.clearTimeout(timer);
      close();
      urls = [];
      list.textContent = "";
      heard.textContent = "";
    }

    function ask() {
      var text = input.value;
      var mine = ++asked;
      var address = new URL(endpoint, window.location.href);
      address.searchParams.set("q", text);
      fetch(address.href, {credentials: "same-origin", headers: {"Accept": "application/json"}})
        .then(function (response) {
          if (!response.ok) { throw new Error("HTTP " + response.status); }
          return response.json();
        }).then(function (data) {
          if (mine !== asked || document.activeElement !== input) { return; }
          show(data && Array.isArray(data.suggestions) ? data.suggestions : []);
        }).catch(function () { if (mine === asked) { forget(); } }); // the form still searches
    }

    function go(index) {
      var url = urls[index];
      if (!url) { return; }
      close(); // not left open when Back brings the page again
      window.location.assign(url);
    }

    input.addEventListener("input", function () {
      window.clearTimeout(timer);
      highlight(-1); // the options are about to change: typing is back in the box
      if (letters(input.value) < MIN_LETTERS) { forget(); return; }
      timer = window.setTimeout(ask, WAIT);
    });

    input.addEventListener("keydown", function (event) {
      if (event.altKey || event.ctrlKey || event.metaKey || event.isComposing) { return; }
      var count = urls.length;
      var expanded = !list.hidden;
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        if (!count) { return; }
        event.preventDefault();
        var down = event.key === "ArrowDown";
        if (!expanded) {
          open();
          highlight(down ? 0 : count - 1);
        } else {
          highlight(active < 0 ? (down ? 0 : count - 1) : (active + (down ? 1 : -1) + count) % count);
        }
      } else if (event.key === "Enter") {
        if (expanded && active >= 0) {
          event.preventDefault();
          go(active);
        } else {
          forget(); // the form is sent: a late answer must not open the list over the page
        }
      } else if (event.key === "Escape") {
        if (expanded) {
          event.preventDefault(); // a search box would clear itself as well
          close();
        } else if (input.value) {
          event.preventDefault();
          input.value = "";
          forget();
        }
      }
    });

    // A press on an option keeps the focus in the box (no blur), then goes to it.
    list.addEventListener("mousedown", function (event) { event.preventDefault(); });
    list.addEventListener("click", function (event) {
      var option = event.target.closest("[role=option]");
      var index = option ? Array.prototype.indexOf.call(options(), option) : -1;
      if (index >= 0) { go(index); }
    });
    input.addEventListener("blur", close);
  }

  document.querySelectorAll("input[data-ap-typeahead]").forEach(combobox);
})();
