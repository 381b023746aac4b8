// GOV.UK Frontend's scripts improve the pages (error summary focus, the menu on a phone); every
// page works without them.
import { initAll } from "/static/govuk-frontend.min.js";

document.body.classList.add("js-enabled", "govuk-frontend-supported");
initAll();
