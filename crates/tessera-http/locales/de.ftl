# Die Texte der gehosteten Seiten, auf Deutsch.

## Anmeldung
login-title = Anmelden · { $issuer }
login-heading = Melden Sie sich an, um zu { $client } zu gelangen
login-username = E-Mail-Adresse oder Benutzername
login-password = Passwort
login-submit = Anmelden
login-refused-incomplete = Geben Sie Ihre E-Mail-Adresse oder Ihren Benutzernamen und Ihr Passwort ein.
login-refused-username-too-long = Eine E-Mail-Adresse oder ein Benutzername hat höchstens { $max } Zeichen.
login-refused-password-too-long = Ein Passwort hat höchstens { $max } Zeichen.
login-refused-credentials = E-Mail-Adresse, Benutzername oder Passwort stimmen nicht.
login-refused-unverified = Ihre E-Mail-Adresse ist noch nicht bestätigt. Wir haben Ihnen einen neuen Link gesendet: Öffnen Sie ihn und melden Sie sich dann an.
login-refused-wait-seconds = Zu viele fehlgeschlagene Anmeldungen. Warten Sie { $seconds ->
        [one] eine Sekunde
       *[other] { $seconds } Sekunden
    }, bevor Sie es erneut versuchen.
login-refused-wait-minutes = Zu viele fehlgeschlagene Anmeldungen. Die Anmeldung ist vorübergehend gesperrt; versuchen Sie es in { $minutes ->
        [one] einer Minute
       *[other] { $minutes } Minuten
    } erneut.

## Zustimmung
consent-title = Zugriff erlauben · { $issuer }
consent-heading = { $client } möchte auf Ihr Konto zugreifen
consent-asks = Die Anwendung möchte:
consent-allow = Erlauben
consent-deny = Ablehnen
scope-openid = Wissen, wer Sie sind
scope-profile = Ihren Namen und Ihr Profil sehen
scope-email = Ihre E-Mail-Adresse sehen
scope-address = Ihre Postanschrift sehen
scope-phone = Ihre Telefonnummer sehen
scope-offline_access = Zugriff behalten, während Sie abwesend sind

## Fehler
error-title = Etwas ist schiefgegangen · { $issuer }
error-heading = Die Anfrage kann nicht ausgeführt werden
error-interaction-gone = Diese Anmeldeanfrage ist abgelaufen oder wurde bereits verwendet. Kehren Sie zur Anwendung zurück und beginnen Sie neu.
error-interaction-forbidden = Diese Anmeldeanfrage gehört zu einem anderen Browserfenster, oder die Seite wurde zweimal gesendet. Kehren Sie zur Anwendung zurück und beginnen Sie neu.
error-not-signed-in = Melden Sie sich an, bevor Sie diese Seite beantworten. Kehren Sie zur Anwendung zurück und beginnen Sie neu.
error-form-unreadable = Das Formular konnte nicht gelesen werden. Gehen Sie zurück und senden Sie es erneut.
error-choose-decision = Wählen Sie „Erlauben“ oder „Ablehnen“.
error-bad-request = Die Anwendung hat eine Anfrage gesendet, die nicht angenommen werden kann. Teilen Sie den Entwicklern der Anwendung mit, was unten steht.
error-details = Details für die Entwickler der Anwendung

## Abmeldung
logout-title = Abmelden · { $issuer }
logout-heading = Von { $issuer } abmelden?
logout-submit = Abmelden
logout-done = Sie sind abgemeldet

## Kontoportal
account-title = Ihr Konto · { $issuer }
account-sign-in-heading = Bei Ihrem Konto für { $issuer } anmelden
account-heading = Ihr Konto
account-profile = Profil
account-name = Name
account-email = E-Mail
account-username = Benutzername
account-picture = Bild (Webadresse)
account-picture-hint = Eine https://-Adresse eines Bildes von Ihnen; Anwendungen können es anzeigen.
account-picture-alt = Ihr Bild
account-locale = Sprache
account-locale-none = Wie der Browser es wünscht
account-profile-save = Profil speichern
account-notice-profile-saved = Ihr Profil ist gespeichert.
account-profile-name-too-long = Der Name darf höchstens { $max } Zeichen haben.
account-profile-picture-invalid = Das Bild muss eine Webadresse wie https://example.com/ich.png sein, mit höchstens { $max } Zeichen.
account-profile-locale-invalid = Wählen Sie eine Sprache aus der Liste.
account-sessions = Wo Sie angemeldet sind
account-session-since = Angemeldet am { $time }
account-session-current = (dieser Browser)
account-session-end = Dort abmelden
account-sign-out = Abmelden
account-sessions-end-others = Überall sonst abmelden
account-notice-session-ended = Diese Sitzung ist abgemeldet.
account-notice-others-ended = Sie sind überall sonst abgemeldet.
error-account-forbidden = Dieses Formular ist veraltet oder stammt von einer anderen Seite. Öffnen Sie Ihr Konto erneut und wiederholen Sie den Schritt.
error-forgot-forbidden = Dieses Formular ist veraltet oder stammt von einer anderen Seite. Öffnen Sie die Seite „Passwort vergessen?“ erneut und senden Sie es von dort.
error-account-not-found = Diese Sitzung gibt es nicht oder sie ist bereits abgemeldet.
account-password = Passwort
account-current-password = Aktuelles Passwort
account-current-password-wrong = Das aktuelle Passwort ist nicht richtig.
account-notice-password-changed = Ihr Passwort ist geändert. Ihre anderen Sitzungen sind abgemeldet.
account-delete = Konto löschen
account-delete-text = Damit wird Ihr Konto gelöscht und Sie werden von allen Anwendungen abgemeldet, die es verwenden. Das lässt sich nicht rückgängig machen.
account-delete-submit = Mein Konto löschen
account-deleted-heading = Ihr Konto ist gelöscht
account-deleted-text = Ihr Konto und die dazu gespeicherten Daten sind entfernt, und Sie sind abgemeldet.
error-account-deletion-not-allowed = Konten können hier nicht gelöscht werden. Wenden Sie sich an die Organisation, die diesen Dienst betreibt.

