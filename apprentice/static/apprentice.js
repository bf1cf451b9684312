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
