# Die Texte der gehosteten Seiten, auf Deutsch.

## Anmeldung
login-title = Anmelden · { $issuer }
login-heading = Melden Sie sich an, um zu { $client } zu gelangen
login-username = E-Mail-Adresse oder Benutzername
login-password = Passwort
login-submit = Anmelden
login-refused-incomplete = Geben Sie Ihre E-Mail-Adresse oder Ihren Benutzernamen und Ihr Passwort ein.
login-refused-credentials = E-Mail-Adresse, Benutzername oder Passwort stimmen nicht.
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

## Alle Seiten
language = Sprache
legal = Rechtliches
terms = Nutzungsbedingungen
privacy = Datenschutz
# This language's name, in itself: the language switch shows it.
language-name = Deutsch
