// Sharing page of jupyterhub-teams: shares and share links of one's servers, all through the
// hub's REST API. Uses the helpers of pages.js.
(function () {
  "use strict";

  var jt = window.jupyterhubTeams;
  var busy = jt.busy;
  var call = jt.call;
  var enc = jt.enc;
  var linkBox = jt.linkBox;
  var localTime = jt.localTime;
  var refresh = jt.refresh;
  var showError = jt.showError;

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

  jt.register(".jht-server", setUpServer, shareActions);
})();
