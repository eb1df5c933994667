// The admin shows and takes times in the signed-in admin's own time zone (their profile),
// which the page names at the top. Django's "You are N hours behind server time" note under
// every time field would only repeat that, and is wrong for business hours, which are in
// their calendar's zone. The "Now" button still fills in the current time in the admin's zone.
"use strict";
if (window.DateTimeShortcuts) {
  window.DateTimeShortcuts.addTimezoneWarning = function () {};
}
