// Round planning and the round page: each form posts JSON to /api/boundaries (the same
// domain functions as the API) and shows the Chinese error message when refused.
(function () {
  "use strict";
  var G = window.GDMap;
  var $ = function (id) { return document.getElementById(id); };

  function say(node, text, ok) {
    node.textContent = text;
    node.className = "form-message " + (ok ? "ok" : "error");
  }

  var plan = $("plan-form");
  if (plan) {
    plan.addEventListener("submit", function (event) {
      event.preventDefault();
      var f = plan.elements, msg = $("plan-message");
      var teams = Array.prototype.map.call(plan.querySelectorAll("fieldset.team"), function (fs) {
        return {
          side_code: fs.dataset.side,
          organisation: fs.querySelector("[name=organisation]").value.trim(),
          leader: (fs.querySelector("[name=leader]") || {}).value || null,
          members: Array.prototype.map.call(fs.querySelectorAll("[name=members]:checked"), function (c) { return c.value; })
        };
      });
      var body = {
        line_id: Number(plan.dataset.lineId), round_no: Number(f.round_no.value),
        planned_start: f.planned_start.value || null, planned_end: f.planned_end.value || null,
        section_from_seq: f.section_from_seq.value ? Number(f.section_from_seq.value) : null,
        section_to_seq: f.section_to_seq.value ? Number(f.section_to_seq.value) : null,
        plan: f.plan.value.trim() || null, is_demonstration: f.is_demonstration.checked, teams: teams
      };
      G.requestJSON("/api/boundaries/rounds", { body: body }).then(function (rnd) {
        say(msg, "已保存。", true);
        location.href = "/boundaries/rounds/" + rnd.id;
      }).catch(function (e) { say(msg, e.message, false); });
    });
    plan.dataset.ready = "1";   // the submit is taken over: pressing the button sends the plan
  }

  var page = $("round");
  if (!page) { return; }
  var roundId = page.dataset.roundId;
  var start = $("start-round");
  if (start) {
    start.addEventListener("click", function () {
      G.requestJSON("/api/boundaries/rounds/" + roundId + "/start", { body: {} })
        .then(function () { location.reload(); })
        .catch(function (e) { window.alert(e.message); });
    });
  }
  // Record sign-offs: the button carries the signer's own side; a refusal (another
  // side, already signed, one person for both sides) is shown in the row, as the server
  // words it.
  Array.prototype.forEach.call(document.querySelectorAll("button.sign-record"), function (b) {
    b.addEventListener("click", function () {
      var row = b.closest("tr");
      b.disabled = true;
      G.requestJSON("/api/boundaries/inspections/" + encodeURIComponent(row.dataset.inspectionId) + "/sign", {
        body: { side_code: b.dataset.side }
      }).then(function () { location.reload(); })
        .catch(function (e) {
          // Next to the button pressed: a message below a long table would go unseen.
          var note = row.querySelector(".sign-error") || b.parentNode.appendChild(document.createElement("p"));
          note.setAttribute("role", "alert");
          say(note, "未能签认：" + e.message, false);
          note.classList.add("sign-error");
          b.disabled = false;
          if (e.status === 409) {   // the record changed since this page was drawn: show it as it is
            b.hidden = true;
            var again = document.createElement("button");
            again.type = "button"; again.className = "sign-refresh"; again.textContent = "刷新，查看现在的签认";
            again.addEventListener("click", function () { location.reload(); });
            note.appendChild(again);
          }
        });
    });
  });
  var form = $("conclusion-form");
  if (form && form.elements.side_code) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      G.requestJSON("/api/boundaries/rounds/" + roundId + "/conclusion", {
        body: { side_code: form.elements.side_code.value, conclusion: form.elements.conclusion.value }
      }).then(function () { location.reload(); })
        .catch(function (e) { say($("round-message"), e.message, false); });
    });
    $("complete-round").addEventListener("click", function () {
      G.requestJSON("/api/boundaries/rounds/" + roundId + "/complete", { body: {} })
        .then(function () { location.reload(); })
        .catch(function (e) { say($("round-message"), e.message, false); });
    });
  }
  page.dataset.ready = "1";   // handlers attached: the page's buttons work from here on
})();
