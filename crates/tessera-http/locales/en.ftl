# The hosted pages' messages, in English: the reference catalog. Every other catalog has
# every message here (a test checks); a message it lacks would show in English.

## Sign-in
login-title = Sign in · { $issuer }
login-heading = Sign in to continue to { $client }
login-username = Email or username
login-password = Password
login-submit = Sign in
login-refused-incomplete = Enter your email or username and your password.
login-refused-username-too-long = An email address or username has at most { $max } characters.
login-refused-password-too-long = A password has at most { $max } characters.
login-refused-credentials = The email, username or password is not right.
login-refused-unverified = Your email address is not verified yet. We sent you a new link: open it, then sign in.
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

## Account portal
account-title = Your account · { $issuer }
account-sign-in-heading = Sign in to your { $issuer } account
account-heading = Your account
account-profile = Profile
account-name = Name
account-email = Email
account-username = Username
account-picture = Picture (web address)
account-picture-hint = An https:// address of an image of you; applications may show it.
account-picture-alt = Your picture
account-locale = Language
account-locale-none = As the browser asks
account-profile-save = Save profile
account-notice-profile-saved = Your profile is saved.
account-profile-name-too-long = The name can have at most { $max } characters.
account-profile-picture-invalid = The picture must be a web address such as https://example.com/me.png, at most { $max } characters.
account-profile-locale-invalid = Choose a language from the list.
account-sessions = Where you are signed in
account-session-since = Signed in { $time }
account-session-current = (this browser)
account-session-end = Sign out there
account-sign-out = Sign out
account-sessions-end-others = Sign out everywhere else
account-notice-session-ended = That session is signed out.
account-notice-others-ended = You are signed out everywhere else.
error-account-forbidden = This form is out of date or came from another page. Open your account again and repeat what you did.
error-forgot-forbidden = This form is out of date or came from another page. Open the “Forgot your password?” page again and send it from there.
error-account-not-found = That session does not exist or is already signed out.
account-password = Password
account-current-password = Current password
account-current-password-wrong = The current password is not right.
account-notice-password-changed = Your password is changed. Your other sessions are signed out.
account-delete = Delete your account
account-delete-text = This deletes your account and signs you out of every application that uses it. It cannot be undone.
account-delete-submit = Delete my account
account-deleted-heading = Your account is deleted
account-deleted-text = Your account and what was stored with it are gone, and you are signed out.
error-account-deletion-not-allowed = Accounts cannot be deleted here. Ask the organisation that runs this service.

## Sign-up, email verification, password reset
login-forgot = Forgot your password?
login-sign-up = Create an account
signup-title = Create an account · { $issuer }
signup-heading = Create an account to continue to { $client }
signup-email = Email address
signup-name = Name (optional)
signup-password = Password
signup-submit = Create account
signup-have-account = I already have an account
password-hint = At least { $min } characters. A few unrelated words make a strong password.
signup-closed = New accounts cannot be created here. Ask the organisation that runs this service for one.
signup-invalid-email = Enter an email address, like name@example.com.
signup-domain = Accounts here are only for email addresses of certain organisations. Use your work or school address.
signup-taken = This email address already has an account. Sign in, or reset your password.
signup-name-too-long = The name can have at most { $max } characters.
password-too-short = The password must have at least { $min } characters.
password-too-long = The password can have at most { $max } characters.
password-common = This password is one of the most common and easy to guess. Choose another.
password-weak = This password is too easy to guess. Add more words or characters that do not belong together.
check-email-heading = Check your email
check-email-text = If the address can be used, a message with a link is on its way. Open the link to go on. It may take a few minutes; look in your spam folder too.
verify-heading = Verify your email address
verify-text = Confirm that this email address is yours.
verify-submit = Verify my email address
verified-heading = Your email address is verified
verified-text = Thank you. You can now sign in.
verified-continue = Continue signing in
link-heading = This link does not work
link-unknown = This link is not valid. Check that you opened the whole link from the message.
link-expired = This link has expired. Ask for a new one.
link-used = This link was already used, or the account changed since it was sent. Ask for a new one.
forgot-link = Ask for a new link
forgot-title = Forgot your password · { $issuer }
forgot-heading = Forgot your password?
forgot-text = Enter the email address of your account, and we will send you a link to choose a new password.
forgot-submit = Send link
reset-title = Choose a new password · { $issuer }
reset-heading = Choose a new password
reset-password = New password
reset-submit = Save password
reset-done-heading = Your password is changed
reset-done-text = You are signed out everywhere. Sign in with your new password.
reset-done-account = Sign in to your account
mail-greeting = Hello { $name },
mail-greeting-anonymous = Hello,
mail-verify-subject = Verify your email address · { $issuer }
mail-verify-text = Please confirm that this is your email address for { $issuer }. The link works once, for { $hours } hours:
mail-verify-action = Verify email address
mail-reset-subject = Reset your password · { $issuer }
mail-reset-text = Someone asked to reset the password of your { $issuer } account. To choose a new one, open this link. It works once, for { $minutes } minutes:
mail-reset-action = Choose a new password
mail-registered-subject = Your account at { $issuer }
mail-registered-text = Someone tried to create an account at { $issuer } with this email address, which already has one. If it was you, sign in, or choose a new password here:
mail-registered-action = Reset my password
mail-ignore = If you did not ask for this, you can ignore this message; nothing changes.

## Every page
language = Language
legal = Legal
terms = Terms of service
privacy = Privacy policy
# This language's name, in itself: the language switch shows it.
language-name = English
