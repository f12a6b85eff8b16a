# The hosted pages' messages, in English: the reference catalog. Every other catalog has
# every message here (a test checks); a message it lacks would show in English.

## Sign-in
login-title = Sign in · { $issuer }
login-heading = Sign in to continue to { $client }
login-username = Email or username
login-password = Password
login-submit = Sign in
login-refused-incomplete = Enter your email or username and your password.
login-refused-credentials = The email, username or password is not right.
login-refused-wait-seconds = Too many failed sign-ins. Wait { $seconds ->
        [one] a second
       *[other] { $seconds } seconds
    } before you try again.
login-refused-wait-minutes = Too many failed sign-ins. Signing in is paused; try again in { $minutes ->
        [one] a minute
       *[other] { $minutes } minutes
    }.

## Consent
consent-title = Allow access · { $issuer }
consent-heading = { $client } wants to access your account
consent-asks = It asks to:
consent-allow = Allow
consent-deny = Deny
scope-openid = Know who you are
scope-profile = See your name and profile
scope-email = See your email address
scope-address = See your postal address
scope-phone = See your phone number
scope-offline_access = Keep access while you are away

## Errors
error-title = Something went wrong · { $issuer }
error-heading = The request cannot be completed
error-interaction-gone = This sign-in request has expired or was already used. Return to the application and start again.
error-interaction-forbidden = This sign-in request belongs to another browser window, or the page was sent twice. Return to the application and start again.
error-not-signed-in = Sign in before answering this page. Return to the application and start again.
error-form-unreadable = The form could not be read. Go back and send it again.
error-choose-decision = Choose Allow or Deny.
error-bad-request = The application sent a request that cannot be accepted. Tell the application's developers what is shown below.
error-details = Details for the application's developers

## Sign-out
logout-title = Sign out · { $issuer }
logout-heading = Sign out of { $issuer }?
logout-submit = Sign out
logout-done = You are signed out

## Every page
language = Language
legal = Legal
terms = Terms of service
privacy = Privacy policy
# This language's name, in itself: the language switch shows it.
language-name = English
