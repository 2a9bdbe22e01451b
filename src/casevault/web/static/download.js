/* casevault downloads: a form marked data-download (the notification export) is sent with fetch, so the page
 * stays usable afterwards.
 *
 * A static file because the console's CSP allows no inline script. The export asks for a step-up, and a step-up
 * rotates the session: after a plain form download every other form on the page (check again, sign out) would
 * carry a stale CSRF token and be refused. Here the file is saved from the response, then the page's own URL is
 * fetched again and its main content and CSRF token replace the stale ones. A refusal (a wrong code, say) shows
 * in place, as a plain submission would show it. Without JavaScript the form is still a plain POST.
 */
(function () {
  "use strict";

  function fileName(response) {
    var match = /filename="([^"]+)"/.exec(response.headers.get("Content-Disposition") || "");
    return match ? match[1] : "download";
  }

  function save(blob, name) {
    var url = URL.createObjectURL(blob);
    var link = document.createElement("a");
    link.href = url;
    link.download = name;
    link.hidden = true;
    document.body.appendChild(link);
    link.click();
    link.remove();
    window.setTimeout(function () { URL.revokeObjectURL(url); }, 60000);
  }

  function adopt(html) {
    var page = new DOMParser().parseFromString(html, "text/html");
    var token = page.querySelector("input[name='csrf_token']");
    var main = page.querySelector("main");
    var current = document.querySelector("main");
    if (!token || !main || !current) {
      window.location.reload();
      return;
    }
    current.replaceWith(main);
    document.querySelectorAll("input[name='csrf_token']").forEach(function (input) { input.value = token.value; });
    document.querySelectorAll("[data-csrf]").forEach(function (element) { element.setAttribute("data-csrf", token.value); });
  }

  function reloadPage() {
    return fetch(window.location.href, { credentials: "same-origin" }).then(function (page) { return page.text(); });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-download") || !window.fetch) { return; }
    event.preventDefault();
    var button = form.querySelector("button[type='submit']");
    if (button) { button.disabled = true; }
    fetch(form.action, {
      method: "POST",
      body: new URLSearchParams(new FormData(form)),
      credentials: "same-origin"
    }).then(function (response) {
      var disposition = response.headers.get("Content-Disposition") || "";
      if (response.ok && disposition.indexOf("attachment") === 0) {
        return response.blob().then(function (blob) {
          save(blob, fileName(response));
          return reloadPage();
        });
      }
      return response.text();
    }).then(adopt).catch(function () {
      window.location.reload();
    });
  });
})();
