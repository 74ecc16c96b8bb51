// Teams and Sharing pages of jupyterhub-teams: what both pages share (teams.js and
// sharing.js register their cards here).
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
  // -- wiring -----------------------------------------------------------------------------

  // card selector -> {setUp, actions}; an action gets (card, button, row) and returns a promise
  var kinds = [];

  function kindOf(card) {
    for (var i = 0; i < kinds.length; i++) {
      if (card.matches(kinds[i].selector)) {
        return kinds[i];
      }
    }
    return null;
  }

  function setUp(root) {
    localTimes(root);
    var kind = kindOf(root);
    if (kind) {
      kind.setUp(root);
    }
  }

  function register(selector, setUpCard, actions) {
    var kind = { selector: selector, setUp: setUpCard, actions: actions };
    kinds.push(kind);
    document.querySelectorAll(selector).forEach(setUpCard);
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-action]");
    var card = button && button.closest("[data-card-url]");
    var kind = card && kindOf(card);
    var action = kind && kind.actions[button.dataset.action];
    if (!action) {
      return;
    }
    action(card, button, button.closest("tr")).catch(function (err) {
      busy(button, false);
      showError(button.textContent.trim(), err);
    });
  });

  localTimes(document);

  window.jupyterhubTeams = {
    baseUrl: baseUrl,
    busy: busy,
    call: call,
    enc: enc,
    linkBox: linkBox,
    localTime: localTime,
    refresh: refresh,
    register: register,
    showError: showError,
    xsrfToken: xsrfToken,
  };
})();
