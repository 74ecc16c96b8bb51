// Teams and Sharing pages of jupyterhub-teams.
//
// Every change is a request made with the person's own hub session: the hub's REST API for
// servers and shares, the pages' own endpoints for ad-hoc teams. Both check the XSRF token
// (header X-XSRFToken, the hub's _xsrf cookie). After a change the affected card is rendered
// again by the hub, so the page always shows what the hub now holds. Text from the hub is
// only ever inserted with textContent or as HTML the hub escaped.
(function () {
  "use strict";

  var jhdata = window.jhdata || {};
  var baseUrl = jhdata.base_url || "/hub/";

  function xsrfToken() {
    var match = document.cookie.match(/(?:^|;\s*)_xsrf=([^;]*)/);
    return match ? decodeURIComponent(match[1]) : jhdata.xsrf_token || "";
  }

  function enc(part) {
    return encodeURIComponent(part);
  }

  function HubError(status, message) {
    this.status = status;
    this.message = message;
  }

  // A request to the hub; resolves to the decoded JSON answer (or null), rejects with the
  // hub's own message.
  function call(method, path, body) {
    var headers = { "X-XSRFToken": xsrfToken() };
    var init = { method: method, headers: headers, credentials: "same-origin" };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    return fetch(baseUrl + path, init).then(function (response) {
      return response.text().then(function (text) {
        var data = null;
        try {
          data = text ? JSON.parse(text) : null;
        } catch (err) {
          data = null;
        }
        if (!response.ok) {
          var message = (data && data.message) || response.status + " " + response.statusText;
          throw new HubError(response.status, message);
        }
        return data;
      });
    });
  }

  // The hub's own error dialog (in page.html), with the refusal in words.
  function showError(what, err) {
    var dialog = document.getElementById("error-dialog");
    var text = what + ": " + (err && err.message ? err.message : String(err));
    if (!dialog || !window.bootstrap) {
      window.console.error(text);
      return;
    }
    dialog.querySelector(".ajax-error").textContent = text;
    window.bootstrap.Modal.getOrCreateInstance(dialog).show();
  }

  // A time from the hub (ISO 8601, UTC) in the reader's own time zone.
  function localTime(iso) {
    var when = new Date(iso);
    if (isNaN(when.getTime())) {
      return iso;
    }
    return when.toLocaleString([], { dateStyle: "medium", timeStyle: "short" });
  }

  function localTimes(root) {
    root.querySelectorAll("time[datetime]").forEach(function (el) {
      el.textContent = localTime(el.getAttribute("datetime"));
    });
  }

  // Render a card again from the hub; a freshly created link stays visible.
  function refresh(card) {
    return fetch(card.dataset.cardUrl, { credentials: "same-origin" }).then(function (response) {
      if (!response.ok) {
        if (response.status === 404) {
          window.location.reload();
        }
        throw new HubError(response.status, "the page could not be updated; reload it");
      }
      return response.text().then(function (html) {
        var template = document.createElement("template");
        template.innerHTML = html.trim();
        var fresh = template.content.firstElementChild;
        var oldSlot = card.querySelector(".jht-new-link");
        var newSlot = fresh.querySelector(".jht-new-link");
        if (oldSlot && newSlot) {
          while (oldSlot.firstChild) {
            newSlot.appendChild(oldSlot.firstChild);
          }
        }
        card.replaceWith(fresh);
        setUp(fresh);
        return fresh;
      });
    });
  }

  function linkBox(card, title, url, note) {
    var slot = card.querySelector(".jht-new-link");
    slot.replaceChildren();
    var box = document.createElement("div");
    box.className = "alert alert-success mt-3 mb-0 jht-link-box";
    var heading = document.createElement("div");
    heading.className = "fw-semibold mb-2";
    heading.textContent = title;
    var group = document.createElement("div");
    group.className = "input-group input-group-sm";
    var input = document.createElement("input");
    input.className = "form-control font-monospace jht-link";
    input.readOnly = true;
    input.value = url;
    input.setAttribute("aria-label", title);
    var copy = document.createElement("button");
    copy.type = "button";
    copy.className = "btn btn-outline-secondary";
    copy.textContent = "Copy";
    copy.addEventListener("click", function () {
      var done = function () {
        copy.textContent = "Copied";
      };
      input.select();
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(url).then(done, function () {
          document.execCommand("copy");
          done();
        });
      } else {
        document.execCommand("copy");
        done();
      }
    });
    var small = document.createElement("div");
    small.className = "small mt-2";
    small.textContent = note;
    group.append(input, copy);
    box.append(heading, group, small);
    slot.appendChild(box);
  }

  function busy(button, on) {
    if (button) {
      button.disabled = on;
    }
  }

  // -- Teams ------------------------------------------------------------------------------

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

  // -- Sharing ----------------------------------------------------------------------------

  function sharePath(card, kind) {
    return "api/" + kind + "/" + enc(card.dataset.owner) + "/" + enc(card.dataset.server);
  }

  function chosenScopes(select) {
    return select.options[select.selectedIndex].dataset.scopes.split(" ");
  }

  var shareActions = {
    "revoke-user": function (card, button, row) {
      return call("PATCH", sharePath(card, "shares"), { user: row.dataset.user }).then(
        function () {
          return refresh(card);
        },
      );
    },
    "revoke-group": function (card, button, row) {
      return call("PATCH", sharePath(card, "shares"), { group: row.dataset.group }).then(
        function () {
          return refresh(card);
        },
      );
    },
    "delete-code": function (card, button, row) {
      var path = sharePath(card, "share-codes") + "?id=" + enc(row.dataset.code);
      return call("DELETE", path).then(function () {
        return refresh(card);
      });
    },
    "revoke-all": function (card, button) {
      // a second click confirms; a native confirm() would block the page
      if (button.dataset.armed !== "1") {
        button.dataset.armed = "1";
        button.textContent = "Click again to revoke everyone";
        window.setTimeout(function () {
          if (button.isConnected) {
            button.dataset.armed = "";
            button.textContent = "Revoke everyone and delete all links";
          }
        }, 5000);
        return Promise.resolve();
      }
      busy(button, true);
      return call("DELETE", sharePath(card, "shares"))
        .then(function () {
          return call("DELETE", sharePath(card, "share-codes"));
        })
        .then(function () {
          return refresh(card);
        });
    },
  };

  function setUpServer(card) {
    var byName = card.querySelector("form.jht-share-user");
    if (byName) {
      byName.addEventListener("submit", function (event) {
        event.preventDefault();
        var name = byName.elements.user.value.trim();
        var wanted = chosenScopes(byName.elements.level);
        call("POST", sharePath(card, "shares"), { user: name, scopes: wanted })
          .then(function (share) {
            // granting only adds scopes: take away what a lower level leaves out
            var extra = (share.scopes || []).filter(function (scope) {
              return wanted.indexOf(scope) < 0;
            });
            if (extra.length) {
              return call("PATCH", sharePath(card, "shares"), { user: name, scopes: extra });
            }
            return null;
          })
          .then(
            function () {
              return refresh(card);
            },
            function (err) {
              showError("Could not share with " + name, err);
            },
          );
      });
    }
    var byCode = card.querySelector("form.jht-share-code");
    if (byCode) {
      byCode.addEventListener("submit", function (event) {
        event.preventDefault();
        var body = {
          scopes: chosenScopes(byCode.elements.level),
          expires_in: parseInt(byCode.elements.expires_in.value, 10),
        };
        call("POST", sharePath(card, "share-codes"), body).then(
          function (data) {
            var link = data.full_accept_url || new URL(data.accept_url, window.location.origin).href;
            linkBox(
              card,
              "Share link",
              link,
              "Whoever opens it while logged in to this hub can accept it, until " +
                localTime(data.expires_at) +
                ". The hub shows a link only once; delete it below to stop it from working.",
            );
            return refresh(card);
          },
          function (err) {
            showError("Could not create a share link", err);
          },
        );
      });
    }
  }

  // -- wiring -----------------------------------------------------------------------------

  function setUp(root) {
    localTimes(root);
    if (root.matches(".jht-team")) {
      setUpTeam(root);
    } else if (root.matches(".jht-server")) {
      setUpServer(root);
    }
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-action]");
    if (!button) {
      return;
    }
    var card = button.closest(".jht-team, .jht-server");
    var actions = card && card.matches(".jht-team") ? teamActions : shareActions;
    var action = card && actions[button.dataset.action];
    if (!action) {
      return;
    }
    var row = button.closest("tr");
    action(card, button, row).catch(function (err) {
      busy(button, false);
      showError(button.textContent.trim(), err);
    });
  });

  localTimes(document);
  document.querySelectorAll(".jht-team, .jht-server").forEach(setUp);
  var create = document.querySelector("form.jht-create-team");
  if (create) {
    setUpCreateTeam(create);
  }
})();
