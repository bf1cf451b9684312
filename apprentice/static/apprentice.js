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
})();