## Registrierung, E-Mail-Bestätigung, Passwort zurücksetzen
login-forgot = Passwort vergessen?
login-sign-up = Konto erstellen
signup-title = Konto erstellen · { $issuer }
signup-heading = Erstellen Sie ein Konto, um zu { $client } zu gelangen
signup-email = E-Mail-Adresse
signup-name = Name (optional)
signup-password = Passwort
signup-submit = Konto erstellen
signup-have-account = Ich habe bereits ein Konto
password-hint = Mindestens { $min } Zeichen. Einige Wörter, die nicht zusammengehören, ergeben ein starkes Passwort.
signup-closed = Hier können keine neuen Konten erstellt werden. Bitten Sie die Organisation, die diesen Dienst betreibt, um ein Konto.
signup-invalid-email = Geben Sie eine E-Mail-Adresse ein, etwa name@example.com.
signup-domain = Konten gibt es hier nur für E-Mail-Adressen bestimmter Organisationen. Verwenden Sie Ihre Adresse bei der Arbeit oder Hochschule.
signup-taken = Für diese E-Mail-Adresse gibt es bereits ein Konto. Melden Sie sich an oder setzen Sie Ihr Passwort zurück.
signup-name-too-long = Der Name darf höchstens { $max } Zeichen haben.
password-too-short = Das Passwort muss mindestens { $min } Zeichen haben.
password-too-long = Das Passwort darf höchstens { $max } Zeichen haben.
password-common = Dieses Passwort gehört zu den häufigsten und ist leicht zu erraten. Wählen Sie ein anderes.
password-weak = Dieses Passwort ist zu leicht zu erraten. Fügen Sie weitere Wörter oder Zeichen hinzu, die nicht zusammengehören.
check-email-heading = Sehen Sie in Ihr Postfach
check-email-text = Wenn die Adresse verwendet werden kann, ist eine Nachricht mit einem Link unterwegs. Öffnen Sie den Link, um fortzufahren. Das kann einige Minuten dauern; sehen Sie auch im Spam-Ordner nach.
verify-heading = E-Mail-Adresse bestätigen
verify-text = Bestätigen Sie, dass diese E-Mail-Adresse Ihnen gehört.
verify-submit = Meine E-Mail-Adresse bestätigen
verified-heading = Ihre E-Mail-Adresse ist bestätigt
verified-text = Vielen Dank. Sie können sich jetzt anmelden.
verified-continue = Weiter zur Anmeldung
link-heading = Dieser Link funktioniert nicht
link-unknown = Dieser Link ist ungültig. Prüfen Sie, ob Sie den ganzen Link aus der Nachricht geöffnet haben.
link-expired = Dieser Link ist abgelaufen. Fordern Sie einen neuen an.
link-used = Dieser Link wurde bereits verwendet, oder das Konto hat sich seitdem geändert. Fordern Sie einen neuen an.
forgot-link = Neuen Link anfordern
forgot-title = Passwort vergessen · { $issuer }
forgot-heading = Passwort vergessen?
forgot-text = Geben Sie die E-Mail-Adresse Ihres Kontos ein; wir senden Ihnen einen Link, mit dem Sie ein neues Passwort wählen.
forgot-submit = Link senden
reset-title = Neues Passwort wählen · { $issuer }
reset-heading = Neues Passwort wählen
reset-password = Neues Passwort
reset-submit = Passwort speichern
reset-done-heading = Ihr Passwort ist geändert
reset-done-text = Sie sind überall abgemeldet. Melden Sie sich mit Ihrem neuen Passwort an.
reset-done-account = Bei Ihrem Konto anmelden
mail-greeting = Hallo { $name },
mail-greeting-anonymous = Hallo,
mail-verify-subject = E-Mail-Adresse bestätigen · { $issuer }
mail-verify-text = Bitte bestätigen Sie, dass dies Ihre E-Mail-Adresse für { $issuer } ist. Der Link funktioniert einmal, { $hours } Stunden lang:
mail-verify-action = E-Mail-Adresse bestätigen
mail-reset-subject = Passwort zurücksetzen · { $issuer }
mail-reset-text = Jemand hat verlangt, das Passwort Ihres Kontos bei { $issuer } zurückzusetzen. Um ein neues zu wählen, öffnen Sie diesen Link. Er funktioniert einmal, { $minutes } Minuten lang:
mail-reset-action = Neues Passwort wählen
mail-registered-subject = Ihr Konto bei { $issuer }
mail-registered-text = Jemand wollte bei { $issuer } ein Konto mit dieser E-Mail-Adresse erstellen, für die es bereits eines gibt. Wenn Sie es waren, melden Sie sich an oder wählen Sie hier ein neues Passwort:
mail-registered-action = Passwort zurücksetzen
mail-ignore = Wenn Sie das nicht verlangt haben, können Sie diese Nachricht ignorieren; es ändert sich nichts.

## Alle Seiten
language = Sprache
legal = Rechtliches
terms = Nutzungsbedingungen
privacy = Datenschutz
# This language's name, in itself: the language switch shows it.
language-name = Deutsch
