// Inside the LMS's iframe, a browser that blocks third-party cookies would lose the
// launch's state: test that a cookie sticks, then go on; if not, offer a new window.
(function () {
  const params = JSON.parse(document.getElementById("lti-params").textContent);
  const url = new URL(window.location.href);
  for (const [key, value] of Object.entries(params)) url.searchParams.set(key, value);
  let cookie = "lti1p3_test_cookie=1; path=/";
  if (window.location.protocol === "https:") cookie += "; SameSite=None; Secure";
  document.cookie = cookie;
  if (document.cookie.indexOf("lti1p3_test_cookie") !== -1) {
    document.cookie = "lti1p3_test_cookie=1; expires=Thu, 01 Jan 1970 00:00:01 GMT; path=/";
    window.location.replace(url.toString());
    return;
  }
  document.getElementById("lti-loading").hidden = true;
  document.getElementById("lti-blocked").hidden = false;
  document.getElementById("lti-new-window").href = url.toString();
})();
