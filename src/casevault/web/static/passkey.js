/* casevault passkeys: the WebAuthn ceremonies for sign-in, first enrolment and adding a passkey.
 *
 * A static file because the console's CSP allows no inline script. It talks to the API's own routes
 * (/api/v1/auth/...), sending the session's CSRF token in the X-CSRF-Token header as every cookie-authenticated
 * API call must; the options and credentials use the browser's JSON helpers (WebAuthn Level 3).
 * Buttons opt in with data-passkey="sign-in" | "register" | "add" | "step-up"; event delegation keeps this working
 * after htmx swaps the page body. "step-up" sits inside a sensitive form (reveal, approve, break-glass, a read past
 * the soft budget): it steps the session up with a user-verified passkey, puts the rotated session's CSRF token in
 * every form on the page, then submits its own form without a code (the server's check then finds the session
 * fresh).
 */
(function () {
  "use strict";

  var ROUTES = {
    "sign-in": ["/api/v1/auth/mfa/webauthn/authenticate/options", "/api/v1/auth/mfa/webauthn/authenticate"],
    "register": ["/api/v1/auth/mfa/webauthn/register/options", "/api/v1/auth/mfa/webauthn/register"],
    "add": ["/api/v1/auth/mfa/webauthn/register/options", "/api/v1/auth/mfa/webauthn/register"]
  };

  function post(url, csrf, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify(body || {})
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        return { ok: response.ok, status: response.status, data: data };
      });
    });
  }

  function scope(button) {
    return button.closest("section, .stack, main") || document;
  }

  function show(button, selector, text) {
    var element = scope(button).querySelector(selector) || document.querySelector(selector);
    if (!element) { return; }
    if (text !== undefined) { element.textContent = text; }
    element.hidden = false;
  }

  function fail(button, result) {
    var code = result && result.data && result.data.error && result.data.error.code;
    if (code === "step_up_required") {
      show(button, "[data-passkey-step-up]");
      return;
    }
    show(button, "[data-passkey-error]", "The passkey was not accepted. Try again, or use your authenticator app.");
  }

  function run(button) {
    var kind = button.getAttribute("data-passkey");
    var routes = ROUTES[kind];
    var csrf = button.getAttribute("data-csrf") || "";
    if (!routes || !window.PublicKeyCredential) {
      show(button, "[data-passkey-error]", "This browser cannot use passkeys here.");
      return;
    }
    button.disabled = true;
    post(routes[0], csrf).then(function (options) {
      if (!options.ok) { throw options; }
      if (kind === "sign-in") {
        var request = PublicKeyCredential.parseRequestOptionsFromJSON(options.data);
        return navigator.credentials.get({ publicKey: request });
      }
      var creation = PublicKeyCredential.parseCreationOptionsFromJSON(options.data);
      return navigator.credentials.create({ publicKey: creation });
    }).then(function (credential) {
      var body = { credential: credential.toJSON() };
      var name = document.querySelector("[data-passkey-name]");
      if (kind !== "sign-in" && name && name.value) { body.name = name.value.slice(0, 100); }
      return post(routes[1], csrf, body);
    }).then(function (result) {
      if (!result.ok) { throw result; }
      var codes = result.data && result.data.recovery_codes;
      var list = document.querySelector("[data-recovery-codes]");
      if (codes && codes.length && list) {
        // A first factor: the recovery codes exist only in this response, so show them before moving on.
        codes.forEach(function (code) {
          var item = document.createElement("li");
          var text = document.createElement("code");
          text.textContent = code;
          item.appendChild(text);
          list.appendChild(item);
        });
        show(button, "[data-recovery-panel]");
        return;
      }
      window.location.assign(button.getAttribute("data-next") || "/");
    }).catch(function (problem) {
      button.disabled = false;
      fail(button, problem && problem.status ? problem : null);
    });
  }

  function stepUp(button) {
    var form = button.closest("form");
    var csrf = button.getAttribute("data-csrf") || "";
    var code = form ? form.querySelector("input[name='code']") : null;
    if (!window.PublicKeyCredential) {
      show(button, "[data-passkey-error]", "This browser cannot use passkeys here.");
      return;
    }
    // The rest of the form (a reason, say) must be valid before the ceremony: the code is what the passkey replaces.
    if (code) { code.required = false; }
    if (form && !form.reportValidity()) {
      if (code) { code.required = true; }
      return;
    }
    button.disabled = true;
    post("/api/v1/auth/step-up/webauthn/options", csrf).then(function (options) {
      if (!options.ok) { throw options; }
      var request = PublicKeyCredential.parseRequestOptionsFromJSON(options.data);
      return navigator.credentials.get({ publicKey: request });
    }).then(function (credential) {
      return post("/api/v1/auth/step-up", csrf, { credential: credential.toJSON() });
    }).then(function (result) {
      if (!result.ok || !result.data.csrf_token) { throw result; }
      var token = result.data.csrf_token;
      document.querySelectorAll("input[name='csrf_token']").forEach(function (input) { input.value = token; });
      document.querySelectorAll("[data-csrf]").forEach(function (element) { element.setAttribute("data-csrf", token); });
      if (!form) {
        window.location.reload();
        return;
      }
      if (code) { code.value = ""; code.disabled = true; }
      if (form.requestSubmit) { form.requestSubmit(); } else { form.submit(); }
    }).catch(function () {
      button.disabled = false;
      if (code) { code.required = true; }
      show(button, "[data-passkey-error]", "The passkey was not accepted. Try again, or enter the code from your app.");
    });
  }

  document.addEventListener("click", function (event) {
    var button = event.target instanceof Element ? event.target.closest("[data-passkey]") : null;
    if (button) {
      event.preventDefault();
      if (button.getAttribute("data-passkey") === "step-up") {
        stepUp(button);
      } else {
        run(button);
      }
    }
  });
})();
