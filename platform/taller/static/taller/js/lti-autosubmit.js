// The deep-linking response goes straight back to the LMS; the button stays for no-JS.
document.getElementById("lti-deep-link-return")?.submit();
