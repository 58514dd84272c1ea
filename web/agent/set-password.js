// Set-password page: the invitation link (#token=…) from the Team page or
// POST /v1/users. The token stays in the fragment (never sent in a request
// line or Referer) and is dropped from the address bar once read.

const $ = (id) => document.getElementById(id);
const form = $("setpw-form");
const pw = $("setpw-password");
const again = $("setpw-again");
const error = $("setpw-error");
const submit = $("setpw-submit");

const token = new URLSearchParams(location.hash.replace(/^#/, "")).get("token") || "";
if (token) history.replaceState(null, "", location.pathname);

function fail(msg) {
  error.textContent = msg;
  error.hidden = false;
}

if (!token) {
  fail("This link has no token. Open the whole link you were sent, or ask for a new one.");
  submit.disabled = true;
}

form.addEventListener("submit", async (e) => {
  e.preventDefault();
  error.hidden = true;
  if (pw.value.length < 8) return fail("The password needs 8 characters or more.");
  if (pw.value !== again.value) return fail("The two passwords differ.");
  submit.disabled = true;
  try {
    const res = await fetch("/v1/auth/set-password", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({ token, password: pw.value }),
    });
    const body = await res.json().catch(() => null);
    if (!res.ok) {
      const code = body && body.error && body.error.code;
      if (code === "invalid_token") fail("This link is used, expired or was replaced by a newer one. Ask your admin for a new link.");
      else fail((body && body.error && body.error.message) || `The server answered ${res.status}.`);
      submit.disabled = code === "invalid_token";
      return;
    }
    pw.value = "";
    again.value = "";
    const q = new URLSearchParams();
    if (body.user && body.user.email) q.set("email", body.user.email);
    if (body.tenant && body.tenant.slug) q.set("tenant", body.tenant.slug);
    $("setpw-login").href = `./?${q}`;
    $("setpw-who").textContent = body.user && body.user.email ? ` for ${body.user.email}` : "";
    form.hidden = true;
    $("setpw-done").hidden = false;
  } catch {
    fail("Cannot reach the server.");
    submit.disabled = false;
  }
});
