// Journey Warehouse: what the Great Expectations Data Docs pages need from JavaScript, without
// jQuery or Bootstrap from a CDN: "Show more info..." toggles (data-toggle="collapse") and the
// "Failed only" validation filter.
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var link = event.target.closest('[data-toggle="collapse"]');
    if (!link) { return; }
    event.preventDefault();
    var target = document.querySelector(link.getAttribute("href") || link.dataset.target);
    if (target) {
      var open = target.classList.toggle("show");
      link.setAttribute("aria-expanded", open ? "true" : "false");
    }
  });

  function setFilter(failedOnly) {
    document.querySelectorAll(".hide-succeeded-validation-target-child").forEach(function (el) {
      el.parentElement.style.display = failedOnly ? "none" : "";
    });
    document.querySelectorAll(".hide-succeeded-validation-target").forEach(function (el) {
      el.style.display = failedOnly ? "none" : "";
    });
    document.querySelectorAll(".hide-succeeded-validations-column-section-target-child")
      .forEach(function (el) {
        var section = el.parentElement && el.parentElement.parentElement;
        if (!section) { return; }
        section.style.display = failedOnly ? "none" : "";
        if (section.id) {
          document.querySelectorAll('a[href$="' + section.id + '"]').forEach(function (a) {
            a.style.display = failedOnly ? "none" : "";
          });
        }
      });
    document.querySelectorAll("[data-journey-filter]").forEach(function (button) {
      var active = (button.dataset.journeyFilter === "failed") === failedOnly;
      button.classList.toggle("active", active);
    });
  }
  window.journeyShowAll = function () { setFilter(false); };
  window.journeyFailedOnly = function () { setFilter(true); };
})();
