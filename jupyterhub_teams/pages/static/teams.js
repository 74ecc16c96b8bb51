// Teams page of jupyterhub-teams: team servers (start with live progress, stop) and the
// management of teams created in the hub. Uses the helpers of pages.js.
(function () {
  "use strict";

  var jt = window.jupyterhubTeams;
  var baseUrl = jt.baseUrl;
  var busy = jt.busy;
  var call = jt.call;
  var enc = jt.enc;
  var linkBox = jt.linkBox;
  var localTime = jt.localTime;
  var refresh = jt.refresh;
  var showError = jt.showError;
  var xsrfToken = jt.xsrfToken;

  // Follow the hub's progress event stream for the team server's start, as the hub's own
  // spawn-pending page does. ``retry`` says whether a refused stream (the start request has
  // not reached the hub yet) is worth opening again.
  function watchProgress(card, retry) {
    var account = card.dataset.account;
    var panel = card.querySelector(".jht-progress");
    var bar = panel.querySelector(".progress-bar");
    var message = panel.querySelector(".jht-progress-message");
    var log = panel.querySelector(".jht-progress-log");
    panel.classList.remove("d-none");
    var url =
      baseUrl + "api/users/" + enc(account) + "/server/progress?_xsrf=" + enc(xsrfToken());
    var source = new EventSource(url);
    var heard = false;
    source.onmessage = function (event) {
      heard = true;
      var evt = JSON.parse(event.data);
      if (evt.progress !== undefined) {
        bar.style.width = evt.progress + "%";
        panel.querySelector(".progress").setAttribute("aria-valuenow", evt.progress);
      }
      if (evt.message) {
        message.textContent = evt.message;
        var line = document.createElement("div");
        line.textContent = evt.message;
        log.appendChild(line);
      }
      if (evt.ready) {
        source.close();
        bar.style.width = "100%";
        refresh(card);
      } else if (evt.failed) {
        source.close();
        bar.classList.add("bg-danger");
        panel.querySelector(".jht-progress-details").open = true;
        refresh(card).then(function () {
          showError("The team server did not start", { message: evt.message || "" });
        });
      }
    };
    source.onerror = function () {
      source.close();
      if (!heard && retry && retry()) {
        window.setTimeout(function () {
          watchProgress(card, retry);
        }, 400);
        return;
      }
      // the stream ends when the server is up or gone; the hub says which
      window.setTimeout(function () {
        refresh(card);
      }, 500);
    };
  }

  function waitWhileStopping(card, tries) {
    window.setTimeout(function () {
      refresh(card).then(function (fresh) {
        if (fresh.dataset.state === "stopping" && tries > 0) {
          waitWhileStopping(fresh, tries - 1);
        }
      });
    }, 1000);
  }

  function teamPath(card, rest) {
    return "teams/api/teams/" + enc(card.dataset.team) + rest;
  }

  var teamActions = {
    start: function (card, button) {
      busy(button, true);
      var state = card.querySelector(".jht-state");
      state.textContent = "Starting…";
      state.className = "badge text-bg-warning jht-state";
      card.querySelector(".jht-progress").classList.remove("d-none");
      // The hub answers a start request only when the server is up or after its
      // slow_spawn_timeout, so progress is followed while the request is still open.
      var waiting = true;
      var watching = false;
      var request = call("POST", "api/users/" + enc(card.dataset.account) + "/server");
      window.setTimeout(function () {
        if (waiting) {
          watching = true;
          watchProgress(card, function () {
            return waiting;
          });
        }
      }, 300);
      return request.then(
        function () {
          waiting = false;
          if (!watching) {
            return refresh(card);
          }
          return null;
        },
        function (err) {
          waiting = false;
          return refresh(card).then(function () {
            throw err;
          });
        },
      );
    },
    stop: function (card, button) {
      busy(button, true);
      return call("DELETE", "api/users/" + enc(card.dataset.account) + "/server").then(
        function () {
          return refresh(card).then(function (fresh) {
            if (fresh.dataset.state === "stopping") {
              waitWhileStopping(fresh, 60);
            }
          });
        },
      );
    },
    admin: function (card, button, row) {
      return call("PUT", teamPath(card, "/admins/" + enc(row.dataset.member))).then(function () {
        return refresh(card);
      });
    },
    unadmin: function (card, button, row) {
      return call("DELETE", teamPath(card, "/admins/" + enc(row.dataset.member))).then(
        function () {
          return refresh(card);
        },
      );
    },
    remove: function (card, button, row) {
      return call("DELETE", teamPath(card, "/members/" + enc(row.dataset.member))).then(
        function () {
          return refresh(card);
        },
      );
    },
    leave: function (card, button, row) {
      return call("DELETE", teamPath(card, "/members/" + enc(row.dataset.member))).then(
        function () {
          window.location.reload();
        },
      );
    },
    delete: function (card) {
      var question =
        "Delete the team " + card.dataset.team + "? Its members lose access and its server " +
        "stops; its files are kept.";
      if (!window.confirm(question)) {
        return Promise.resolve();
      }
      return call("DELETE", teamPath(card, "")).then(function () {
        window.location.reload();
      });
    },
    withdraw: function (card, button, row) {
      return call("DELETE", teamPath(card, "/invites/" + enc(row.dataset.invite))).then(
        function () {
          return refresh(card);
        },
      );
    },
  };

  function setUpTeam(card) {
    if (card.dataset.state === "starting") {
      watchProgress(card, null);
    }
    var add = card.querySelector("form.jht-add-member");
    if (add) {
      add.addEventListener("submit", function (event) {
        event.preventDefault();
        var name = add.elements.name.value.trim();
        call("POST", teamPath(card, "/members"), { name: name }).then(
          function () {
            return refresh(card);
          },
          function (err) {
            showError("Could not add " + name, err);
          },
        );
      });
    }
    var invite = card.querySelector("form.jht-invite");
    if (invite) {
      invite.addEventListener("submit", function (event) {
        event.preventDefault();
        var body = {
          expires_in: parseInt(invite.elements.expires_in.value, 10),
          single_use: invite.elements.single_use.value === "1",
        };
        call("POST", teamPath(card, "/invites"), body).then(
          function (data) {
            var link = new URL(data.url, window.location.origin).href;
            var who = data.single_use ? "one person" : "anyone who has it";
            linkBox(
              card,
              "Invitation link",
              link,
              "Send it to the person you invite. It works for " + who + " until " +
                localTime(data.expires_at) +
                "; it is shown only now, as the hub keeps only a fingerprint of it.",
            );
            return refresh(card);
          },
          function (err) {
            showError("Could not create an invitation", err);
          },
        );
      });
    }
  }

  function setUpCreateTeam(form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var name = form.elements.name.value.trim();
      call("POST", "teams/api/teams", { name: name }).then(
        function (data) {
          window.location.assign(baseUrl + "teams#team-" + enc(data.team));
          window.location.reload();
        },
        function (err) {
          showError("Could not create the team", err);
        },
      );
    });
  }

  jt.register(".jht-team", setUpTeam, teamActions);
  var create = document.querySelector("form.jht-create-team");
  if (create) {
    setUpCreateTeam(create);
  }
})();
