// The payment entry form: the schedule's amount next to each fee line, only the inputs a fee
// needs, and more fee lines on demand. Without this script the form works all the same
// ("Check amounts only" shows the schedule's amounts from the server).
(function () {
  "use strict";
  var form = document.getElementById("booking-form");
  if (!form || !window.fetch || !window.URLSearchParams) return;
  var quoteUrl = form.getAttribute("data-quote-url");
  var total = form.querySelector("input[name='lines-TOTAL_FORMS']");
  var timer = null;
  var asked = 0;

  function basisOf(line) {
    var select = line.querySelector("select[name$='-fee_code']");
    var option = select && select.options[select.selectedIndex];
    return option ? option.getAttribute("data-basis") || "" : "";
  }

  // Show the count input the chosen fee needs (patent year, quantity, claims or pages).
  function fit(line) {
    var basis = basisOf(line);
    line.querySelectorAll("div.field[data-basis]").forEach(function (field) {
      var input = field.querySelector("input");
      var wanted = field.getAttribute("data-basis") === basis;
      var keep = wanted || field.classList.contains("invalid");
      field.hidden = !keep;
      if (input) input.disabled = !keep;
    });
  }

  // The reason for a different amount is asked for only when the amount differs.
  function fitReason(line, differs) {
    var field = line.querySelector("[data-reason]");
    if (!field) return;
    var input = field.querySelector("input");
    field.hidden = !(differs || (input && input.value) || field.classList.contains("invalid"));
  }

  function show(data) {
    var date = document.getElementById("payment-date");
    if (date) date.textContent = data.payment_date || "—";
    form.querySelectorAll("fieldset.line").forEach(function (line) {
      var index = line.getAttribute("data-line");
      var out = line.querySelector("output");
      var quote = data.lines[index];
      var differs = Boolean(quote && quote.differs);
      line.classList.toggle("differs", differs);
      fitReason(line, differs);
      if (!out) return;
      out.textContent = "";
      if (!quote) {
        out.textContent = "—";
        return;
      }
      if (quote.error) {
        var error = document.createElement("span");
        error.className = "error";
        error.textContent = quote.error;
        out.appendChild(error);
        return;
      }
      var amount = document.createElement("strong");
      amount.className = "amount";
      amount.textContent = quote.amount;
      out.appendChild(amount);
      if (differs) {
        var note = document.createElement("span");
        note.className = "error";
        note.textContent = " " + form.getAttribute("data-text-differs");
        out.appendChild(note);
      }
      var words = document.createElement("small");
      words.className = "helptext";
      words.textContent = quote.explanation;
      out.appendChild(words);
    });
  }

  // Only what prices a fee goes to the server: no names or ID numbers in a URL.
  var pricing = /^(lines-.*|application_number|reduction|filing_date|grant_date|channel|received_on|remitted_on|postmarked_on|info_complete_on|second_postmarked_on)$/;

  function refresh() {
    var params = new URLSearchParams();
    new FormData(form).forEach(function (value, name) {
      if (pricing.test(name) && !/override_reason$/.test(name)) params.append(name, value);
    });
    var mine = ++asked;
    fetch(quoteUrl + "?" + params.toString(), {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) { if (data && mine === asked) show(data); })
      .catch(function () { /* the server still checks every amount on booking */ });
  }

  function later() {
    window.clearTimeout(timer);
    timer = window.setTimeout(refresh, 250);
  }

  function addLine() {
    var most = form.querySelector("input[name='lines-MAX_NUM_FORMS']");
    if (most && Number(total.value) >= Number(most.value)) return;
    var lines = form.querySelectorAll("fieldset.line");
    var last = lines[lines.length - 1];
    var index = Number(total.value);
    var copy = last.cloneNode(true);
    var from = new RegExp("lines-" + last.getAttribute("data-line") + "-", "g");
    copy.setAttribute("data-line", String(index));
    copy.classList.remove("differs");
    copy.querySelectorAll("[name],[id],[for],[aria-describedby]").forEach(function (el) {
      ["name", "id", "for", "aria-describedby"].forEach(function (attr) {
        var value = el.getAttribute(attr);
        if (value) el.setAttribute(attr, value.replace(from, "lines-" + index + "-"));
      });
    });
    copy.querySelectorAll("output").forEach(function (out) {
      out.setAttribute("data-line", String(index));
      out.textContent = "—";
    });
    copy.querySelectorAll(".errorlist").forEach(function (el) { el.remove(); });
    copy.querySelectorAll(".invalid").forEach(function (el) { el.classList.remove("invalid"); });
    copy.querySelectorAll("[aria-invalid]").forEach(function (el) { el.removeAttribute("aria-invalid"); });
    copy.querySelectorAll("input").forEach(function (input) { input.value = ""; });
    copy.querySelectorAll("select").forEach(function (select) { select.selectedIndex = 0; });
    var legend = copy.querySelector("legend");
    if (legend) legend.textContent = legend.textContent.replace(/\d+/, String(index + 1));
    last.parentNode.insertBefore(copy, last.nextSibling);
    total.value = String(index + 1);
    fit(copy);
    fitReason(copy, false);
    copy.querySelector("select").focus();
  }

  form.querySelectorAll("fieldset.line").forEach(function (line) {
    fit(line);
    fitReason(line, line.classList.contains("differs"));
  });
  form.addEventListener("change", function (event) {
    var line = event.target.closest("fieldset.line");
    if (line && event.target.matches("select[name$='-fee_code']")) fit(line);
    later();
  });
  form.addEventListener("input", later);

  var add = document.getElementById("add-line");
  if (add && total) {
    add.hidden = false;
    add.addEventListener("click", addLine);
  }
  refresh();
})();
